// Package app is the hellosvc command line: flag parsing and the three modes
// (seed a config file, run in the foreground, run as a Windows service).
package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"example.com/hellosvc/internal/config"
	"example.com/hellosvc/internal/logging"
	"example.com/hellosvc/internal/server"
	"example.com/hellosvc/internal/winsvc"
)

// Exit codes of the hellosvc process.
const (
	ExitOK      = 0
	ExitFailure = 1 // config error, port in use, service failure
	ExitUsage   = 2 // bad command line
)

// DefaultServiceName is the default of --name.
const DefaultServiceName = "HelloSvc"

// Main runs hellosvc with the given arguments (without the program name) and
// returns the process exit code. In the foreground, SIGINT/SIGTERM (Ctrl+C,
// console close) start a graceful shutdown; a second signal kills at once.
func Main(args []string, stdout, stderr io.Writer, info server.BuildInfo) int {
	return run(args, env{
		stdout:            stdout,
		stderr:            stderr,
		info:              info,
		foregroundContext: signalContext,
		shutdownTimeout:   server.DefaultShutdownTimeout,
	})
}

// signalContext is cancelled by SIGINT or SIGTERM. It is used only in the
// foreground: a service must not react to console events such as the
// CTRL_LOGOFF_EVENT Windows sends to services when any user logs off.
func signalContext() (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // restore default handling, so a second Ctrl+C kills immediately
	}()
	return ctx, stop
}

// env holds what Main injects, so tests can substitute a cancellable context
// and wrap the handler.
type env struct {
	stdout, stderr    io.Writer
	info              server.BuildInfo
	foregroundContext func() (context.Context, context.CancelFunc)
	shutdownTimeout   time.Duration
	// wrapHandler, if set, wraps the HTTP handler (tests add slow routes).
	wrapHandler func(http.Handler) http.Handler
}

// setFlag collects repeated --set key=value flags.
type setFlag []string

func (s *setFlag) String() string     { return strings.Join(*s, ",") }
func (s *setFlag) Set(v string) error { *s = append(*s, v); return nil }

type options struct {
	service     bool
	name        string
	configPath  string
	seedConfig  string
	seedIfSHA   string
	sets        setFlag
	showVersion bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("hellosvc", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&o.service, "service", false, "run under the Windows service control manager (without it, always run in the foreground)")
	fs.StringVar(&o.name, "name", DefaultServiceName, "service name, also the Event Log source")
	fs.StringVar(&o.configPath, "config", "", `absolute path of the JSON config file (default on Windows: %ProgramData%\Hello Service\config.json; required elsewhere)`)
	fs.StringVar(&o.seedConfig, "seed-config", "", "create or update the config file at this absolute path with the --set values, then exit")
	fs.StringVar(&o.seedIfSHA, "seed-only-if-sha256", "", "with --seed-config: change the file only if it is missing or its SHA-256 is this hex digest (the installer's pristine default), so an admin's edited config is never overwritten")
	fs.Var(&o.sets, "set", "key=value to apply with --seed-config (repeatable; keys: "+strings.Join(config.Keys, ", ")+"; an empty value leaves the key as is)")
	fs.BoolVar(&o.showVersion, "version", false, "print version information and exit")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage:\n  hellosvc [--config PATH] [--service] [--name NAME]\n  hellosvc --seed-config PATH [--set key=value ...]\n  hellosvc --version\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q (all options are flags, e.g. --config PATH)", fs.Arg(0))
	}
	if err := checkServiceName(o.name); err != nil {
		return o, err
	}
	if o.seedConfig != "" {
		if o.service {
			return o, errors.New("--seed-config cannot be combined with --service (seeding writes the file and exits)")
		}
		if o.configPath != "" {
			return o, errors.New("--seed-config cannot be combined with --config (--seed-config names the file to write)")
		}
	} else if len(o.sets) > 0 {
		return o, errors.New("--set is only valid together with --seed-config PATH")
	} else if o.seedIfSHA != "" {
		return o, errors.New("--seed-only-if-sha256 is only valid together with --seed-config PATH")
	}
	return o, nil
}

