package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Seed implements --seed-config: it loads the file at path if it exists
// (otherwise starts from Defaults), applies each "key=value" assignment in
// order, validates the result and writes it back atomically. An assignment
// with an empty value leaves that key unchanged, so an installer can pass
// every property through whether or not the user set it. Nothing is written
// when any assignment is invalid.
func Seed(path string, assignments []string) (Config, error) {
	cfg, err := Load(path)
	if errors.Is(err, ErrNotFound) {
		cfg, err = Defaults(), nil
	}
	if err != nil {
		return Config{}, err
	}
	for _, a := range assignments {
		key, value, ok := strings.Cut(a, "=")
		if !ok {
			return Config{}, fmt.Errorf("--set %q: expected key=value with key one of %s", a, strings.Join(Keys, ", "))
		}
		if err := cfg.Set(key, value); err != nil {
			return Config{}, err
		}
	}
	if err := cfg.Validate("config file " + QuotePath(path)); err != nil {
		return Config{}, err
	}
	if err := WriteFile(path, cfg); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// rename is os.Rename; tests replace it to exercise the failure path.
var rename = os.Rename

// WriteFile writes cfg to path atomically: the data goes to a temporary file
// in the same directory, is flushed to disk, and then renamed over path, so a
// reader (or a crash) sees either the old file or the complete new one. The
// parent directory is created if missing. An existing file's permission bits
// are kept; a new file gets 0644 (it holds no secrets).
func WriteFile(path string, cfg Config) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot create directory %s for config file: %w", QuotePath(dir), err)
	}
	perm := fs.FileMode(0o644)
	if st, statErr := os.Stat(path); statErr == nil {
		if st.IsDir() {
			return fmt.Errorf("cannot write config file %s: it is a directory", QuotePath(path))
		}
		perm = st.Mode().Perm()
	}

	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("cannot create temporary file next to %s: %w", QuotePath(path), err)
	}
	tmpName := tmp.Name()
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()
	if _, err = tmp.Write(cfg.Marshal()); err != nil {
		return fmt.Errorf("cannot write temporary config file %s: %w", QuotePath(tmpName), err)
	}
	if err = tmp.Chmod(perm); err != nil {
		return fmt.Errorf("cannot set permissions on %s: %w", QuotePath(tmpName), err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("cannot flush temporary config file %s: %w", QuotePath(tmpName), err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("cannot close temporary config file %s: %w", QuotePath(tmpName), err)
	}
	if err = rename(tmpName, path); err != nil {
		return fmt.Errorf("cannot replace config file %s: %w", QuotePath(path), err)
	}
	return nil
}
