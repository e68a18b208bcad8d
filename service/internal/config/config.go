// Package config loads, validates and writes the hellosvc configuration file.
//
// The file is a strict JSON object: every key must be one of the known keys
// (spelled exactly, no duplicates), values must have the right type and range,
// and nothing may follow the object. Keys that are absent keep their defaults.
// Every error names the file, the key and what is allowed, because the person
// reading it is usually an operator looking at an Event Log entry.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Config keys, exactly as they appear in the JSON file and in --set key=value.
const (
	KeyListenPort  = "listen_port"
	KeyBindAddress = "bind_address"
	KeySiteName    = "site_name"
	KeyLogLevel    = "log_level"
)

// Keys lists every config key in the order they are written to the file.
var Keys = []string{KeyListenPort, KeyBindAddress, KeySiteName, KeyLogLevel}

// MaxSiteNameLen is the maximum length of site_name, in characters.
const MaxSiteNameLen = 64

// LogLevels lists the accepted values of log_level, most verbose first.
var LogLevels = []string{"debug", "info", "warn", "error"}

// Config is the effective service configuration. The JSON field order is the
// order in which the file is written, so output is deterministic.
type Config struct {
	ListenPort  int    `json:"listen_port"`
	BindAddress string `json:"bind_address"`
	SiteName    string `json:"site_name"`
	LogLevel    string `json:"log_level"`
}

// Defaults returns the configuration used for keys absent from the file.
func Defaults() Config {
	return Config{
		ListenPort:  8080,
		BindAddress: "0.0.0.0",
		SiteName:    "default",
		LogLevel:    "info",
	}
}

// ListenAddr returns bind_address:listen_port in the form net.Listen expects
// (IPv6 addresses are bracketed).
func (c Config) ListenAddr() string {
	return net.JoinHostPort(c.BindAddress, strconv.Itoa(c.ListenPort))
}

// Error is a configuration problem. Source says where the value came from
// (`config file "C:\...\config.json"` or `--set`), Key names the offending
// key when there is one.
type Error struct {
	Source string
	Key    string
	Msg    string
}

func (e *Error) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("%s: %s", e.Source, e.Msg)
	}
	return fmt.Sprintf("%s: key %q: %s", e.Source, e.Key, e.Msg)
}

// ErrNotFound is wrapped by Load when the config file does not exist.
var ErrNotFound = errors.New("config file not found")

// Load reads and parses the config file at path. A missing file is an error
// wrapping ErrNotFound, so callers can tell the operator how to create it.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Config{}, fmt.Errorf("config file %s does not exist (create it, e.g. with --seed-config %s): %w", QuotePath(path), QuotePath(path), ErrNotFound)
	}
	if err != nil {
		return Config{}, fmt.Errorf("config file %s cannot be read: %w", QuotePath(path), err)
	}
	return Parse(data, "config file "+QuotePath(path))
}

// Parse parses config JSON. source describes where data came from and is
// used as the prefix of error messages (e.g. `config file "C:\ProgramData\Hello Service\config.json"`).
func Parse(data []byte, source string) (Config, error) {
	cfg := Defaults()
	// Notepad on older Windows saves UTF-8 with a byte-order mark; accept it
	// rather than failing with an obscure "invalid character" error.
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(data)) == 0 {
		return cfg, &Error{Source: source, Msg: "file is empty; expected a JSON object such as {\"listen_port\": 8080}"}
	}

	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	syntaxErr := func(err error) error {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := lineCol(data, se.Offset)
			return &Error{Source: source, Msg: fmt.Sprintf("invalid JSON at line %d, column %d: %v", line, col, err)}
		}
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return &Error{Source: source, Msg: "invalid JSON: unexpected end of file (missing closing brace?)"}
		}
		return &Error{Source: source, Msg: fmt.Sprintf("invalid JSON: %v", err)}
	}

	tok, err := dec.Token()
	if err != nil {
		return cfg, syntaxErr(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return cfg, &Error{Source: source, Msg: "expected a JSON object at the top level, e.g. {\"listen_port\": 8080}"}
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return cfg, syntaxErr(err)
		}
		key, ok := tok.(string)
		if !ok {
			return cfg, syntaxErr(fmt.Errorf("expected an object key, got %v", tok))
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return cfg, syntaxErr(err)
		}
		if !isKnownKey(key) {
			return cfg, &Error{Source: source, Key: key, Msg: "unknown key; allowed keys are " + strings.Join(Keys, ", ")}
		}
		if seen[key] {
			return cfg, &Error{Source: source, Key: key, Msg: "appears more than once; each key may be given only once"}
		}
		seen[key] = true
		if err := cfg.setJSON(key, raw); err != nil {
			return cfg, &Error{Source: source, Key: key, Msg: err.Error()}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return cfg, syntaxErr(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return cfg, &Error{Source: source, Msg: "unexpected data after the JSON object; the file must contain exactly one object"}
	}
	return cfg, nil
}

// Validate checks every key and returns the first problem found, naming the
// key and what is allowed. source is used in the error text.
func (c Config) Validate(source string) error {
	checks := []struct {
		key string
		err error
	}{
		{KeyListenPort, checkPort(c.ListenPort)},
		{KeyBindAddress, checkBindAddress(c.BindAddress)},
		{KeySiteName, checkSiteName(c.SiteName)},
		{KeyLogLevel, checkLogLevel(c.LogLevel)},
	}
	for _, ch := range checks {
		if ch.err != nil {
			return &Error{Source: source, Key: ch.key, Msg: ch.err.Error()}
		}
	}
	return nil
}

// Set applies a command-line value (as given to --set key=value) to key.
// An empty value leaves the current value unchanged. The error names the key
// and what is allowed.
func (c *Config) Set(key, value string) error {
	if !isKnownKey(key) {
		return &Error{Source: "--set", Key: key, Msg: "unknown key; allowed keys are " + strings.Join(Keys, ", ")}
	}
	if value == "" {
		return nil
	}
	var err error
	switch key {
	case KeyListenPort:
		var port int
		port, err = parsePort(value)
		if err == nil {
			c.ListenPort = port
		}
	case KeyBindAddress:
		if err = checkBindAddress(value); err == nil {
			c.BindAddress = value
		}
	case KeySiteName:
		if err = checkSiteName(value); err == nil {
			c.SiteName = value
		}
	case KeyLogLevel:
		if err = checkLogLevel(value); err == nil {
			c.LogLevel = value
		}
	}
	if err != nil {
		return &Error{Source: "--set", Key: key, Msg: err.Error()}
	}
	return nil
}

// Marshal returns the canonical file form of c: indented JSON with keys in
// the order of Keys and a trailing newline.
func (c Config) Marshal() []byte {
	out, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		// Config holds only strings and an int; marshalling cannot fail.
		panic("config: marshal: " + err.Error())
	}
	return append(out, '\n')
}

