package trust

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"example.com/winrelease/agent/internal/atomicfile"
	"example.com/winrelease/agent/internal/minisign"
	"example.com/winrelease/agent/internal/source"
)

// Manifest is the part of manifest.json (src/manifest.rs) the agent uses.
type Manifest struct {
	SchemaVersion int        `json:"schema_version"`
	Product       string     `json:"product"`
	Version       string     `json:"version"`
	MsiVersion    string     `json:"msi_version"`
	Expires       string     `json:"expires"`
	Artifacts     []Artifact `json:"artifacts"`
}

// Artifact is one file of a release.
type Artifact struct {
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	Size      int64  `json:"size"`
	SHA256    string `json:"sha256"`
	Signature string `json:"signature"`
}

// Release is a verified release in the local cache.
type Release struct {
	Manifest       Manifest
	ManifestSHA256 string
	Dir            string
	// MSI and Transform are paths in Dir; Transform is empty when no site transform was asked.
	MSI, Transform string
}

const maxManifest = 4 << 20
const maxSignature = 16 << 10

// FetchRelease copies `version` of `product` from the store into `cacheDir/<version>/` and
// verifies it: the manifest's SHA-256 is the one the signed pointer names, its signature binds
// it, and the MSI (and the site's transform, `_<site>.mst`) match the manifest's size and
// SHA-256 and carry signatures binding name, product, version and hash. Nothing unverified is
// left under its final name.
func FetchRelease(src source.Source, keys []minisign.PublicKey, product, version, manifestSHA256, site, cacheDir string) (Release, error) {
	base := product + "/" + version + "/"
	data, err := source.ReadAll(src, base+"manifest.json", maxManifest)
	if err != nil {
		return Release{}, err
	}
	if got := Digest(data); got != manifestSHA256 {
		return Release{}, fmt.Errorf("%w: %s has SHA-256 %s, the signed pointer names %s", ErrContent, src.Where(base+"manifest.json"), got, manifestSHA256)
	}
	sigText, err := source.ReadAll(src, base+"manifest.json.minisig", maxSignature)
	if err != nil {
		return Release{}, err
	}
	binding, err := verifyBinding(keys, string(sigText), data, "manifest.json")
	if err != nil {
		return Release{}, err
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return Release{}, fmt.Errorf("%w: manifest.json: %v", ErrContent, err)
	}
	if m.SchemaVersion != 1 || m.Product != product || m.Version != version || binding.Product != product || binding.Version != version {
		return Release{}, fmt.Errorf("%w: manifest.json is of %s %s, expected %s %s", ErrContent, m.Product, m.Version, product, version)
	}
	dir := filepath.Join(cacheDir, version)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Release{}, err
	}
	rel := Release{Manifest: m, ManifestSHA256: manifestSHA256, Dir: dir}
	for _, a := range m.Artifacts {
		want := a.Kind == "msi" || (a.Kind == "transform" && site != "" && strings.HasSuffix(a.Name, "_"+site+".mst"))
		if !want {
			continue
		}
		p, err := fetchArtifact(src, keys, base, m, a, dir)
		if err != nil {
			return Release{}, err
		}
		if a.Kind == "msi" {
			rel.MSI = p
		} else {
			rel.Transform = p
		}
	}
	if rel.MSI == "" {
		return Release{}, fmt.Errorf("%w: release %s has no MSI", ErrContent, version)
	}
	if site != "" && rel.Transform == "" {
		return Release{}, fmt.Errorf("%w: release %s has no transform for site %q", ErrContent, version, site)
	}
	return rel, atomicfile.Write(filepath.Join(dir, "manifest.json"), data)
}

// CheckManifestExpiry refuses a release whose manifest expired at now.
func CheckManifestExpiry(m Manifest, now time.Time) error {
	expires, err := time.Parse(time.RFC3339, m.Expires)
	if err != nil || !now.Before(expires) {
		return fmt.Errorf("%w: manifest of %s expired at %s", ErrExpired, m.Version, m.Expires)
	}
	return nil
}

func fetchArtifact(src source.Source, keys []minisign.PublicKey, base string, m Manifest, a Artifact, dir string) (string, error) {
	if a.Name != path.Base(a.Name) || strings.ContainsAny(a.Name, `\/:`) || a.Signature != a.Name+".minisig" {
		return "", fmt.Errorf("%w: artifact name %q", ErrContent, a.Name)
	}
	sigText, err := source.ReadAll(src, base+a.Signature, maxSignature)
	if err != nil {
		return "", err
	}
	sig, err := minisign.ParseSignature(string(sigText))
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrSignature, a.Signature, err)
	}
	final := filepath.Join(dir, a.Name)
	tmp, err := os.CreateTemp(dir, ".download-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	size, sha, prehash, err := download(src, base+a.Name, tmp, a.Size)
	tmp.Close()
	if err != nil {
		return "", err
	}
	if size != a.Size || sha != a.SHA256 {
		return "", fmt.Errorf("%w: %s has %d bytes, SHA-256 %s; the manifest says %d bytes, %s", ErrContent, src.Where(base+a.Name), size, sha, a.Size, a.SHA256)
	}
	comment, err := minisign.VerifyPrehash(keys, sig, prehash)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrSignature, a.Name, err)
	}
	b, err := ParseBinding(comment)
	if err != nil || b.Product != m.Product || b.Version != m.Version || b.File != a.Name || b.SHA256 != sha {
		return "", fmt.Errorf("%w: the signature of %s does not bind this file, product and version", ErrSignature, a.Name)
	}
	return final, os.Rename(tmp.Name(), final)
}

// download copies a store file into w (at most limit bytes), hashing it on the way.
func download(src source.Source, key string, w io.Writer, limit int64) (int64, string, [64]byte, error) {
	r, err := src.Open(key)
	if err != nil {
		return 0, "", [64]byte{}, err
	}
	defer r.Close()
	sha := sha256.New()
	blake := minisign.NewHasher()
	n, err := io.Copy(io.MultiWriter(w, sha, blake), io.LimitReader(r, limit+1))
	if err != nil {
		return 0, "", [64]byte{}, fmt.Errorf("downloading %s: %w", src.Where(key), err)
	}
	return n, hex.EncodeToString(sha.Sum(nil)), blake.Sum(), nil
}
