// Package rollout decides which version a host takes from a channel pointer: a host's place
// in line is a stable hash of product and host identity, so the first few percent are always
// the same canaries and widening a step keeps them. src/rollout/placement.rs is the same
// function in Rust; both are tested against testdata/placement.json.
package rollout

import (
	"crypto/sha256"
	"encoding/binary"
	"strings"
)

// Slots is the number of places in line: a percent step is Slots/100 places.
const Slots = 10000

// Place is the host's place in line for product, in [0, Slots): the first 8 bytes of
// SHA-256("winrelease-rollout-v1\n" ‖ product ‖ "\n" ‖ ASCII-lowercase(host)) as a big-endian
// integer, modulo Slots.
func Place(product, host string) uint32 {
	sum := sha256.Sum256([]byte("winrelease-rollout-v1\n" + product + "\n" + asciiLower(host)))
	return uint32(binary.BigEndian.Uint64(sum[:8]) % Slots)
}

// InStep reports whether a host at place takes a rollout at percent.
func InStep(place uint32, percent int) bool {
	return int(place) < percent*(Slots/100)
}

func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}
