package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// The pipeline injects version metadata with -X main.NAME=...; a renamed
// variable would silently keep its default, so build the real command with the
// pipeline's flags and check what it reports. Two builds from the same source
// must be byte-identical (no timestamps or random values in the binary).
// (-trimpath, which the pipeline adds, is left out here only because it would
// rebuild the standard library and make this test slow on a cold cache.)
func TestLdflagsInjectionAndReproducibleBuild(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("go tool not found on PATH")
		}
		t.Skip("go tool not found on PATH")
	}
	ldflags := "-X main.version=1.4.2 -X main.commit=0123456789abcdef0123456789abcdef01234567 " +
		"-X main.commitTime=2024-05-06T07:08:09Z -X main.dirty=true"
	build := func(dir string) string {
		out := filepath.Join(dir, "hellosvc")
		cmd := exec.Command(goTool, "build", "-buildvcs=false", "-ldflags", ldflags, "-o", out, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, msg)
		}
		return out
	}
	first := build(t.TempDir())
	second := build(t.TempDir())

	out, err := exec.Command(first, "--version").Output()
	if err != nil {
		t.Fatalf("hellosvc --version: %v", err)
	}
	want := "hellosvc 1.4.2 commit=0123456789abcdef0123456789abcdef01234567 commit_time=2024-05-06T07:08:09Z dirty=true go=" + runtime.Version() + "\n"
	if string(out) != want {
		t.Fatalf("--version printed %q, want %q", out, want)
	}

	a, err := os.ReadFile(first)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(second)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two builds of the same source differ: the binary is not reproducible")
	}
}
