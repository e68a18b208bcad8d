package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// DefaultShutdownTimeout bounds how long in-flight requests may take to finish
// after a stop request. It must stay below the StopPending wait hint the
// Windows service reports (see package winsvc), or the SCM may give up first.
const DefaultShutdownTimeout = 15 * time.Second

// Listen binds a TCP listener on addr (host:port). It is separate from Run so
// that a service can report Running only after the port is really bound, and
// fail start-up (rolling back an installer) when it is not.
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s (is another program using this port, or is the address not assigned to this machine? change listen_port/bind_address in the config file): %w", addr, err)
	}
	return ln, nil
}

// Run serves h on ln until ctx is cancelled, then shuts down gracefully:
// the listener is closed at once (no new connections), and in-flight requests
// get up to shutdownTimeout to finish. It returns nil after a clean drain, an
// error if serving failed or if requests were still running at the deadline
// (those connections are then closed forcibly). Run always closes ln.
func Run(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger, shutdownTimeout time.Duration) error {
	srv := &http.Server{
		Handler: h,
		// Bounded header reads protect against slow-loris clients holding
		// connections (and therefore shutdown) open.
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	select {
	case err := <-serveErr:
		// Serve only returns early on a listener failure.
		return fmt.Errorf("serving on %s failed: %w", ln.Addr(), err)
	case <-ctx.Done():
	}

	log.Info("shutting down; waiting for in-flight requests", "timeout", shutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		<-serveErr
		return fmt.Errorf("graceful shutdown did not finish within %s; remaining connections were closed: %w", shutdownTimeout, err)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving on %s failed: %w", ln.Addr(), err)
	}
	log.Info("stopped")
	return nil
}
