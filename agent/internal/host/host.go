// Package host is what the agent does to the machine, behind one small interface so that
// the agent's logic runs (and is tested) anywhere: Windows Installer (msiexec) and the
// service control manager on Windows, fakes in tests.
package host

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// Host installs packages and reports service states.
type Host interface {
	// Install runs `msiexec /i MSI /qn /l*v LOG [TRANSFORMS=MST] [NAME=VALUE…]` and returns
	// msiexec's exit code (0 and 3010 mean installed).
	Install(ctx context.Context, req InstallRequest) (int, error)
	// ServiceRunning reports whether the named service is in the Running state.
	ServiceRunning(name string) (bool, error)
}

// InstallRequest is one msiexec run.
type InstallRequest struct {
	MSI, Transform, Log string
	Properties          map[string]string
}

// MsiexecArgs is msiexec's command line for req (properties sorted by name).
func MsiexecArgs(req InstallRequest) []string {
	args := []string{"/i", req.MSI, "/qn", "/l*v", req.Log}
	if req.Transform != "" {
		args = append(args, "TRANSFORMS="+req.Transform)
	}
	names := make([]string, 0, len(req.Properties))
	for name := range req.Properties {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		args = append(args, fmt.Sprintf("%s=%s", name, req.Properties[name]))
	}
	return args
}

// MsiexecCommandLine is the whole msiexec.exe command line: paths in double quotes, each
// property as NAME="value" (msiexec's own syntax; a quote inside a value is doubled).
func MsiexecCommandLine(req InstallRequest) string {
	quote := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
	line := []string{"msiexec.exe", "/i", quote(req.MSI), "/qn", "/l*v", quote(req.Log)}
	for _, arg := range MsiexecArgs(req)[5:] {
		name, value, _ := strings.Cut(arg, "=")
		line = append(line, name+"="+quote(value))
	}
	return strings.Join(line, " ")
}