func (c *Config) setJSON(key string, raw json.RawMessage) error {
	if string(raw) == "null" {
		return errors.New("must not be null; " + allowedText(key))
	}
	switch key {
	case KeyListenPort:
		// json.Number would also accept a quoted number ("80"); decoding
		// into any with UseNumber accepts only a bare JSON number.
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v any
		n, isNumber := json.Number(""), false
		if dec.Decode(&v) == nil {
			n, isNumber = v.(json.Number)
		}
		if !isNumber {
			return errors.New("must be a JSON number; " + allowedText(key))
		}
		port, err := parsePort(n.String())
		if err != nil {
			return err
		}
		c.ListenPort = port
		return nil
	default:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return errors.New("must be a JSON string; " + allowedText(key))
		}
		var check func(string) error
		var dst *string
		switch key {
		case KeyBindAddress:
			check, dst = checkBindAddress, &c.BindAddress
		case KeySiteName:
			check, dst = checkSiteName, &c.SiteName
		case KeyLogLevel:
			check, dst = checkLogLevel, &c.LogLevel
		}
		if err := check(s); err != nil {
			return err
		}
		*dst = s
		return nil
	}
}

func isKnownKey(key string) bool {
	for _, k := range Keys {
		if k == key {
			return true
		}
	}
	return false
}

func allowedText(key string) string {
	switch key {
	case KeyListenPort:
		return "allowed: an integer from 1 to 65535"
	case KeyBindAddress:
		return "allowed: an IPv4 or IPv6 address such as 0.0.0.0, 127.0.0.1 or ::"
	case KeySiteName:
		return fmt.Sprintf("allowed: 1 to %d printable characters", MaxSiteNameLen)
	case KeyLogLevel:
		return "allowed: " + strings.Join(LogLevels, ", ")
	}
	return ""
}

func parsePort(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer; %s", s, allowedText(KeyListenPort))
	}
	if err := checkPort(n); err != nil {
		return 0, err
	}
	return n, nil
}

func checkPort(n int) error {
	if n < 1 || n > 65535 {
		return fmt.Errorf("%d is out of range; %s", n, allowedText(KeyListenPort))
	}
	return nil
}

func checkBindAddress(s string) error {
	if net.ParseIP(s) == nil {
		return fmt.Errorf("%q is not an IP address; %s", s, allowedText(KeyBindAddress))
	}
	return nil
}

func checkSiteName(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("is not valid UTF-8; %s", allowedText(KeySiteName))
	}
	n := utf8.RuneCountInString(s)
	if n == 0 {
		return fmt.Errorf("is empty; %s", allowedText(KeySiteName))
	}
	if n > MaxSiteNameLen {
		return fmt.Errorf("is %d characters long; %s", n, allowedText(KeySiteName))
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("contains the non-printable character %U; %s", r, allowedText(KeySiteName))
		}
	}
	return nil
}

func checkLogLevel(s string) error {
	for _, l := range LogLevels {
		if s == l {
			return nil
		}
	}
	return fmt.Errorf("%q is not a log level; %s", s, allowedText(KeyLogLevel))
}

// QuotePath puts a path in double quotes for messages. Unlike %q it does not
// escape backslashes, so Windows paths read as the operator typed them.
func QuotePath(p string) string {
	return `"` + p + `"`
}

// lineCol converts a byte offset into 1-based line and column numbers.
func lineCol(data []byte, offset int64) (int, int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	before := data[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(offset) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}
