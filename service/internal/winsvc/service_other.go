//go:build !windows

package winsvc

import "log/slog"

// Run returns ErrUnsupported: there is no service control manager here.
func Run(name string, body Body, log *slog.Logger) error {
	return ErrUnsupported
}
