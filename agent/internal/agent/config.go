// Package agent is the host agent's logic: one poll of a product's channel (verify pointer,
// pick the version, fetch and verify the release, install, health gate, roll back, report),
// with the machine behind host.Host and time behind Clock.
package agent

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"example.com/winrelease/agent/internal/minisign"
)

// Config is the agent's JSON config file.
type Config struct {
	// Store is the release store: a folder, a UNC path, or an http(s):// URL of its root.
	Store string `json:"store"`
	// StatusDir receives <product>/<host>.json; the agent never writes to the store.
	StatusDir string `json:"status_dir"`
	// StateDir keeps the highest pointer sequence seen, what is installed, and the cache.
	StateDir string `json:"state_dir"`
	// HostID is this host's identity (its place in line); default: the computer name.
	HostID string `json:"host_id,omitempty"`
	// PublicKeys are minisign public key files (or key lines); any of them may sign.
	PublicKeys []string `json:"public_keys"`
	// PollSeconds between polls, plus up to JitterSeconds at random.
	PollSeconds   int       `json:"poll_seconds,omitempty"`
	JitterSeconds int       `json:"jitter_seconds,omitempty"`
	Products      []Product `json:"products"`
}

// Product is one managed product.
type Product struct {
	Product     string `json:"product"`
	Channel     string `json:"channel"`
	ServiceName string `json:"service_name"`
	// HealthURL must answer 2xx once the service is up (optional).
	HealthURL string `json:"health_url,omitempty"`
	// Site names the transform to pass (<exe>_<version>_x64_<site>.mst), optional.
	Site string `json:"site,omitempty"`
	// Properties are passed to msiexec as NAME=VALUE.
	Properties map[string]string `json:"properties,omitempty"`
	// HealthTimeoutSeconds: how long the new version has to become healthy (default 120).
	HealthTimeoutSeconds int `json:"health_timeout_seconds,omitempty"`
	// InstallTimeoutSeconds bounds one msiexec run (default 1800).
	InstallTimeoutSeconds int `json:"install_timeout_seconds,omitempty"`
}

// LoadConfig reads and checks a config file.
func LoadConfig(path string) (Config, []minisign.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, nil, err
	}
	var c Config
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, nil, fmt.Errorf("%s: %v", path, err)
	}
	if c.Store == "" || c.StatusDir == "" || c.StateDir == "" || len(c.PublicKeys) == 0 || len(c.Products) == 0 {
		return Config{}, nil, fmt.Errorf("%s: store, status_dir, state_dir, public_keys and products are required", path)
	}
	for _, p := range c.Products {
		if p.Product == "" || p.Channel == "" || p.ServiceName == "" {
			return Config{}, nil, fmt.Errorf("%s: every product needs product, channel and service_name", path)
		}
	}
	if c.HostID == "" {
		if c.HostID, err = os.Hostname(); err != nil {
			return Config{}, nil, fmt.Errorf("%s: no host_id and no computer name: %v", path, err)
		}
	}
	keys, err := loadKeys(c.PublicKeys)
	if err != nil {
		return Config{}, nil, fmt.Errorf("%s: %v", path, err)
	}
	return c, keys, nil
}

func loadKeys(entries []string) ([]minisign.PublicKey, error) {
	var keys []minisign.PublicKey
	for _, entry := range entries {
		text := entry
		if !strings.HasPrefix(entry, "RW") {
			data, err := os.ReadFile(entry)
			if err != nil {
				return nil, fmt.Errorf("public key: %v", err)
			}
			text = string(data)
		}
		key, err := minisign.ParsePublicKey(text)
		if err != nil {
			return nil, fmt.Errorf("public key %s: %v", entry, err)
		}
		keys = append(keys, key)
	}
	return keys, nil
}

func (p Product) healthTimeout() time.Duration {
	if p.HealthTimeoutSeconds > 0 {
		return time.Duration(p.HealthTimeoutSeconds) * time.Second
	}
	return 120 * time.Second
}

func (p Product) installTimeout() time.Duration {
	if p.InstallTimeoutSeconds > 0 {
		return time.Duration(p.InstallTimeoutSeconds) * time.Second
	}
	return 30 * time.Minute
}
