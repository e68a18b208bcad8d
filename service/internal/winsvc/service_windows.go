//go:build windows

package winsvc

import (
	"errors"
	"fmt"
	"log/slog"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
)

// Run connects to the SCM as service name and runs body under it, returning
// when the service has stopped. It returns body's error, or an error if the
// process was not started by the SCM (use foreground mode, without --service).
func Run(name string, body Body, log *slog.Logger) error {
	h := &handler{body: body, log: log}
	if err := svc.Run(name, h); err != nil {
		if errors.Is(err, windows.ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) {
			return fmt.Errorf("--service was given but this process was not started by the service control manager (run without --service to stay in the foreground): %w", err)
		}
		return fmt.Errorf("running as service %q failed: %w", name, err)
	}
	return h.err
}

type handler struct {
	body Body
	log  *slog.Logger
	err  error // body's result, read by Run after svc.Run returns
}

// Execute implements svc.Handler.
func (h *handler) Execute(_ []string, r <-chan svc.ChangeRequest, s chan<- svc.Status) (bool, uint32) {
	h.err = execute(h.body, r, classify, func(st status) { s <- toSvcStatus(st) }, h.log)
	if h.err != nil {
		return true, ExitCodeFailure
	}
	return false, 0
}

func classify(c svc.ChangeRequest) control {
	switch c.Cmd {
	case svc.Interrogate:
		return controlInterrogate
	case svc.Stop, svc.Shutdown:
		return controlStop
	}
	return controlOther
}

func toSvcStatus(st status) svc.Status {
	out := svc.Status{WaitHint: uint32(st.WaitHint.Milliseconds())}
	switch st.Phase {
	case phaseStartPending:
		out.State = svc.StartPending
	case phaseRunning:
		out.State = svc.Running
	case phaseStopPending:
		out.State = svc.StopPending
	}
	if st.AcceptsStop {
		out.Accepts = svc.AcceptStop | svc.AcceptShutdown
	}
	return out
}
