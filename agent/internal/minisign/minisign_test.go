package minisign_test

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"example.com/winrelease/agent/internal/minisign"
	"example.com/winrelease/agent/internal/testsign"
)

func TestBlake2b512MatchesReferenceValues(t *testing.T) {
	long := make([]byte, 0, 768)
	for i := 0; i < 3; i++ {
		for b := 0; b < 256; b++ {
			long = append(long, byte(b))
		}
	}
	cases := map[string]string{
		"":                       "786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419d25e1031afee585313896444934eb04b903a685b1448b755d56f701afe9be2ce",
		"abc":                    "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923",
		strings.Repeat("x", 128): "082b91ea2e15d1556d2ceefdd5af5d64d31b4e01aff1959724578876293825b236ee8079173a0a38160d7d6685d6bca0bfb62c177b3599b8727d9173e2115b91",
		string(long):             "323e97a7a859ee63c9013debb0ca995811e73117a2f574723416e596ebc184e37a59b66d2f597df4a7c1b0d1d41a1a7f28774f46a6864d56c57b9d6c5f7302fb",
	}
	for in, want := range cases {
		got := minisign.Blake2b512([]byte(in))
		if hex.EncodeToString(got[:]) != want {
			t.Errorf("BLAKE2b-512 of %d bytes = %x, want %s", len(in), got, want)
		}
		// Fed in odd pieces, the same.
		h := minisign.NewHasher()
		for i := 0; i < len(in); i += 37 {
			h.Write([]byte(in[i:min(i+37, len(in))]))
		}
		if got := h.Sum(); hex.EncodeToString(got[:]) != want {
			t.Errorf("incremental BLAKE2b-512 of %d bytes differs", len(in))
		}
	}
}

func TestVerifyAcceptsGenuineAndRefusesChanges(t *testing.T) {
	signer := testsign.New(1)
	key, err := minisign.ParsePublicKey("untrusted comment: minisign public key\n" + signer.PublicLine() + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if key.ID.String() != "0706050403020101" {
		t.Errorf("key id prints as %s", key.ID)
	}
	data := []byte("release bytes")
	text := signer.Sign(data, "winrelease product=P version=1.0.0 file=f sha256=00")
	sig, err := minisign.ParseSignature(text)
	if err != nil {
		t.Fatal(err)
	}
	comment, err := minisign.Verify([]minisign.PublicKey{key}, sig, data)
	if err != nil || !strings.HasPrefix(comment, "winrelease product=P") {
		t.Fatalf("genuine signature: %q, %v", comment, err)
	}
	if _, err := minisign.Verify([]minisign.PublicKey{key}, sig, []byte("other bytes")); !errors.Is(err, minisign.ErrBadSignature) {
		t.Errorf("changed data: %v", err)
	}
	edited, _ := minisign.ParseSignature(strings.Replace(text, "version=1.0.0", "version=9.0.0", 1))
	if _, err := minisign.Verify([]minisign.PublicKey{key}, edited, data); !errors.Is(err, minisign.ErrBadGlobal) {
		t.Errorf("edited trusted comment: %v", err)
	}
	other := key
	other.ID = minisign.KeyID{9}
	if _, err := minisign.Verify([]minisign.PublicKey{other}, sig, data); !errors.Is(err, minisign.ErrKeyMismatch) {
		t.Errorf("other key: %v", err)
	}
	if _, err := minisign.ParseSignature("untrusted comment: x\nAAAA\n"); !errors.Is(err, minisign.ErrMalformed) {
		t.Errorf("truncated signature: %v", err)
	}
}
