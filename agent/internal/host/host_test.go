package host

import (
	"reflect"
	"testing"
)

func TestMsiexecCommandLine(t *testing.T) {
	got := MsiexecArgs(InstallRequest{MSI: `C:\cache\2.0.0\hellosvc_2.0.0_x64.msi`, Transform: `C:\cache\2.0.0\hellosvc_2.0.0_x64_berlin.mst`,
		Log: `C:\logs\2.0.0.log`, Properties: map[string]string{"WINRELEASE_ALLOW_DOWNGRADE": "1", "REINSTALLMODE": "amus"}})
	want := []string{"/i", `C:\cache\2.0.0\hellosvc_2.0.0_x64.msi`, "/qn", "/l*v", `C:\logs\2.0.0.log`,
		`TRANSFORMS=C:\cache\2.0.0\hellosvc_2.0.0_x64_berlin.mst`, "REINSTALLMODE=amus", "WINRELEASE_ALLOW_DOWNGRADE=1"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q", got)
	}
	line := MsiexecCommandLine(InstallRequest{MSI: `C:\Program Data\a.msi`, Log: `C:\l.log`, Properties: map[string]string{"SITE_NAME": `Ber "lin"`}})
	if line != `msiexec.exe /i "C:\Program Data\a.msi" /qn /l*v "C:\l.log" SITE_NAME="Ber ""lin"""` {
		t.Fatalf("command line %s", line)
	}
}
