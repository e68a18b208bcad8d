// Package atomicfile writes a file so that readers see the old content or the new, never
// part of it: a temporary file in the same folder, fsynced, renamed over the target.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write replaces path with data.
func Write(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
