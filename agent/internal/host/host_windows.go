//go:build windows

package host

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"syscall"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"
)

// Windows is the real host: msiexec.exe and the service control manager.
type Windows struct{}

// Install runs msiexec.exe with a command line written the way msiexec parses it
// (PROPERTY="value with spaces"), not Go's default quoting of whole arguments.
func (Windows) Install(ctx context.Context, req InstallRequest) (int, error) {
	cmd := exec.CommandContext(ctx, "msiexec.exe")
	cmd.SysProcAttr = &syscall.SysProcAttr{CmdLine: MsiexecCommandLine(req)}
	err := cmd.Run()
	if exit, ok := err.(*exec.ExitError); ok {
		return exit.ExitCode(), nil
	}
	if err != nil {
		return -1, fmt.Errorf("running msiexec: %w", err)
	}
	return 0, nil
}

// ServiceRunning asks the service control manager.
func (Windows) ServiceRunning(name string) (bool, error) {
	m, err := mgr.Connect()
	if err != nil {
		return false, err
	}
	defer m.Disconnect()
	s, err := m.OpenService(name)
	if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer s.Close()
	status, err := s.Query()
	if err != nil {
		return false, err
	}
	return status.State == svc.Running, nil
}

// Default is the host the agent runs on.
func Default() Host { return Windows{} }
