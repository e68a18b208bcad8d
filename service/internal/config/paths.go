package config

import (
	"errors"
	"strings"
)

// WindowsFallbackProgramData is used when the PROGRAMDATA environment
// variable is unset or not an absolute path.
const WindowsFallbackProgramData = `C:\ProgramData`

// WindowsConfigSubpath is the location of the config file below %ProgramData%.
const WindowsConfigSubpath = `Hello Service\config.json`

// ErrNoDefaultPath is returned by DefaultPath on systems without a standard
// config location; the caller must require --config instead.
var ErrNoDefaultPath = errors.New("no default config path on this operating system")

// WindowsDefaultPath returns the Windows default config path for the given
// value of %PROGRAMDATA%. It is a pure function (it uses backslashes whatever
// the host OS) so it can be tested anywhere. A value that is empty or not an
// absolute Windows path is ignored in favour of C:\ProgramData: a service
// starts in System32, so a relative path would land somewhere unexpected.
func WindowsDefaultPath(programData string) string {
	base := strings.TrimRight(programData, `\/`)
	if !isAbsWindowsPath(programData) || base == "" {
		base = WindowsFallbackProgramData
	}
	return base + `\` + WindowsConfigSubpath
}

// isAbsWindowsPath reports whether p is a drive-absolute (C:\...) or UNC
// (\\server\share) path.
func isAbsWindowsPath(p string) bool {
	if len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') {
		c := p[0] | 0x20
		return c >= 'a' && c <= 'z'
	}
	return strings.HasPrefix(p, `\\`) && len(p) > 2
}
