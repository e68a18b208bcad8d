//go:build windows

package config

import "os"

// DefaultPath returns %ProgramData%\Hello Service\config.json, falling back
// to C:\ProgramData when PROGRAMDATA is unset or not absolute.
func DefaultPath() (string, error) {
	return WindowsDefaultPath(os.Getenv("PROGRAMDATA")), nil
}
