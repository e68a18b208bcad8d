// Package testsign signs like crates/minisig does, for the agent's own tests only (the agent
// itself never signs). The interop tests in ../../tests/agent_interop.rs check the agent
// against signatures the Rust side makes.
package testsign

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"

	"example.com/winrelease/agent/internal/minisign"
)

// Key is a signing key with its minisign id.
type Key struct {
	ID   minisign.KeyID
	Priv ed25519.PrivateKey
}

// New makes a key with the given id byte.
func New(id byte) Key {
	_, priv, _ := ed25519.GenerateKey(nil)
	return Key{ID: minisign.KeyID{id, 1, 2, 3, 4, 5, 6, 7}, Priv: priv}
}

// Public is the key as the agent pins it.
func (k Key) Public() minisign.PublicKey {
	return minisign.PublicKey{ID: k.ID, Key: k.Priv.Public().(ed25519.PublicKey)}
}

// PublicLine is the public key's base64 line.
func (k Key) PublicLine() string {
	raw := append(append([]byte("Ed"), k.ID[:]...), k.Priv.Public().(ed25519.PublicKey)...)
	return base64.StdEncoding.EncodeToString(raw)
}

// Sign makes a prehashed ("ED") .minisig text for data with the trusted comment.
func (k Key) Sign(data []byte, comment string) string {
	h := minisign.Blake2b512(data)
	sig := ed25519.Sign(k.Priv, h[:])
	global := ed25519.Sign(k.Priv, append(append([]byte(nil), sig...), comment...))
	structure := append(append([]byte("ED"), k.ID[:]...), sig...)
	return fmt.Sprintf("untrusted comment: test signature\n%s\ntrusted comment: %s\n%s\n",
		base64.StdEncoding.EncodeToString(structure), comment, base64.StdEncoding.EncodeToString(global))
}
