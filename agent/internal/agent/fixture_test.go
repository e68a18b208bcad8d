package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"example.com/winrelease/agent/internal/host"
	"example.com/winrelease/agent/internal/minisign"
	"example.com/winrelease/agent/internal/rollout"
	"example.com/winrelease/agent/internal/testsign"
	"example.com/winrelease/agent/internal/trust"
)

const product = "Hello Service"

// testStore writes releases and pointers the way the Rust store does (same layout, canonical
// JSON, bindings), signed by key.
type testStore struct {
	t        *testing.T
	root     string
	key      testsign.Key
	manifest map[string]string // version -> manifest SHA-256
	sequence uint64
	// history holds every pointer file written, oldest first (for replays).
	history [][]byte
}

func newStore(t *testing.T) *testStore {
	return &testStore{t: t, root: t.TempDir(), key: testsign.New(1), manifest: map[string]string{}}
}

func sha(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func binding(version, file string, data []byte) string {
	return "winrelease product=Hello%20Service version=" + version + " file=" + file + " sha256=" + sha(data)
}

func (s *testStore) write(rel string, data []byte) {
	path := filepath.Join(s.root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// release writes version's MSI and manifest.
func (s *testStore) release(version string) {
	msiName := "hellosvc_" + version + "_x64.msi"
	msi := []byte("fake MSI of " + version)
	manifest, _ := json.MarshalIndent(map[string]any{
		"schema_version": 1, "product": product, "version": version, "msi_version": "1.0.255",
		"expires": "2030-01-01T00:00:00Z",
		"artifacts": []map[string]any{{"name": msiName, "kind": "msi", "size": len(msi),
			"sha256": sha(msi), "signature": msiName + ".minisig"}},
	}, "", "  ")
	dir := product + "/" + version + "/"
	s.write(dir+msiName, msi)
	s.write(dir+msiName+".minisig", []byte(s.key.Sign(msi, binding(version, msiName, msi))))
	s.write(dir+"manifest.json", manifest)
	s.write(dir+"manifest.json.minisig", []byte(s.key.Sign(manifest, binding(version, "manifest.json", manifest))))
	s.manifest[version] = sha(manifest)
}

// point writes the stable pointer at version (with an optional rollout), sequence + 1.
func (s *testStore) point(version string, r *trust.Rollout, expires string) []byte {
	s.sequence++
	signed := map[string]any{"schema_version": 1, "product": product, "channel": "stable",
		"version": version, "manifest_sha256": s.manifest[version], "sequence": s.sequence, "expires": expires}
	if r != nil {
		r.PreviousManifestSHA256 = s.manifest[r.Previous]
		signed["rollout"] = r
	}
	raw, _ := json.Marshal(signed)
	value, _ := trust.DecodeJSON(raw)
	payload, err := trust.Canonical(value)
	if err != nil {
		s.t.Fatal(err)
	}
	sig := s.key.Sign([]byte(payload), binding(version, "channels/stable.json", []byte(payload)))
	envelope, _ := json.MarshalIndent(map[string]any{"signed": json.RawMessage(payload), "signature": sig}, "", "  ")
	s.write(product+"/channels/stable.json", envelope)
	s.history = append(s.history, envelope)
	return envelope
}

// fakeHost installs "MSIs" by remembering their version, and refuses a downgrade without
// the property, as the real package does. Versions in broken never come up Running.
type fakeHost struct {
	installed string
	broken    map[string]bool
	installs  []host.InstallRequest
	// exitCodes fails the install of a version; removesOld makes a failed upgrade leave no
	// product (what Wine 8 does: RemoveExistingProducts outside the transaction).
	exitCodes  map[string]int
	removesOld bool
}

func (h *fakeHost) Install(_ context.Context, req host.InstallRequest) (int, error) {
	h.installs = append(h.installs, req)
	version := filepath.Base(filepath.Dir(req.MSI))
	if h.installed != "" && trust.Older(version, h.installed) && req.Properties[DowngradeProperty] != "1" {
		return 1603, nil
	}
	if code := h.exitCodes[version]; code != 0 {
		if h.removesOld {
			h.installed = ""
		}
		return code, nil
	}
	h.installed = version
	os.WriteFile(req.Log, []byte("=== Logging started ===\nInstalling "+version+"\n=== Logging stopped ===\n"), 0o644)
	return 0, nil
}

func (h *fakeHost) ServiceRunning(string) (bool, error) {
	return h.installed != "" && !h.broken[h.installed], nil
}

// fakeClock starts at a fixed date; Sleep moves it forward.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time        { return c.now }
func (c *fakeClock) Sleep(d time.Duration) { c.now = c.now.Add(d) }

type logSink struct{ t *testing.T }

func (l logSink) Write(p []byte) (int, error) { l.t.Log(string(p)); return len(p), nil }

func newAgent(t *testing.T, s *testStore, h *fakeHost, hostID string) *Agent {
	dir := t.TempDir()
	return &Agent{
		Config: Config{Store: s.root, StatusDir: filepath.Join(dir, "status"), StateDir: filepath.Join(dir, "state"),
			HostID: hostID, Products: []Product{{Product: product, Channel: "stable", ServiceName: "hellosvc", HealthTimeoutSeconds: 30}}},
		Keys: []minisign.PublicKey{s.key.Public()}, Host: h,
		Clock: &fakeClock{now: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		HTTP:  http.DefaultClient, Log: logSink{t},
	}
}

func (a *Agent) pollOne(t *testing.T) Status {
	t.Helper()
	statuses := a.PollAll(context.Background())
	data, err := os.ReadFile(filepath.Join(a.Config.StatusDir, product, a.Config.HostID+".json"))
	if err != nil {
		t.Fatalf("no status file: %v", err)
	}
	var onDisk Status
	if err := json.Unmarshal(data, &onDisk); err != nil || onDisk.State != statuses[0].State {
		t.Fatalf("status file %s does not say %s", data, statuses[0].State)
	}
	return statuses[0]
}

// hostIn / hostOut are host names inside and outside a 25% step.
func hostsAround(t *testing.T, percent int) (in, out string) {
	for _, name := range []string{"h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8", "h9"} {
		if rollout.InStep(rollout.Place(product, name), percent) {
			in = name
		} else {
			out = name
		}
	}
	if in == "" || out == "" {
		t.Fatal("no host on both sides")
	}
	return in, out
}
