package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"example.com/hellosvc/internal/config"
	"example.com/hellosvc/internal/logging"
	"example.com/hellosvc/internal/server"
)

// When re-executed by TestForegroundSignals, the test binary acts as hellosvc.
func TestMain(m *testing.M) {
	if os.Getenv("HELLOSVC_TEST_MAIN") == "1" {
		os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr, server.NewBuildInfo("9.9.9", "abc", "", "false")))
	}
	os.Exit(m.Run())
}

// syncBuffer is a goroutine-safe bytes.Buffer for capturing stderr of a
// running server.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type testRun struct {
	stdout, stderr *syncBuffer
	cancel         context.CancelFunc
	env            env
}

func newTestRun() *testRun {
	ctx, cancel := context.WithCancel(context.Background())
	tr := &testRun{stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel}
	tr.env = env{
		stdout:            tr.stdout,
		stderr:            tr.stderr,
		info:              server.NewBuildInfo("1.0.0", "deadbeef", "2024-01-02T03:04:05Z", "false"),
		foregroundContext: func() (context.Context, context.CancelFunc) { return ctx, cancel },
		shutdownTimeout:   5 * time.Second,
	}
	return tr
}

func (tr *testRun) run(args ...string) int { return run(args, tr.env) }

// testClient bounds every test request, so a wedged server fails the test
// instead of hanging it.
var testClient = &http.Client{Timeout: 5 * time.Second}

// within returns the next value from ch, failing the test after 5 s.
func within[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out after 5s waiting for %s", what)
		panic("unreachable")
	}
}

// freePort returns a port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func writeConfig(t *testing.T, cfg config.Config) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.json")
	if err := config.WriteFile(path, cfg); err != nil {
		t.Fatal(err)
	}
	return path
}

func waitHealthy(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := testClient.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/healthz never became healthy: %v", base, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestUsageErrors(t *testing.T) {
	cfgPath := filepath.Join(t.TempDir(), "c.json")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"--set", "listen_port=1"}, "--set is only valid together with --seed-config"},
		{[]string{"--seed-config", cfgPath, "--service"}, "cannot be combined with --service"},
		{[]string{"--seed-config", cfgPath, "--config", cfgPath}, "cannot be combined with --config"},
		{[]string{"--config", "config.json"}, "must be an absolute path"},
		{[]string{"--seed-config", "rel/config.json"}, "must be an absolute path"},
		{[]string{"--name", `a\b`, "--config", cfgPath}, "not a valid service name"},
		{[]string{"--name", "", "--config", cfgPath}, "not a valid service name"},
		{[]string{"--bogus"}, "flag provided but not defined: -bogus"},
	}
	for _, tc := range cases {
		tr := newTestRun()
		if code := tr.run(tc.args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d; stderr %s", tc.args, code, ExitUsage, tr.stderr)
		}
		if !strings.Contains(tr.stderr.String(), tc.want) {
			t.Errorf("%v: stderr %q should contain %q", tc.args, tr.stderr, tc.want)
		}
	}
}

func TestConfigRequiredOutsideWindows(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has a default config path")
	}
	tr := newTestRun()
	if code := tr.run(); code != ExitUsage {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(tr.stderr.String(), "--config PATH is required on "+runtime.GOOS) {
		t.Fatalf("stderr %q", tr.stderr)
	}
}

func TestHelpAndVersion(t *testing.T) {
	tr := newTestRun()
	if code := tr.run("-h"); code != ExitOK {
		t.Fatalf("-h: exit %d", code)
	}
	for _, f := range []string{"-service", "-name", "-config", "-seed-config", "-set"} {
		if !strings.Contains(tr.stderr.String(), f) {
			t.Errorf("usage lacks %s: %s", f, tr.stderr)
		}
	}

	tr = newTestRun()
	if code := tr.run("--version"); code != ExitOK {
		t.Fatalf("--version: exit %d", code)
	}
	want := fmt.Sprintf("hellosvc 1.0.0 commit=deadbeef commit_time=2024-01-02T03:04:05Z dirty=false go=%s\n", runtime.Version())
	if got := tr.stdout.String(); got != want {
		t.Fatalf("--version printed %q, want %q", got, want)
	}
}

func TestSeedConfigMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "Hello Service", "config.json")
	tr := newTestRun()
	code := tr.run("--seed-config", path, "--set", "listen_port=8181", "--set", "site_name=Front desk", "--set", "log_level=")
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %s", code, tr.stderr)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ListenPort != 8181 || cfg.SiteName != "Front desk" || cfg.LogLevel != "info" {
		t.Fatalf("seeded %+v", cfg)
	}

	tr = newTestRun()
	if code := tr.run("--seed-config", path, "--set", "bind_address=localhost"); code != ExitFailure {
		t.Fatalf("bad value: exit %d", code)
	}
	if !strings.Contains(tr.stderr.String(), `"bind_address"`) {
		t.Fatalf("stderr %q should name the key", tr.stderr)
	}

	tr = newTestRun()
	if code := tr.run("--seed-config", path, "--set", "colour=red"); code != ExitFailure {
		t.Fatalf("unknown key: exit %d", code)
	}
	if !strings.Contains(tr.stderr.String(), `"colour"`) {
		t.Fatalf("stderr %q should name the key", tr.stderr)
	}
	if again, _ := config.Load(path); again != cfg {
		t.Fatalf("failed seed changed the file: %+v", again)
	}
}

func TestForegroundMissingConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.json")
	tr := newTestRun()
	if code := tr.run("--config", path); code != ExitFailure {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(tr.stderr.String(), path) {
		t.Fatalf("stderr %q should name the file", tr.stderr)
	}
}

func TestForegroundBindFailure(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := taken.Addr().(*net.TCPAddr).Port
	path := writeConfig(t, config.Config{ListenPort: port, BindAddress: "127.0.0.1", SiteName: "x", LogLevel: "info"})

	tr := newTestRun()
	done := make(chan int, 1)
	go func() { done <- tr.run("--config", path) }()
	select {
	case code := <-done:
		if code != ExitFailure {
			t.Fatalf("exit %d, want 1", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("hellosvc kept running although its port was taken")
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if !strings.Contains(tr.stderr.String(), "cannot listen on "+addr) {
		t.Fatalf("stderr %q should name %s", tr.stderr, addr)
	}
}

// Foreground mode end to end: serves the configured endpoints, and on the
// shutdown signal lets a slow in-flight request finish before exiting 0.
func TestForegroundServesAndShutsDownGracefully(t *testing.T) {
	port := freePort(t)
	cfg := config.Config{ListenPort: port, BindAddress: "127.0.0.1", SiteName: "Lab 1", LogLevel: "debug"}
	path := writeConfig(t, cfg)

	entered, release := make(chan struct{}), make(chan struct{})
	tr := newTestRun()
	tr.env.wrapHandler = func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/slow" {
				close(entered)
				<-release
				_, _ = io.WriteString(w, "slow done")
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	defer tr.cancel()
	done := make(chan int, 1)
	go func() { done <- tr.run("--config", path) }()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitHealthy(t, base)

	resp, err := testClient.Get(base + "/config")
	if err != nil {
		t.Fatal(err)
	}
	var got config.Config
	err = json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if err != nil || got != cfg {
		t.Fatalf("/config = %+v (%v), want %+v", got, err, cfg)
	}

	slow := make(chan string, 1)
	go func() {
		resp, err := testClient.Get(base + "/slow")
		if err != nil {
			slow <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		slow <- string(b)
	}()
	select {
	case <-entered:
	case body := <-slow:
		t.Fatalf("slow request ended before reaching the handler: %s", body)
	case <-time.After(5 * time.Second):
		t.Fatal("slow request never reached the handler")
	}
	tr.cancel() // what SIGINT/SIGTERM does in Main

	select {
	case code := <-done:
		t.Fatalf("exited with %d while a request was in flight", code)
	case <-time.After(150 * time.Millisecond):
	}
	close(release)
	if body := within(t, slow, "the in-flight request"); body != "slow done" {
		t.Fatalf("in-flight request got %q", body)
	}
	select {
	case code := <-done:
		if code != ExitOK {
			t.Fatalf("exit %d, stderr %s", code, tr.stderr)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("did not exit after shutdown")
	}
	logs := tr.stderr.String()
	for _, want := range []string{"msg=listening", "address=127.0.0.1:" + fmt.Sprint(port), "shutting down", "msg=stopped", "msg=request"} {
		if !strings.Contains(logs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, logs)
		}
	}
}

func TestServiceModeOutsideWindowsFails(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("needs a non-Windows OS")
	}
	path := writeConfig(t, config.Defaults())
	tr := newTestRun()
	if code := tr.run("--service", "--config", path); code != ExitFailure {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(tr.stderr.String(), "only supported on Windows") {
		t.Fatalf("stderr %q", tr.stderr)
	}
}

// The real Main in a child process: SIGTERM and SIGINT each lead to a
// graceful shutdown and exit code 0.
func TestForegroundSignals(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX signals")
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			port := freePort(t)
			path := writeConfig(t, config.Config{ListenPort: port, BindAddress: "127.0.0.1", SiteName: "sig", LogLevel: "info"})
			cmd := exec.Command(os.Args[0], "--config", path)
			cmd.Env = append(os.Environ(), "HELLOSVC_TEST_MAIN=1")
			var stderr syncBuffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			waitHealthy(t, fmt.Sprintf("http://127.0.0.1:%d", port))

			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			waitErr := make(chan error, 1)
			go func() { waitErr <- cmd.Wait() }()
			select {
			case err := <-waitErr:
				if err != nil {
					t.Fatalf("exit: %v; stderr:\n%s", err, stderr.String())
				}
			case <-time.After(5 * time.Second):
				t.Fatal("process did not exit after the signal")
			}
			if !strings.Contains(stderr.String(), "shutting down") || !strings.Contains(stderr.String(), "msg=stopped") {
				t.Fatalf("no graceful-shutdown log:\n%s", stderr.String())
			}
		})
	}
}

// The service body (run under the SCM on Windows) reports ready only once the
// listener is bound, and fails without reporting ready when it cannot bind or
// the config is bad; failures are logged with the reason.
func TestServiceBody(t *testing.T) {
	port := freePort(t)
	path := writeConfig(t, config.Config{ListenPort: port, BindAddress: "127.0.0.1", SiteName: "svc", LogLevel: "info"})
	tr := newTestRun()
	logs := &syncBuffer{}
	level := new(slog.LevelVar)
	body := serviceBody(path, level, logging.NewText(logs, level), tr.env)

	ctx, cancel := context.WithCancel(context.Background())
	readyErr := make(chan error, 1)
	done := make(chan error, 1)
	go func() {
		done <- body(ctx, func() {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err == nil {
				c.Close()
			}
			readyErr <- err
		})
	}()
	select {
	case err := <-readyErr:
		if err != nil {
			t.Fatalf("ready reported before the port accepted connections: %v", err)
		}
	case err := <-done:
		t.Fatalf("body returned %v without reporting ready", err)
	case <-time.After(5 * time.Second):
		t.Fatal("body never reported ready")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("body after stop: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("body did not return after its context was cancelled")
	}

	// If a failure case wrongly starts serving, stop it instead of hanging.
	bounded, cancelBounded := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelBounded()

	// Port taken: no ready, error names the address, and it is logged.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	takenPort := taken.Addr().(*net.TCPAddr).Port
	path = writeConfig(t, config.Config{ListenPort: takenPort, BindAddress: "127.0.0.1", SiteName: "svc", LogLevel: "info"})
	logs = &syncBuffer{}
	body = serviceBody(path, level, logging.NewText(logs, level), tr.env)
	addr := fmt.Sprintf("127.0.0.1:%d", takenPort)
	err = body(bounded, func() { t.Error("ready reported although bind failed") })
	if err == nil || !strings.Contains(err.Error(), addr) {
		t.Fatalf("body error %v should name %s", err, addr)
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), addr) {
		t.Fatalf("bind failure not logged: %s", logs)
	}

	// Bad config: no ready, error and log name the key.
	bad := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(bad, []byte(`{"listen_port": 99999}`), 0o644); err != nil {
		t.Fatal(err)
	}
	logs = &syncBuffer{}
	body = serviceBody(bad, level, logging.NewText(logs, level), tr.env)
	err = body(bounded, func() { t.Error("ready reported with a bad config") })
	if err == nil || !strings.Contains(logs.String(), "listen_port") {
		t.Fatalf("err %v, logs %s", err, logs)
	}
}

func TestSeedOnlyIfPristineLeavesAnEditedConfigAlone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	pristine := []byte("{\n  \"listen_port\": 8080\n}\n")
	if err := os.WriteFile(path, pristine, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(pristine)
	digest := hex.EncodeToString(sum[:])

	// The installer's own default: seeded.
	tr := newTestRun()
	if code := tr.run("--seed-config", path, "--seed-only-if-sha256", digest, "--set", "listen_port=9191"); code != ExitOK {
		t.Fatalf("exit %d, stderr %s", code, tr.stderr)
	}
	cfg, err := config.Load(path)
	if err != nil || cfg.ListenPort != 9191 {
		t.Fatalf("pristine config not seeded: %+v %v", cfg, err)
	}

	// Now it differs from the default (as an admin's edit would): left exactly as it is.
	before, _ := os.ReadFile(path)
	tr = newTestRun()
	if code := tr.run("--seed-config", path, "--seed-only-if-sha256", digest, "--set", "listen_port=8080"); code != ExitOK {
		t.Fatalf("exit %d, stderr %s", code, tr.stderr)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatalf("edited config was overwritten:\n%s", after)
	}
	if !strings.Contains(tr.stdout.String(), "leaving it as is") {
		t.Fatalf("stdout %q should say why nothing changed", tr.stdout)
	}

	// A missing file is created.
	missing := filepath.Join(t.TempDir(), "new.json")
	tr = newTestRun()
	if code := tr.run("--seed-config", missing, "--seed-only-if-sha256", digest, "--set", "listen_port=7070"); code != ExitOK {
		t.Fatalf("exit %d, stderr %s", code, tr.stderr)
	}
	if cfg, err := config.Load(missing); err != nil || cfg.ListenPort != 7070 {
		t.Fatalf("missing config not created: %+v %v", cfg, err)
	}

	// A malformed digest is refused.
	tr = newTestRun()
	if code := tr.run("--seed-config", path, "--seed-only-if-sha256", "xyz"); code != ExitFailure {
		t.Fatalf("bad digest: exit %d", code)
	}
}
