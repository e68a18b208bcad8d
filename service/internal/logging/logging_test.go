package logging

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

type record struct {
	level slog.Level
	msg   string
}

type recorder struct {
	mu   sync.Mutex
	recs []record
}

func (r *recorder) Write(level slog.Level, msg string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, record{level, msg})
	return nil
}

func TestSinkOneLinePerRecordWithoutTime(t *testing.T) {
	rec := &recorder{}
	level := new(slog.LevelVar)
	log := NewSink(rec, level)
	log.Debug("hidden at info")
	log.With("service", "HelloSvc").Info("listening", "address", "0.0.0.0:8080")
	log.WithGroup("http").Warn("slow", "ms", 1200)
	log.Error("cannot start", "error", "port in use")
	level.Set(slog.LevelDebug)
	log.Debug("now visible")

	want := []record{
		{slog.LevelInfo, `level=INFO msg=listening service=HelloSvc address=0.0.0.0:8080`},
		{slog.LevelWarn, `level=WARN msg=slow http.ms=1200`},
		{slog.LevelError, `level=ERROR msg="cannot start" error="port in use"`},
		{slog.LevelDebug, `level=DEBUG msg="now visible"`},
	}
	if len(rec.recs) != len(want) {
		t.Fatalf("got %d records: %+v", len(rec.recs), rec.recs)
	}
	for i, w := range want {
		if rec.recs[i] != w {
			t.Errorf("record %d = %+v, want %+v", i, rec.recs[i], w)
		}
	}
}

func TestSinkConcurrentRecordsDoNotInterleave(t *testing.T) {
	rec := &recorder{}
	log := NewSink(rec, slog.LevelInfo)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				log.Info("m", "k", strings.Repeat("x", 40))
			}
		}()
	}
	wg.Wait()
	if len(rec.recs) != 1000 {
		t.Fatalf("got %d records", len(rec.recs))
	}
	for _, r := range rec.recs {
		if r.msg != "level=INFO msg=m k="+strings.Repeat("x", 40) {
			t.Fatalf("garbled record %q", r.msg)
		}
	}
}

func TestParseLevel(t *testing.T) {
	for name, want := range map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError} {
		got, err := ParseLevel(name)
		if err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v", name, got, err)
		}
	}
	if _, err := ParseLevel("trace"); err == nil || !strings.Contains(err.Error(), "trace") {
		t.Errorf("ParseLevel(trace): %v", err)
	}
}

func TestText(t *testing.T) {
	var buf bytes.Buffer
	NewText(&buf, slog.LevelWarn).Info("dropped")
	NewText(&buf, slog.LevelWarn).Warn("kept", "k", 1)
	out := buf.String()
	if strings.Contains(out, "dropped") || !strings.Contains(out, "msg=kept k=1") || !strings.Contains(out, "time=") {
		t.Fatalf("unexpected output %q", out)
	}
}
