// Package source reads the release store's files: a folder (local, mounted share or UNC
// path) or a plain HTTP(S) server serving the store's folder. The agent only ever reads.
package source

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrNotFound means the store has no such file.
var ErrNotFound = errors.New("not in the store")

// Source opens a store file by its slash-separated key (`Hello Service/channels/stable.json`).
type Source interface {
	Open(key string) (io.ReadCloser, error)
	// Where names a key for messages (a path or URL).
	Where(key string) string
}

// New opens `location`: an http:// or https:// URL, else a folder path.
func New(location string) Source {
	if strings.HasPrefix(location, "http://") || strings.HasPrefix(location, "https://") {
		return &httpSource{base: strings.TrimSuffix(location, "/"), client: &http.Client{Timeout: 5 * time.Minute}}
	}
	return folderSource(location)
}

type folderSource string

func (f folderSource) path(key string) string {
	return filepath.Join(string(f), filepath.FromSlash(key))
}

func (f folderSource) Open(key string) (io.ReadCloser, error) {
	file, err := os.Open(f.path(key))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", f.path(key), ErrNotFound)
	}
	return file, err
}

func (f folderSource) Where(key string) string { return f.path(key) }

type httpSource struct {
	base   string
	client *http.Client
}

func (h *httpSource) url(key string) string {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return h.base + "/" + strings.Join(parts, "/")
}

func (h *httpSource) Open(key string) (io.ReadCloser, error) {
	resp, err := h.client.Get(h.url(key))
	if err != nil {
		return nil, err
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		resp.Body.Close()
		return nil, fmt.Errorf("%s: %w", h.url(key), ErrNotFound)
	case resp.StatusCode != http.StatusOK:
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s", h.url(key), resp.Status)
	}
	return resp.Body, nil
}

func (h *httpSource) Where(key string) string { return h.url(key) }

// ReadAll reads a whole store file of at most limit bytes.
func ReadAll(s Source, key string, limit int64) ([]byte, error) {
	r, err := s.Open(key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", s.Where(key), err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", s.Where(key), limit)
	}
	return data, nil
}
