package winsvc

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"
)

// harness runs execute with channel-backed requests and collects reports.
type harness struct {
	requests chan control
	reports  chan status
	done     chan error
}

func start(body Body) *harness {
	h := &harness{requests: make(chan control), reports: make(chan status, 16), done: make(chan error, 1)}
	go func() {
		h.done <- execute(body, h.requests, func(c control) control { return c },
			func(s status) { h.reports <- s }, slog.New(slog.DiscardHandler))
	}()
	return h
}

func (h *harness) expect(t *testing.T, want status) {
	t.Helper()
	select {
	case got := <-h.reports:
		if got != want {
			t.Fatalf("reported %+v (%s), want %+v (%s)", got, got.Phase, want, want.Phase)
		}
	case <-time.After(2 * time.Second):
		t.Fatalf("no report; want %+v (%s)", want, want.Phase)
	}
}

func (h *harness) expectNoReport(t *testing.T) {
	t.Helper()
	select {
	case got := <-h.reports:
		t.Fatalf("unexpected report %+v (%s)", got, got.Phase)
	case <-time.After(50 * time.Millisecond):
	}
}

var (
	startPending = status{Phase: phaseStartPending, WaitHint: StartWaitHint}
	running      = status{Phase: phaseRunning, AcceptsStop: true}
	stopPending  = status{Phase: phaseStopPending, WaitHint: StopWaitHint}
)

func TestRunningOnlyAfterReadyThenGracefulStop(t *testing.T) {
	bind := make(chan struct{})
	stopped := make(chan struct{})
	h := start(func(ctx context.Context, ready func()) error {
		<-bind // simulate a slow bind
		ready()
		ready() // a second call must not report Running twice
		<-ctx.Done()
		close(stopped)
		return nil
	})
	h.expect(t, startPending)
	h.expectNoReport(t) // not Running before the listener is bound
	h.requests <- controlInterrogate
	h.expect(t, startPending)

	close(bind)
	h.expect(t, running)
	h.expectNoReport(t)

	h.requests <- controlOther // ignored
	h.requests <- controlStop
	h.expect(t, stopPending)
	<-stopped
	if err := <-h.done; err != nil {
		t.Fatalf("execute: %v", err)
	}
	if stopPending.WaitHint <= 15*time.Second {
		t.Fatal("stop wait hint must exceed the 15 s HTTP shutdown deadline")
	}
}

func TestBindFailureFailsStartWithoutRunning(t *testing.T) {
	bindErr := errors.New("cannot listen on 0.0.0.0:8080: address already in use")
	h := start(func(ctx context.Context, ready func()) error { return bindErr })
	h.expect(t, startPending)
	if err := <-h.done; !errors.Is(err, bindErr) {
		t.Fatalf("execute: %v", err)
	}
	h.expectNoReport(t)
}

func TestRepeatedStopReportsOnce(t *testing.T) {
	release := make(chan struct{})
	h := start(func(ctx context.Context, ready func()) error {
		ready()
		<-ctx.Done()
		<-release // still draining requests
		return errors.New("drain timed out")
	})
	h.expect(t, startPending)
	h.expect(t, running)
	h.requests <- controlStop
	h.expect(t, stopPending)
	h.requests <- controlStop
	h.expectNoReport(t)
	h.requests <- controlInterrogate
	h.expect(t, stopPending)
	close(release)
	if err := <-h.done; err == nil {
		t.Fatal("body error was not returned")
	}
}
