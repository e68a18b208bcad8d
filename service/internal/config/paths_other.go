//go:build !windows

package config

// DefaultPath returns ErrNoDefaultPath: outside Windows there is no standard
// location, so --config must be given explicitly.
func DefaultPath() (string, error) {
	return "", ErrNoDefaultPath
}
