// Package server implements the hellosvc HTTP endpoints and the
// bind-then-serve-then-drain lifecycle shared by foreground and service mode.
package server

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"runtime"

	"example.com/hellosvc/internal/config"
)

// BuildInfo is the version metadata reported by GET /version. The pipeline
// injects it at link time; nothing in it depends on when the build ran.
type BuildInfo struct {
	Version    string `json:"version"`
	Commit     string `json:"commit"`
	CommitTime string `json:"commit_time"`
	Dirty      bool   `json:"dirty"`
	GoVersion  string `json:"go_version"`
}

// NewHandler returns the HTTP handler serving:
//
//	GET /healthz  200 "ok" (text/plain)
//	GET /version  BuildInfo as JSON
//	GET /config   the effective Config as JSON
//
// Other methods on these paths get 405 with an Allow header; other paths 404.
// (HEAD is answered like GET without a body, as net/http does for GET routes.)
func NewHandler(cfg config.Config, info BuildInfo, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte("ok"))
	})
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, info, log)
	})
	mux.HandleFunc("GET /config", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, cfg, log)
	})
	return logRequests(mux, log)
}

func writeJSON(w http.ResponseWriter, v any, log *slog.Logger) {
	body, err := json.Marshal(v)
	if err != nil {
		log.Error("encoding JSON response failed", "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(append(body, '\n'))
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// logRequests logs each request at debug level, so log_level=debug gives an
// access log without cluttering the Event Log by default.
func logRequests(next http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "remote", r.RemoteAddr)
	})
}

// NewBuildInfo builds BuildInfo from the link-time strings of package main.
// dirty is "true" for a build from a modified work tree; any other value
// (normally "false") means clean. go_version comes from the running binary.
func NewBuildInfo(version, commit, commitTime, dirty string) BuildInfo {
	return BuildInfo{
		Version:    version,
		Commit:     commit,
		CommitTime: commitTime,
		Dirty:      dirty == "true",
		GoVersion:  runtime.Version(),
	}
}
