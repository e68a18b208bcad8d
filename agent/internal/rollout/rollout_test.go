package rollout

import (
	"encoding/json"
	"os"
	"testing"

	"example.com/winrelease/agent/internal/trust"
)

func TestPlacesMatchTheSharedVectors(t *testing.T) {
	data, err := os.ReadFile("testdata/placement.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Vectors []struct {
			Product, Host string
			Place         uint32
		}
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Vectors) < 10 {
		t.Fatalf("only %d vectors", len(file.Vectors))
	}
	for _, v := range file.Vectors {
		if got := Place(v.Product, v.Host); got != v.Place {
			t.Errorf("Place(%q, %q) = %d, want %d", v.Product, v.Host, got, v.Place)
		}
	}
	if Place("P", "WEB-01") != Place("P", "web-01") {
		t.Error("host identity is case-insensitive")
	}
}

func TestWideningAStepKeepsTheCanaries(t *testing.T) {
	for _, host := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		place := Place("Hello Service", host)
		for percent := 1; percent < 100; percent++ {
			if InStep(place, percent) && !InStep(place, percent+1) {
				t.Fatalf("%s is in at %d%% but out at %d%%", host, percent, percent+1)
			}
		}
		if !InStep(place, 100) {
			t.Fatalf("%s is not in at 100%%", host)
		}
	}
}

func TestDesiredFollowsTheRollout(t *testing.T) {
	v1 := Want{"1.0.0", "11"}
	v2 := Want{"2.0.0", "22"}
	p := trust.Pointer{Version: v2.Version, ManifestSHA256: v2.ManifestSHA256,
		Rollout: &trust.Rollout{Previous: v1.Version, PreviousManifestSHA256: v1.ManifestSHA256, Percent: 25, State: "active"}}
	in, out := uint32(100), uint32(2600)
	cases := []struct {
		name  string
		place uint32
		host  Installed
		want  Want
	}{
		{"canary upgrades", in, Installed{Current: v1}, v2},
		{"others stay", out, Installed{Current: v1}, v1},
		{"new host outside the step gets previous", out, Installed{}, v1},
		{"a failed target is not retried", in, Installed{Current: v1, Failed: v2}, v1},
	}
	for _, c := range cases {
		if got := Desired(p, c.place, c.host); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	p.Rollout.State = "halted"
	if got := Desired(p, in, Installed{Current: v1}); got != v1 {
		t.Errorf("halted: a canary not yet upgraded stays, got %v", got)
	}
	if got := Desired(p, in, Installed{Current: v2}); got != v2 {
		t.Errorf("halted: an upgraded canary stays, got %v", got)
	}
	p.Rollout = nil
	if got := Desired(p, out, Installed{Current: v1}); got != v2 {
		t.Errorf("no rollout: everyone takes the pointer's version, got %v", got)
	}
}
