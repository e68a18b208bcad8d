// Package minisign verifies minisign signatures as crates/minisig writes them (and the
// minisign CLI does): public key = base64("Ed" ‖ key id (8) ‖ Ed25519 key (32)); signature =
// untrusted comment, base64("ED" ‖ key id ‖ Ed25519 signature of the BLAKE2b-512 hash of the
// data), "trusted comment: …", base64(Ed25519 signature of signature ‖ trusted comment).
// Legacy "Ed" signatures (Ed25519 over the data itself) verify too; nothing here signs.
package minisign

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

const (
	untrustedPrefix = "untrusted comment: "
	trustedPrefix   = "trusted comment: "
)

// KeyID is the 8-byte key id; it prints as minisign prints it (little-endian u64, upper hex).
type KeyID [8]byte

func (id KeyID) String() string {
	return fmt.Sprintf("%016X", binary.LittleEndian.Uint64(id[:]))
}

// PublicKey is a minisign public key.
type PublicKey struct {
	ID  KeyID
	Key ed25519.PublicKey
}

// Signature is a parsed .minisig file.
type Signature struct {
	Prehashed       bool
	KeyID           KeyID
	sig             [64]byte
	TrustedComment  string
	globalSignature [64]byte
}

// Errors a verification can end with; callers tell them apart with errors.Is.
var (
	ErrKeyMismatch     = errors.New("signed by another key")
	ErrBadSignature    = errors.New("the data does not match its signature")
	ErrBadGlobal       = errors.New("the trusted comment was changed after signing")
	ErrMalformed       = errors.New("not a minisign file")
	ErrLegacyNeedsData = errors.New("a legacy (Ed) signature needs the data, not its hash")
)

func lines(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.TrimSuffix(text, "\n")
	return strings.Split(text, "\n")
}

func decodeFixed(line string, n int, what string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(line))
	if err != nil || len(raw) != n {
		return nil, fmt.Errorf("%w: %s is not %d bytes of base64", ErrMalformed, what, n)
	}
	return raw, nil
}

// ParsePublicKey reads a public key file (comment line + key line) or a bare key line.
func ParsePublicKey(text string) (PublicKey, error) {
	ls := lines(strings.TrimSpace(text))
	line := ls[0]
	if strings.HasPrefix(line, untrustedPrefix) {
		if len(ls) < 2 {
			return PublicKey{}, fmt.Errorf("%w: public key file ends after its comment", ErrMalformed)
		}
		line = ls[1]
	}
	raw, err := decodeFixed(line, 42, "the public key line")
	if err != nil {
		return PublicKey{}, err
	}
	if raw[0] != 'E' || raw[1] != 'd' {
		return PublicKey{}, fmt.Errorf("%w: public key algorithm %q, expected \"Ed\"", ErrMalformed, raw[:2])
	}
	var pk PublicKey
	copy(pk.ID[:], raw[2:10])
	pk.Key = ed25519.PublicKey(append([]byte(nil), raw[10:]...))
	return pk, nil
}

// ParseSignature reads a .minisig text.
func ParseSignature(text string) (Signature, error) {
	ls := lines(text)
	if len(ls) != 4 {
		return Signature{}, fmt.Errorf("%w: a signature has 4 lines, found %d", ErrMalformed, len(ls))
	}
	if !strings.HasPrefix(ls[0], untrustedPrefix) {
		return Signature{}, fmt.Errorf("%w: line 1 is not an untrusted comment", ErrMalformed)
	}
	raw, err := decodeFixed(ls[1], 74, "the signature line")
	if err != nil {
		return Signature{}, err
	}
	var s Signature
	switch string(raw[:2]) {
	case "ED":
		s.Prehashed = true
	case "Ed":
	default:
		return Signature{}, fmt.Errorf("%w: signature algorithm %q", ErrMalformed, raw[:2])
	}
	copy(s.KeyID[:], raw[2:10])
	copy(s.sig[:], raw[10:])
	comment, ok := strings.CutPrefix(ls[2], trustedPrefix)
	if !ok {
		return Signature{}, fmt.Errorf("%w: line 3 is not a trusted comment", ErrMalformed)
	}
	s.TrustedComment = comment
	global, err := decodeFixed(ls[3], 64, "the global signature line")
	if err != nil {
		return Signature{}, err
	}
	copy(s.globalSignature[:], global)
	return s, nil
}

// Verify checks sig over data with the first key of keys whose id matches; it returns the
// trusted comment, which the global signature vouches for.
func Verify(keys []PublicKey, sig Signature, data []byte) (string, error) {
	if !sig.Prehashed {
		return verifyMessage(keys, sig, data)
	}
	h := Blake2b512(data)
	return verifyMessage(keys, sig, h[:])
}

// VerifyPrehash checks an "ED" signature against a BLAKE2b-512 hash computed with Hasher.
func VerifyPrehash(keys []PublicKey, sig Signature, prehash [64]byte) (string, error) {
	if !sig.Prehashed {
		return "", ErrLegacyNeedsData
	}
	return verifyMessage(keys, sig, prehash[:])
}

func verifyMessage(keys []PublicKey, sig Signature, message []byte) (string, error) {
	var key *PublicKey
	for i := range keys {
		if keys[i].ID == sig.KeyID {
			key = &keys[i]
			break
		}
	}
	if key == nil {
		return "", fmt.Errorf("%w: key %s is not pinned", ErrKeyMismatch, sig.KeyID)
	}
	if !ed25519.Verify(key.Key, message, sig.sig[:]) {
		return "", ErrBadSignature
	}
	global := bytes.Join([][]byte{sig.sig[:], []byte(sig.TrustedComment)}, nil)
	if !ed25519.Verify(key.Key, global, sig.globalSignature[:]) {
		return "", ErrBadGlobal
	}
	return sig.TrustedComment, nil
}
