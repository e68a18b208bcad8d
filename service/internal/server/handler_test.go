package server

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"example.com/hellosvc/internal/config"
)

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func testHandler() http.Handler {
	cfg := config.Config{ListenPort: 9123, BindAddress: "127.0.0.1", SiteName: "lab", LogLevel: "warn"}
	info := NewBuildInfo("1.2.3", "0123456789abcdef0123456789abcdef01234567", "2024-05-06T07:08:09Z", "true")
	return NewHandler(cfg, info, discardLogger())
}

func do(t *testing.T, h http.Handler, method, path string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec.Result()
}

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHealthz(t *testing.T) {
	r := do(t, testHandler(), "GET", "/healthz")
	if r.StatusCode != 200 {
		t.Fatalf("status %d", r.StatusCode)
	}
	if got := body(t, r); got != "ok" {
		t.Fatalf("body %q", got)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("Content-Type %q", ct)
	}
}

func TestVersion(t *testing.T) {
	r := do(t, testHandler(), "GET", "/version")
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, Content-Type %q", r.StatusCode, r.Header.Get("Content-Type"))
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(body(t, r)), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"version":     "1.2.3",
		"commit":      "0123456789abcdef0123456789abcdef01234567",
		"commit_time": "2024-05-06T07:08:09Z",
		"dirty":       true,
		"go_version":  runtime.Version(),
	}
	if len(got) != len(want) {
		t.Fatalf("got keys %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
}

func TestNewBuildInfoDirty(t *testing.T) {
	for in, want := range map[string]bool{"true": true, "false": false, "": false, "yes": false} {
		if got := NewBuildInfo("v", "c", "t", in).Dirty; got != want {
			t.Errorf("dirty=%q -> %v, want %v", in, got, want)
		}
	}
}

func TestConfigEndpoint(t *testing.T) {
	r := do(t, testHandler(), "GET", "/config")
	if r.StatusCode != 200 {
		t.Fatalf("status %d", r.StatusCode)
	}
	want := `{"listen_port":9123,"bind_address":"127.0.0.1","site_name":"lab","log_level":"warn"}` + "\n"
	if got := body(t, r); got != want {
		t.Fatalf("body %q, want %q", got, want)
	}
}

func TestOtherMethodsAre405(t *testing.T) {
	h := testHandler()
	for _, path := range []string{"/healthz", "/version", "/config"} {
		for _, m := range []string{"POST", "PUT", "DELETE", "PATCH"} {
			r := do(t, h, m, path)
			if r.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: status %d, want 405", m, path, r.StatusCode)
			}
			if allow := r.Header.Get("Allow"); !strings.Contains(allow, "GET") {
				t.Errorf("%s %s: Allow %q", m, path, allow)
			}
		}
	}
}

func TestUnknownPathIs404(t *testing.T) {
	for _, p := range []string{"/", "/healthz/", "/metrics"} {
		if r := do(t, testHandler(), "GET", p); r.StatusCode != 404 {
			t.Errorf("GET %s: status %d, want 404", p, r.StatusCode)
		}
	}
}
