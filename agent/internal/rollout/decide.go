package rollout

import "example.com/winrelease/agent/internal/trust"

// Want is a version and the SHA-256 of its manifest.
type Want struct {
	Version, ManifestSHA256 string
}

// Installed is what the host runs now (empty Version: nothing installed by the agent yet),
// and the target it already failed and rolled back from (not tried again).
type Installed struct {
	Current Want
	Failed  Want
}

// Desired is the version this host should run under pointer p.
//
//   - No rollout: the pointer's version (a signed rollback included).
//   - Active rollout: hosts in line take the target; the others stay on (or go to) previous.
//   - Halted rollout: no host moves forward; hosts already on the target stay.
//   - A target this host failed (and rolled back from) is not taken again: previous.
func Desired(p trust.Pointer, place uint32, host Installed) Want {
	target := Want{p.Version, p.ManifestSHA256}
	r := p.Rollout
	if r == nil {
		return target
	}
	previous := Want{r.Previous, r.PreviousManifestSHA256}
	switch {
	case host.Failed == target:
		return previous
	case r.State == "halted" && host.Current == target:
		return target
	case r.State == "halted":
		return previous
	case InStep(place, r.Percent):
		return target
	default:
		return previous
	}
}
