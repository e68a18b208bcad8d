package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseEmptyObjectGivesDefaults(t *testing.T) {
	cfg, err := Parse([]byte("{}"), "test")
	if err != nil {
		t.Fatal(err)
	}
	want := Config{ListenPort: 8080, BindAddress: "0.0.0.0", SiteName: "default", LogLevel: "info"}
	if cfg != want {
		t.Fatalf("got %+v, want %+v", cfg, want)
	}
	if got := cfg.ListenAddr(); got != "0.0.0.0:8080" {
		t.Fatalf("ListenAddr = %q", got)
	}
}

func TestParseAllKeys(t *testing.T) {
	data := "\xef\xbb\xbf" + `{
  "listen_port": 9090,
  "bind_address": "::1",
  "site_name": "Büro Süd",
  "log_level": "debug"
}
`
	cfg, err := Parse([]byte(data), "test")
	if err != nil {
		t.Fatal(err)
	}
	want := Config{ListenPort: 9090, BindAddress: "::1", SiteName: "Büro Süd", LogLevel: "debug"}
	if cfg != want {
		t.Fatalf("got %+v, want %+v", cfg, want)
	}
	if got := cfg.ListenAddr(); got != "[::1]:9090" {
		t.Fatalf("ListenAddr = %q", got)
	}
}

func TestParsePartialKeepsOtherDefaults(t *testing.T) {
	cfg, err := Parse([]byte(`{"site_name":"shop"}`), "test")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SiteName != "shop" || cfg.ListenPort != 8080 || cfg.LogLevel != "info" || cfg.BindAddress != "0.0.0.0" {
		t.Fatalf("got %+v", cfg)
	}
}

func TestParseErrors(t *testing.T) {
	long := strings.Repeat("x", MaxSiteNameLen+1)
	cases := []struct {
		name string
		json string
		want []string // substrings the error must contain
	}{
		{"unknown field", `{"listen_port": 80, "colour": "blue"}`, []string{`"colour"`, "unknown key", "listen_port, bind_address, site_name, log_level"}},
		{"wrong case is unknown", `{"LISTEN_PORT": 80}`, []string{`"LISTEN_PORT"`, "unknown key"}},
		{"duplicate key", `{"listen_port": 80, "listen_port": 81}`, []string{`"listen_port"`, "more than once"}},
		{"port zero", `{"listen_port": 0}`, []string{`"listen_port"`, "1 to 65535"}},
		{"port too big", `{"listen_port": 65536}`, []string{`"listen_port"`, "65536", "1 to 65535"}},
		{"port negative", `{"listen_port": -1}`, []string{`"listen_port"`, "1 to 65535"}},
		{"port fraction", `{"listen_port": 80.5}`, []string{`"listen_port"`, "not an integer"}},
		{"port string", `{"listen_port": "80"}`, []string{`"listen_port"`, "JSON number"}},
		{"port null", `{"listen_port": null}`, []string{`"listen_port"`, "null"}},
		{"bind not ip", `{"bind_address": "localhost"}`, []string{`"bind_address"`, `"localhost"`, "IP address"}},
		{"bind number", `{"bind_address": 127}`, []string{`"bind_address"`, "JSON string"}},
		{"site empty", `{"site_name": ""}`, []string{`"site_name"`, "empty", "1 to 64 printable"}},
		{"site too long", `{"site_name": "` + long + `"}`, []string{`"site_name"`, "65 characters", "1 to 64"}},
		{"site control char", `{"site_name": "a\tb"}`, []string{`"site_name"`, "U+0009", "printable"}},
		{"level unknown", `{"log_level": "verbose"}`, []string{`"log_level"`, `"verbose"`, "debug, info, warn, error"}},
		{"level wrong case", `{"log_level": "INFO"}`, []string{`"log_level"`, "debug, info, warn, error"}},
		{"not an object", `[1,2]`, []string{"JSON object"}},
		{"empty file", ``, []string{"empty"}},
		{"syntax error", "{\n  \"listen_port\": 80,\n  oops\n}", []string{"invalid JSON", "line 3"}},
		{"truncated", `{"listen_port": 80`, []string{"invalid JSON"}},
		{"trailing data", `{} {}`, []string{"after the JSON object"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.json), `config file "/etc/hello.json"`)
			if err == nil {
				t.Fatalf("expected an error for %s", tc.json)
			}
			msg := err.Error()
			if !strings.Contains(msg, `config file "/etc/hello.json"`) {
				t.Errorf("error does not name the file: %s", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
		})
	}
}

func TestLoadNamesFileAndMissingFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	_, err := Load(path)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing file: got %v, want ErrNotFound", err)
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "--seed-config") {
		t.Fatalf("missing-file error should name the path and the fix: %v", err)
	}

	if err := os.WriteFile(path, []byte(`{"log_level":"loud"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), `"log_level"`) {
		t.Fatalf("error should name file and key: %v", err)
	}
}

func TestSetValidatesAndEmptyKeeps(t *testing.T) {
	cfg := Defaults()
	for _, kv := range [][2]string{{"listen_port", "9000"}, {"bind_address", "127.0.0.1"}, {"site_name", "lab"}, {"log_level", "warn"}} {
		if err := cfg.Set(kv[0], kv[1]); err != nil {
			t.Fatalf("Set(%q, %q): %v", kv[0], kv[1], err)
		}
	}
	want := Config{ListenPort: 9000, BindAddress: "127.0.0.1", SiteName: "lab", LogLevel: "warn"}
	if cfg != want {
		t.Fatalf("got %+v, want %+v", cfg, want)
	}
	for _, k := range Keys {
		if err := cfg.Set(k, ""); err != nil {
			t.Fatalf("Set(%q, \"\"): %v", k, err)
		}
	}
	if cfg != want {
		t.Fatalf("empty values changed the config: %+v", cfg)
	}

	bad := [][3]string{
		{"listen_port", "0", "1 to 65535"},
		{"listen_port", "http", "not an integer"},
		{"listen_port", " 80", "not an integer"},
		{"bind_address", "999.1.1.1", "IP address"},
		{"site_name", strings.Repeat("é", 65), "1 to 64"},
		{"log_level", "trace", "debug, info, warn, error"},
		{"port", "80", "unknown key"},
	}
	for _, b := range bad {
		err := cfg.Set(b[0], b[1])
		if err == nil {
			t.Errorf("Set(%q, %q): expected error", b[0], b[1])
			continue
		}
		if !strings.Contains(err.Error(), `"`+b[0]+`"`) || !strings.Contains(err.Error(), b[2]) {
			t.Errorf("Set(%q, %q): error %q should name the key and contain %q", b[0], b[1], err, b[2])
		}
	}
	if cfg != want {
		t.Fatalf("failed Set changed the config: %+v", cfg)
	}
}

func TestSiteNameLengthCountsCharacters(t *testing.T) {
	cfg := Defaults()
	// 64 two-byte characters are 128 bytes but within the 64-character limit.
	if err := cfg.Set("site_name", strings.Repeat("é", 64)); err != nil {
		t.Fatal(err)
	}
}

func TestMarshalRoundTripAndKeyOrder(t *testing.T) {
	cfg := Config{ListenPort: 1234, BindAddress: "10.0.0.1", SiteName: `quote " and \ slash`, LogLevel: "error"}
	out := string(cfg.Marshal())
	want := "{\n  \"listen_port\": 1234,\n  \"bind_address\": \"10.0.0.1\",\n  \"site_name\": \"quote \\\" and \\\\ slash\",\n  \"log_level\": \"error\"\n}\n"
	if out != want {
		t.Fatalf("Marshal:\n%s\nwant:\n%s", out, want)
	}
	back, err := Parse([]byte(out), "test")
	if err != nil {
		t.Fatal(err)
	}
	if back != cfg {
		t.Fatalf("round trip: got %+v want %+v", back, cfg)
	}
}

func TestValidate(t *testing.T) {
	if err := Defaults().Validate("x"); err != nil {
		t.Fatal(err)
	}
	c := Defaults()
	c.LogLevel = "chatty"
	if err := c.Validate("x"); err == nil || !strings.Contains(err.Error(), `"log_level"`) {
		t.Fatalf("got %v", err)
	}
}
