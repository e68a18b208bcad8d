package server

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

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

// slowHandler answers /slow only after release is closed, and signals
// entered when the request has arrived.
func slowHandler(entered chan<- struct{}, release <-chan struct{}) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "finished")
	})
	return mux
}

func TestListenFailureNamesAddress(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	addr := taken.Addr().String()

	ln, err := Listen(addr)
	if err == nil {
		ln.Close()
		t.Fatalf("second Listen on %s succeeded", addr)
	}
	if !strings.Contains(err.Error(), "cannot listen on "+addr) {
		t.Fatalf("error does not name the address %s: %v", addr, err)
	}
}

func TestGracefulShutdownWaitsForInFlightRequest(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	entered, release := make(chan struct{}), make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- Run(ctx, ln, slowHandler(entered, release), discardLogger(), 5*time.Second) }()

	type result struct {
		body string
		err  error
	}
	reqDone := make(chan result, 1)
	go func() {
		resp, err := testClient.Get("http://" + addr + "/slow")
		if err != nil {
			reqDone <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		reqDone <- result{string(b), err}
	}()
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("slow request never reached the handler")
	}

	cancel() // shutdown starts while /slow is in flight

	// The listener closes promptly: new connections are refused...
	deadline := time.Now().Add(2 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("listener still accepting connections after shutdown started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// ...but Run waits for the in-flight request.
	select {
	case err := <-runDone:
		t.Fatalf("Run returned (%v) before the in-flight request finished", err)
	case <-time.After(100 * time.Millisecond):
	}

	close(release)
	res := within(t, reqDone, "the in-flight request")
	if res.err != nil || res.body != "finished" {
		t.Fatalf("in-flight request: body %q, err %v", res.body, res.err)
	}
	select {
	case err := <-runDone:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the last request finished")
	}
}

func TestShutdownDeadlineForcesClose(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	entered, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- Run(ctx, ln, slowHandler(entered, release), discardLogger(), 150*time.Millisecond) }()

	go func() {
		resp, err := testClient.Get("http://" + addr + "/slow")
		if err == nil {
			resp.Body.Close()
		}
	}()
	within(t, entered, "the slow request to arrive")
	start := time.Now()
	cancel()
	select {
	case err := <-runDone:
		if err == nil || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "150ms") {
			t.Fatalf("Run: got %v, want a deadline error naming 150ms", err)
		}
		if d := time.Since(start); d < 150*time.Millisecond {
			t.Fatalf("Run gave up after %v, before the 150ms deadline", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not give up at the shutdown deadline")
	}
}

func TestRunServesHandler(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- Run(ctx, ln, testHandler(), discardLogger(), time.Second) }()
	resp, err := testClient.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "ok" {
		t.Fatalf("status %d body %q", resp.StatusCode, b)
	}
	cancel()
	if err := within(t, runDone, "Run to return"); err != nil {
		t.Fatal(err)
	}
}
