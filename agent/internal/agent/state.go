package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"example.com/winrelease/agent/internal/atomicfile"
	"example.com/winrelease/agent/internal/rollout"
)

// State is what the agent remembers about one product on this host
// (<state_dir>/<product>/<channel>.state.json).
type State struct {
	// HighestSequence is the highest pointer sequence accepted; lower ones are replays.
	HighestSequence uint64 `json:"highest_sequence"`
	// HighestDigest is the SHA-256 of that pointer's file.
	HighestDigest string `json:"highest_digest,omitempty"`
	// Installed is what the agent installed last and saw healthy.
	Installed rollout.Want `json:"installed"`
	// Failed is a target that failed its health gate here and was rolled back from, and why.
	Failed       rollout.Want `json:"failed"`
	FailedReason string       `json:"failed_reason,omitempty"`
}

func statePath(stateDir string, p Product) string {
	return filepath.Join(stateDir, safeName(p.Product), p.Channel+".state.json")
}

func loadState(stateDir string, p Product) (State, error) {
	var s State
	data, err := os.ReadFile(statePath(stateDir, p))
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(data, &s); err != nil {
		// Never start over silently: a lost highest sequence would accept replays again.
		return s, fmt.Errorf("%s is damaged (%v); fix or remove it knowingly", statePath(stateDir, p), err)
	}
	return s, nil
}

func saveState(stateDir string, p Product, s State) error {
	path := statePath(stateDir, p)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	data, _ := json.MarshalIndent(s, "", "  ")
	return atomicfile.Write(path, append(data, '\n'))
}

// Status is <status_dir>/<product>/<host>.json, read by `cargo xtask rollout status`
// (src/rollout/status.rs).
type Status struct {
	SchemaVersion int    `json:"schema_version"`
	Product       string `json:"product"`
	Channel       string `json:"channel"`
	Host          string `json:"host"`
	Place         uint32 `json:"place"`
	// Version is what runs now ("" when nothing is installed by the agent).
	Version string `json:"version"`
	// Target is the version the pointer asks this host for.
	Target string `json:"target,omitempty"`
	// State: healthy, unhealthy, rolled_back, install_failed, refused, error.
	State string `json:"state"`
	// Health: ok, or what failed.
	Health string `json:"health"`
	// Sequence of the pointer acted on.
	Sequence uint64 `json:"sequence"`
	When     string `json:"when"`
	Error    string `json:"error,omitempty"`
	// LogTail is the end of the msiexec log of a failed install or rollback.
	LogTail string `json:"log_tail,omitempty"`
	// FailedVersion failed its health gate on this host (and is not tried again), for
	// FailedReason.
	FailedVersion string `json:"failed_version,omitempty"`
	FailedReason  string `json:"failed_reason,omitempty"`
}

// Status states.
const (
	StateHealthy       = "healthy"
	StateUnhealthy     = "unhealthy"
	StateRolledBack    = "rolled_back"
	StateInstallFailed = "install_failed"
	StateRefused       = "refused"
	StateError         = "error"
)

func writeStatus(statusDir string, s Status, now time.Time) error {
	s.SchemaVersion = 1
	s.When = now.UTC().Format(time.RFC3339)
	dir := filepath.Join(statusDir, safeName(s.Product))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	data, _ := json.MarshalIndent(s, "", "  ")
	return atomicfile.Write(filepath.Join(dir, safeName(s.Host)+".json"), append(data, '\n'))
}

// safeName keeps a product or host name usable as one path component.
func safeName(name string) string {
	out := []rune(name)
	for i, r := range out {
		if r == '/' || r == '\\' || r == ':' || r < 0x20 {
			out[i] = '_'
		}
	}
	return string(out)
}
