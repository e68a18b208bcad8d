package config

import (
	"runtime"
	"testing"
)

func TestWindowsDefaultPath(t *testing.T) {
	cases := map[string]string{
		`C:\ProgramData`:      `C:\ProgramData\Hello Service\config.json`,
		`D:\Data\`:            `D:\Data\Hello Service\config.json`,
		`\\srv\share\pd`:      `\\srv\share\pd\Hello Service\config.json`,
		``:                    `C:\ProgramData\Hello Service\config.json`,
		`ProgramData`:         `C:\ProgramData\Hello Service\config.json`, // relative: ignored
		`\ProgramData`:        `C:\ProgramData\Hello Service\config.json`, // no drive: ignored
		`C:ProgramData`:       `C:\ProgramData\Hello Service\config.json`, // drive-relative: ignored
		`e:/odd/but/absolute`: `e:/odd/but/absolute\Hello Service\config.json`,
	}
	for in, want := range cases {
		if got := WindowsDefaultPath(in); got != want {
			t.Errorf("WindowsDefaultPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDefaultPathOnThisOS(t *testing.T) {
	p, err := DefaultPath()
	if runtime.GOOS == "windows" {
		if err != nil || p == "" {
			t.Fatalf("DefaultPath() = %q, %v", p, err)
		}
		return
	}
	if err != ErrNoDefaultPath {
		t.Fatalf("DefaultPath() on %s = %q, %v; want ErrNoDefaultPath", runtime.GOOS, p, err)
	}
}
