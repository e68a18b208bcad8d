// Package logging builds the slog loggers hellosvc uses: plain text on stderr
// in the foreground, and one line per record into a Sink (the Windows Event
// Log) when running as a service.
package logging

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
)

// ParseLevel maps a config log_level (debug, info, warn, error) to a slog level.
func ParseLevel(name string) (slog.Level, error) {
	switch name {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("unknown log level %q; allowed: debug, info, warn, error", name)
}

// NewText returns a logger writing key=value text lines to w, filtered by level.
func NewText(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// Sink receives one formatted message per log record. The Windows Event Log
// implements it; tests use a recorder.
type Sink interface {
	Write(level slog.Level, msg string) error
}

// NewSink returns a logger that formats each record as a key=value line
// (without a timestamp: the sink records its own) and hands it to sink.
func NewSink(sink Sink, level slog.Leveler) *slog.Logger {
	st := &sinkState{sink: sink}
	inner := slog.NewTextHandler(&st.buf, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})
	return slog.New(&sinkHandler{st: st, inner: inner})
}

// sinkState is shared by a handler and everything derived from it via
// WithAttrs/WithGroup, because the derived text handlers all write into the
// same buffer.
type sinkState struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	sink Sink
}

type sinkHandler struct {
	st    *sinkState
	inner slog.Handler
}

func (h *sinkHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *sinkHandler) Handle(ctx context.Context, r slog.Record) error {
	h.st.mu.Lock()
	defer h.st.mu.Unlock()
	h.st.buf.Reset()
	if err := h.inner.Handle(ctx, r); err != nil {
		return err
	}
	msg := string(bytes.TrimRight(h.st.buf.Bytes(), "\n"))
	return h.st.sink.Write(r.Level, msg)
}

func (h *sinkHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &sinkHandler{st: h.st, inner: h.inner.WithAttrs(attrs)}
}

func (h *sinkHandler) WithGroup(name string) slog.Handler {
	return &sinkHandler{st: h.st, inner: h.inner.WithGroup(name)}
}
