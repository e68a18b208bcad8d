package config

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// dirEntries lists names in dir, to catch stray temporary files.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestSeedCreatesFromDefaults(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "Hello Service") // parent does not exist yet
	path := filepath.Join(dir, "config.json")
	cfg, err := Seed(path, []string{"listen_port=9001", "site_name=", "log_level="})
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	want.ListenPort = 9001
	if cfg != want {
		t.Fatalf("got %+v, want %+v", cfg, want)
	}
	onDisk, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if onDisk != want {
		t.Fatalf("file holds %+v, want %+v", onDisk, want)
	}
	if got := dirEntries(t, dir); len(got) != 1 || got[0] != "config.json" {
		t.Fatalf("directory should hold only config.json, has %v", got)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
		t.Fatalf("new file mode = %v, want 0644", st.Mode().Perm())
	}
}

func TestSeedUpdatesExistingPreservingOtherKeys(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	orig := `{"listen_port": 7000, "site_name": "kept", "log_level": "debug"}`
	if err := os.WriteFile(path, []byte(orig), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := Seed(path, []string{"bind_address=127.0.0.1", "listen_port="}); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{ListenPort: 7000, BindAddress: "127.0.0.1", SiteName: "kept", LogLevel: "debug"}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o640 {
		t.Fatalf("existing file mode changed to %v", st.Mode().Perm())
	}
}

func TestSeedRejectsAndLeavesFileUntouched(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	orig := `{"listen_port": 7000}`
	if err := os.WriteFile(path, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := [][]string{
		{"colour=blue"},
		{"listen_port=70000"},
		{"log_level=loud"},
		{"site_name=ok", "noequals"},
	}
	wantText := []string{`"colour"`, `"listen_port"`, `"log_level"`, "key=value"}
	for i, sets := range cases {
		_, err := Seed(path, sets)
		if err == nil {
			t.Fatalf("Seed(%v): expected error", sets)
		}
		if !strings.Contains(err.Error(), wantText[i]) {
			t.Errorf("Seed(%v): error %q should contain %q", sets, err, wantText[i])
		}
		if got := readFile(t, path); got != orig {
			t.Fatalf("Seed(%v) modified the file: %q", sets, got)
		}
	}
	if got := dirEntries(t, dir); len(got) != 1 {
		t.Fatalf("stray files left behind: %v", got)
	}
}

func TestSeedRejectsInvalidExistingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, []byte(`{"listen_port": 1, "extra": true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Seed(path, []string{"listen_port=80"})
	if err == nil || !strings.Contains(err.Error(), `"extra"`) || !strings.Contains(err.Error(), path) {
		t.Fatalf("got %v", err)
	}
}

// The file is replaced by rename, never rewritten in place: a reader that has
// the old file open keeps seeing the complete old contents.
func TestWriteFileReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	old := Defaults()
	if err := WriteFile(path, old); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	reader, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()

	if _, err := Seed(path, []string{"site_name=new"}); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if os.SameFile(before, after) {
		t.Fatal("config file was rewritten in place instead of replaced by rename")
	}
	oldContent, err := io.ReadAll(reader)
	if err != nil {
		t.Fatal(err)
	}
	if string(oldContent) != string(old.Marshal()) {
		t.Fatalf("open reader saw %q, want the old content", oldContent)
	}
	if cfg, _ := Load(path); cfg.SiteName != "new" {
		t.Fatalf("new content not in place: %+v", cfg)
	}
}

// When the final rename fails, the temporary file is removed, the old file is
// untouched and the error names the target.
func TestWriteFileCleansUpWhenRenameFails(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	sawTemp := false
	rename = func(from, to string) error {
		_, statErr := os.Stat(from)
		sawTemp = statErr == nil && filepath.Dir(from) == filepath.Dir(to)
		return errors.New("simulated rename failure")
	}
	defer func() { rename = os.Rename }()

	err := WriteFile(path, Defaults())
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "simulated") {
		t.Fatalf("got %v", err)
	}
	if !sawTemp {
		t.Fatal("the temporary file was not written in the target's directory before the rename")
	}
	if got := readFile(t, path); got != "old" {
		t.Fatalf("old file changed: %q", got)
	}
	if got := dirEntries(t, dir); len(got) != 1 || got[0] != "config.json" {
		t.Fatalf("stray files left behind: %v", got)
	}
}

func TestWriteFileRefusesDirectory(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "config.json")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	err := WriteFile(target, Defaults())
	if err == nil || !strings.Contains(err.Error(), target) || !strings.Contains(err.Error(), "directory") {
		t.Fatalf("got %v", err)
	}
	if got := dirEntries(t, dir); len(got) != 1 {
		t.Fatalf("stray files left behind: %v", got)
	}
}
