// Package winsvc runs hellosvc under the Windows service control manager (SCM)
// and logs to the Windows Event Log. On other systems it compiles to stubs
// returning ErrUnsupported, so the rest of the program builds everywhere.
//
// The status sequence is kept in a platform-neutral state machine (execute) so
// that it can be tested on Linux; the Windows file only adapts svc types to it.
package winsvc

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

const (
	// StartWaitHint is reported with StartPending: loading the config and
	// binding the port takes milliseconds, so this is generous.
	StartWaitHint = 10 * time.Second
	// StopWaitHint is reported with StopPending. It must exceed the HTTP
	// shutdown deadline (server.DefaultShutdownTimeout, 15 s) so the SCM
	// waits for in-flight requests to finish.
	StopWaitHint = 20 * time.Second
	// ExitCodeFailure is the service-specific exit code reported to the SCM
	// when the service body fails (bad config, port already in use, ...).
	// A non-zero code makes "net start"/an installer's StartServices fail.
	ExitCodeFailure uint32 = 1
)

// ErrUnsupported is returned on systems without a service control manager.
var ErrUnsupported = errors.New("running as a Windows service is only supported on Windows")

// Body is the work of the service. It must bind its listener, then call
// ready (the service is reported Running only then), serve until ctx is
// cancelled (on Stop/Shutdown) and return. A non-nil error, returned before
// or after ready, stops the service with ExitCodeFailure.
type Body func(ctx context.Context, ready func()) error

type phase int

const (
	phaseStartPending phase = iota + 1
	phaseRunning
	phaseStopPending
)

func (p phase) String() string {
	switch p {
	case phaseStartPending:
		return "StartPending"
	case phaseRunning:
		return "Running"
	case phaseStopPending:
		return "StopPending"
	}
	return "unknown"
}

// status is what the service reports to the SCM.
type status struct {
	Phase       phase
	WaitHint    time.Duration
	AcceptsStop bool // accepts Stop and Shutdown
}

// control is a request from the SCM, reduced to what the service acts on.
type control int

const (
	controlOther control = iota
	controlInterrogate
	controlStop // Stop or Shutdown
)

// execute drives the service lifecycle: report StartPending, run body, report
// Running once body signals ready, and on a stop request report StopPending
// and cancel body's context. It returns body's error once body returns.
// classify maps platform requests to controls; report must deliver a status.
func execute[R any](body Body, requests <-chan R, classify func(R) control, report func(status), log *slog.Logger) error {
	current := status{Phase: phaseStartPending, WaitHint: StartWaitHint}
	report(current)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	readyCh := make(chan struct{})
	var readyOnce sync.Once
	done := make(chan error, 1)
	go func() {
		done <- body(ctx, func() { readyOnce.Do(func() { close(readyCh) }) })
	}()

	ready := (<-chan struct{})(readyCh)
	for {
		select {
		case <-ready:
			ready = nil // fires once
			if current.Phase == phaseStartPending {
				current = status{Phase: phaseRunning, AcceptsStop: true}
				report(current)
			}
		case req := <-requests:
			switch classify(req) {
			case controlInterrogate:
				report(current)
			case controlStop:
				if current.Phase != phaseStopPending {
					log.Info("stop requested by the service control manager")
					current = status{Phase: phaseStopPending, WaitHint: StopWaitHint}
					report(current)
					cancel()
				}
			}
		case err := <-done:
			return err
		}
	}
}
