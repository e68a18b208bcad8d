//go:build !windows

package host

import (
	"context"
	"errors"
)

// Unsupported is the host on systems without Windows Installer: it installs nothing.
type Unsupported struct{}

var errNotWindows = errors.New("installing MSIs needs Windows (msiexec and the service control manager)")

// Install always fails.
func (Unsupported) Install(context.Context, InstallRequest) (int, error) { return -1, errNotWindows }

// ServiceRunning always fails.
func (Unsupported) ServiceRunning(string) (bool, error) { return false, errNotWindows }

// Default is the host the agent runs on.
func Default() Host { return Unsupported{} }
