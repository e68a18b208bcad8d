package trust

import (
	"fmt"
	"strings"
)

// Binding is the trusted comment of every winrelease signature:
// `winrelease product=<p> version=<v> file=<name> sha256=<hex>` (values percent-escaped).
type Binding struct {
	Product, Version, File, SHA256 string
}

// ParseBinding accepts exactly what src/binding.rs writes.
func ParseBinding(comment string) (Binding, error) {
	words := strings.Split(comment, " ")
	if len(words) != 5 || words[0] != "winrelease" {
		return Binding{}, fmt.Errorf("trusted comment %q is not a winrelease binding", comment)
	}
	var values [4]string
	for i, key := range []string{"product", "version", "file", "sha256"} {
		raw, ok := strings.CutPrefix(words[i+1], key+"=")
		if !ok {
			return Binding{}, fmt.Errorf("trusted comment has %q where %s=… belongs", words[i+1], key)
		}
		value, err := decodeValue(raw)
		if err != nil {
			return Binding{}, fmt.Errorf("trusted comment field %s: %v", key, err)
		}
		values[i] = value
	}
	if !isSHA256Hex(values[3]) {
		return Binding{}, fmt.Errorf("trusted comment sha256 is not 64 lowercase hex digits")
	}
	return Binding{values[0], values[1], values[2], values[3]}, nil
}

func needsEscape(r rune) bool {
	return r == '%' || r == '=' || r == ' ' || r == '\t' || r == '\n' || r == '\r' ||
		r == '\v' || r == '\f' || r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) ||
		r == 0x85 || r == 0xa0 || r == 0x1680 || (r >= 0x2000 && r <= 0x200a) ||
		r == 0x2028 || r == 0x2029 || r == 0x202f || r == 0x205f || r == 0x3000
}

func encodeValue(s string) string {
	var b strings.Builder
	for _, r := range s {
		if !needsEscape(r) {
			b.WriteRune(r)
			continue
		}
		for _, c := range []byte(string(r)) {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// decodeValue undoes encodeValue; only the canonical spelling is accepted.
func decodeValue(s string) (string, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			out = append(out, s[i])
			continue
		}
		if i+2 >= len(s) || !isUpperHex(s[i+1]) || !isUpperHex(s[i+2]) {
			return "", fmt.Errorf("bad escape")
		}
		out = append(out, unhex(s[i+1])<<4|unhex(s[i+2]))
		i += 2
	}
	decoded := string(out)
	if encodeValue(decoded) != s {
		return "", fmt.Errorf("not canonically escaped")
	}
	return decoded, nil
}

func isUpperHex(c byte) bool { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') }

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'A' + 10
}

func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')) {
			return false
		}
	}
	return true
}
