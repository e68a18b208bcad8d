package trust

import (
	"fmt"
	"strconv"
	"strings"
)

// Semver is a parsed SemVer 2.0 version; build metadata is kept but ignored by Compare.
type Semver struct {
	Major, Minor, Patch uint64
	Pre                 []string
	Text                string
}

// ParseSemver parses MAJOR.MINOR.PATCH[-PRE][+BUILD].
func ParseSemver(text string) (Semver, error) {
	core, _, _ := strings.Cut(text, "+")
	core, pre, hasPre := strings.Cut(core, "-")
	parts := strings.Split(core, ".")
	bad := fmt.Errorf("version %q is not SemVer", text)
	if len(parts) != 3 || (hasPre && pre == "") {
		return Semver{}, bad
	}
	var nums [3]uint64
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil || (len(p) > 1 && p[0] == '0') {
			return Semver{}, bad
		}
		nums[i] = n
	}
	v := Semver{Major: nums[0], Minor: nums[1], Patch: nums[2], Text: text}
	if hasPre {
		v.Pre = strings.Split(pre, ".")
	}
	return v, nil
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Compare orders by SemVer precedence: -1, 0 or 1.
func (v Semver) Compare(w Semver) int {
	for _, c := range []int{cmpUint(v.Major, w.Major), cmpUint(v.Minor, w.Minor), cmpUint(v.Patch, w.Patch)} {
		if c != 0 {
			return c
		}
	}
	switch {
	case len(v.Pre) == 0 && len(w.Pre) == 0:
		return 0
	case len(v.Pre) == 0:
		return 1
	case len(w.Pre) == 0:
		return -1
	}
	for i := 0; i < len(v.Pre) && i < len(w.Pre); i++ {
		a, errA := strconv.ParseUint(v.Pre[i], 10, 64)
		b, errB := strconv.ParseUint(w.Pre[i], 10, 64)
		var c int
		switch {
		case errA == nil && errB == nil:
			c = cmpUint(a, b)
		case errA == nil:
			c = -1
		case errB == nil:
			c = 1
		default:
			c = strings.Compare(v.Pre[i], w.Pre[i])
		}
		if c != 0 {
			return c
		}
	}
	return cmpUint(uint64(len(v.Pre)), uint64(len(w.Pre)))
}

// Older reports whether version a precedes version b (both must parse).
func Older(a, b string) bool {
	va, errA := ParseSemver(a)
	vb, errB := ParseSemver(b)
	return errA == nil && errB == nil && va.Compare(vb) < 0
}
