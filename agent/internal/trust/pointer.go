package trust

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"example.com/winrelease/agent/internal/minisign"
)

// Pointer is `<product>/channels/<channel>.json`'s signed content (src/publish/docs.rs).
type Pointer struct {
	SchemaVersion  int      `json:"schema_version"`
	Product        string   `json:"product"`
	Channel        string   `json:"channel"`
	Version        string   `json:"version"`
	ManifestSHA256 string   `json:"manifest_sha256"`
	Sequence       uint64   `json:"sequence"`
	Expires        string   `json:"expires"`
	RollbackFrom   string   `json:"rollback_from,omitempty"`
	Rollout        *Rollout `json:"rollout,omitempty"`
}

// Rollout is a staged rollout of Version: hosts whose place in line is below Percent take
// it, the others stay on Previous.
type Rollout struct {
	Previous               string `json:"previous"`
	PreviousManifestSHA256 string `json:"previous_manifest_sha256"`
	Percent                int    `json:"percent"`
	Steps                  []int  `json:"steps"`
	MaxFailures            int    `json:"max_failures"`
	// "active" or "halted" (a halted rollout moves no host forward).
	State string `json:"state"`
}

// Refusal kinds, for errors.Is and the status report.
var (
	ErrSignature = errors.New("signature refused")
	ErrExpired   = errors.New("expired")
	ErrReplay    = errors.New("replayed or frozen pointer")
	ErrContent   = errors.New("content refused")
)

// OpenPointer verifies pointer bytes with the pinned keys: the signature over the canonical
// JSON of `signed`, its binding (product, version, file channels/<channel>.json, SHA-256),
// the schema and the names. It does not check expiry or sequence (see CheckFresh).
func OpenPointer(data []byte, keys []minisign.PublicKey, product, channel string) (Pointer, error) {
	v, err := DecodeJSON(data)
	if err != nil {
		return Pointer{}, fmt.Errorf("%w: pointer is not valid JSON (%v)", ErrContent, err)
	}
	envelope, ok := v.(map[string]any)
	if !ok || len(envelope) != 2 || envelope["signed"] == nil || envelope["signature"] == nil {
		return Pointer{}, fmt.Errorf("%w: pointer must have exactly the fields `signed` and `signature`", ErrContent)
	}
	sigText, ok := envelope["signature"].(string)
	if !ok {
		return Pointer{}, fmt.Errorf("%w: `signature` is not a string", ErrContent)
	}
	payload, err := Canonical(envelope["signed"])
	if err != nil {
		return Pointer{}, fmt.Errorf("%w: `signed` is not canonical JSON (%v)", ErrContent, err)
	}
	file := "channels/" + channel + ".json"
	binding, err := verifyBinding(keys, sigText, []byte(payload), file)
	if err != nil {
		return Pointer{}, err
	}
	var p Pointer
	dec := json.NewDecoder(bytes.NewReader([]byte(payload)))
	dec.DisallowUnknownFields() // a field this agent does not know could change what it must do
	if err := dec.Decode(&p); err != nil {
		return Pointer{}, fmt.Errorf("%w: pointer content: %v", ErrContent, err)
	}
	if err := p.validate(product, channel); err != nil {
		return Pointer{}, fmt.Errorf("%w: pointer %v", ErrContent, err)
	}
	if binding.Product != product || binding.Version != p.Version {
		return Pointer{}, fmt.Errorf("%w: pointer signature is for %s %s, not for its content", ErrSignature, binding.Product, binding.Version)
	}
	return p, nil
}

// verifyBinding checks a signature over data and that its trusted comment binds file and the
// data's SHA-256.
func verifyBinding(keys []minisign.PublicKey, sigText string, data []byte, file string) (Binding, error) {
	sig, err := minisign.ParseSignature(sigText)
	if err != nil {
		return Binding{}, fmt.Errorf("%w: %s: %v", ErrSignature, file, err)
	}
	comment, err := minisign.Verify(keys, sig, data)
	if err != nil {
		return Binding{}, fmt.Errorf("%w: %s: %v", ErrSignature, file, err)
	}
	binding, err := ParseBinding(comment)
	if err != nil {
		return Binding{}, fmt.Errorf("%w: %s: %v", ErrSignature, file, err)
	}
	sum := sha256.Sum256(data)
	if binding.File != file {
		return Binding{}, fmt.Errorf("%w: carries the signature of %q, not of %q", ErrSignature, binding.File, file)
	}
	if binding.SHA256 != hex.EncodeToString(sum[:]) {
		return Binding{}, fmt.Errorf("%w: %s: the signature binds other content", ErrSignature, file)
	}
	return binding, nil
}

func (p *Pointer) validate(product, channel string) error {
	if p.SchemaVersion != 1 {
		return fmt.Errorf("has schema_version %d, this agent reads 1", p.SchemaVersion)
	}
	if p.Product != product || p.Channel != channel {
		return fmt.Errorf("is for %s channel %s, expected %s channel %s", p.Product, p.Channel, product, channel)
	}
	if _, err := ParseSemver(p.Version); err != nil {
		return err
	}
	if !isSHA256Hex(p.ManifestSHA256) || p.Sequence == 0 {
		return fmt.Errorf("has a bad manifest_sha256 or sequence 0")
	}
	if _, err := time.Parse(time.RFC3339, p.Expires); err != nil {
		return fmt.Errorf("expires %q is not RFC 3339", p.Expires)
	}
	if r := p.Rollout; r != nil {
		if _, err := ParseSemver(r.Previous); err != nil || !isSHA256Hex(r.PreviousManifestSHA256) {
			return fmt.Errorf("rollout has a bad previous version or manifest_sha256")
		}
		if r.Percent < 1 || r.Percent > 100 || (r.State != "active" && r.State != "halted") {
			return fmt.Errorf("rollout has percent %d, state %q", r.Percent, r.State)
		}
	}
	return nil
}

// CheckFresh refuses a pointer that expired at now, or whose sequence is below the highest
// seen (a replay); the same sequence must carry the same content (digest of its `signed`).
func CheckFresh(p Pointer, now time.Time, highestSeen uint64, seenDigest, digest string) error {
	expires, _ := time.Parse(time.RFC3339, p.Expires)
	if !now.Before(expires) {
		return fmt.Errorf("%w: pointer of %s %s expired at %s (now %s): the publisher must re-promote",
			ErrExpired, p.Product, p.Channel, p.Expires, now.UTC().Format(time.RFC3339))
	}
	if p.Sequence < highestSeen {
		return fmt.Errorf("%w: pointer has sequence %d, but this host has seen sequence %d", ErrReplay, p.Sequence, highestSeen)
	}
	if p.Sequence == highestSeen && seenDigest != "" && seenDigest != digest {
		return fmt.Errorf("%w: pointer has sequence %d with other content than the one seen", ErrReplay, p.Sequence)
	}
	return nil
}

// Digest is the SHA-256 of data, hex.
func Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