// checkServiceName rejects names the SCM and the Event Log do not accept.
func checkServiceName(name string) error {
	if name == "" || len(name) > 256 || strings.ContainsAny(name, `/\`) {
		return fmt.Errorf("--name %q is not a valid service name: use 1 to 256 characters without / or \\", name)
	}
	return nil
}

// requireAbs rejects relative paths: a service starts in System32, so a path
// relative to the working directory would silently point somewhere else.
func requireAbs(flagName, path string) error {
	if !filepath.IsAbs(path) {
		return fmt.Errorf("%s %s must be an absolute path (the working directory of a service is System32, so relative paths are not used)", flagName, config.QuotePath(path))
	}
	return nil
}

func run(args []string, e env) int {
	o, err := parseFlags(args, e.stderr)
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "hellosvc: %v\n", err)
		return ExitUsage
	}

	if o.showVersion {
		fmt.Fprintf(e.stdout, "hellosvc %s commit=%s commit_time=%s dirty=%t go=%s\n",
			e.info.Version, e.info.Commit, e.info.CommitTime, e.info.Dirty, e.info.GoVersion)
		return ExitOK
	}

	if o.seedConfig != "" {
		return seed(o, e)
	}

	path := o.configPath
	if path == "" {
		path, err = config.DefaultPath()
		if errors.Is(err, config.ErrNoDefaultPath) {
			fmt.Fprintf(e.stderr, "hellosvc: --config PATH is required on %s (the default %%ProgramData%%\\Hello Service\\config.json exists only on Windows)\n", runtime.GOOS)
			return ExitUsage
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "hellosvc: %v\n", err)
			return ExitFailure
		}
	}
	if err := requireAbs("--config", path); err != nil {
		fmt.Fprintf(e.stderr, "hellosvc: %v\n", err)
		return ExitUsage
	}

	if o.service {
		return runService(o.name, path, e)
	}
	return runForeground(path, e)
}

func seed(o options, e env) int {
	if err := requireAbs("--seed-config", o.seedConfig); err != nil {
		fmt.Fprintf(e.stderr, "hellosvc: %v\n", err)
		return ExitUsage
	}
	if o.seedIfSHA != "" {
		edited, err := editedSince(o.seedConfig, o.seedIfSHA)
		if err != nil {
			fmt.Fprintf(e.stderr, "hellosvc: cannot seed %s: %v\n", config.QuotePath(o.seedConfig), err)
			return ExitFailure
		}
		if edited {
			fmt.Fprintf(e.stdout, "hellosvc: %s was edited since it was installed; leaving it as is\n", o.seedConfig)
			return ExitOK
		}
	}
	if _, err := config.Seed(o.seedConfig, o.sets); err != nil {
		fmt.Fprintf(e.stderr, "hellosvc: cannot seed %s: %v\n", config.QuotePath(o.seedConfig), err)
		return ExitFailure
	}
	fmt.Fprintf(e.stdout, "hellosvc: wrote %s\n", o.seedConfig)
	return ExitOK
}

// editedSince reports whether the file at path exists and no longer has the given SHA-256
// (hex). A missing file is not edited: seeding creates it.
func editedSince(path, wantHex string) (bool, error) {
	want, err := hex.DecodeString(strings.TrimSpace(wantHex))
	if err != nil || len(want) != sha256.Size {
		return false, fmt.Errorf("--seed-only-if-sha256 %q is not a hex SHA-256 digest", wantHex)
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	got := sha256.Sum256(data)
	return !bytes.Equal(got[:], want), nil
}

func runForeground(path string, e env) int {
	level := new(slog.LevelVar)
	log := logging.NewText(e.stderr, level)
	cfg, err := loadConfig(path, level)
	if err != nil {
		fmt.Fprintf(e.stderr, "hellosvc: %v\n", err)
		return ExitFailure
	}
	ctx, stop := e.foregroundContext()
	defer stop()
	if err := serve(ctx, cfg, log, func() {}, e); err != nil {
		fmt.Fprintf(e.stderr, "hellosvc: %v\n", err)
		return ExitFailure
	}
	return ExitOK
}

func runService(name, path string, e env) int {
	level := new(slog.LevelVar)
	var log *slog.Logger
	if el, err := winsvc.OpenEventLog(name); err != nil {
		// Logging must never stop the service; stderr is the last resort.
		log = logging.NewText(e.stderr, level)
		log.Warn("Event Log unavailable; logging to stderr", "error", err)
	} else {
		defer el.Close()
		log = logging.NewSink(el, level)
	}

	if err := winsvc.Run(name, serviceBody(path, level, log, e), log); err != nil {
		fmt.Fprintf(e.stderr, "hellosvc: %v\n", err)
		return ExitFailure
	}
	return ExitOK
}

// serviceBody is the work done under the SCM: load the config, bind, report
// ready (Running) only once bound, serve until stopped. Failures are logged
// (to the Event Log) and returned, so the SCM sees a service-specific error.
func serviceBody(path string, level *slog.LevelVar, log *slog.Logger, e env) winsvc.Body {
	return func(ctx context.Context, ready func()) error {
		cfg, err := loadConfig(path, level)
		if err != nil {
			log.Error("cannot start: bad configuration", "error", err)
			return err
		}
		if err := serve(ctx, cfg, log, ready, e); err != nil {
			log.Error("service failed", "error", err)
			return err
		}
		return nil
	}
}

// loadConfig loads the config file and applies its log level to level.
func loadConfig(path string, level *slog.LevelVar) (config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return cfg, err
	}
	l, err := logging.ParseLevel(cfg.LogLevel)
	if err != nil { // unreachable after Load's validation; kept as a guard
		return cfg, err
	}
	level.Set(l)
	return cfg, nil
}

// serve binds the listener first, reports ready only once bound, then serves
// until ctx is cancelled and drains in-flight requests.
func serve(ctx context.Context, cfg config.Config, log *slog.Logger, ready func(), e env) error {
	ln, err := server.Listen(cfg.ListenAddr())
	if err != nil {
		return err
	}
	log.Info("listening", "address", cfg.ListenAddr(), "site_name", cfg.SiteName, "version", e.info.Version, "commit", e.info.Commit)
	ready()
	h := server.NewHandler(cfg, e.info, log)
	if e.wrapHandler != nil {
		h = e.wrapHandler(h)
	}
	return server.Run(ctx, ln, h, log, e.shutdownTimeout)
}
