// Package trust checks what winrelease signs, byte for byte as the Rust side writes it: the
// canonical JSON of the store's signed documents (src/manifest.rs canonical_json), the
// trusted-comment binding (src/binding.rs), channel pointers (src/publish/docs.rs), and a
// release's manifest and artifacts (src/verify.rs).
package trust

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Canonical is the canonical JSON of a value decoded with UseNumber: keys sorted by byte
// order, two-space indent, no floats, serde_json's string escapes, one trailing newline.
func Canonical(v any) (string, error) {
	var b strings.Builder
	if err := writeCanonical(&b, v, 0, "$"); err != nil {
		return "", err
	}
	b.WriteByte('\n')
	return b.String(), nil
}

// DecodeJSON parses JSON keeping numbers as written.
func DecodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the JSON value")
	}
	return v, nil
}

func indent(b *strings.Builder, depth int) {
	for i := 0; i < depth; i++ {
		b.WriteString("  ")
	}
}

func writeCanonical(b *strings.Builder, v any, depth int, path string) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case json.Number:
		return writeInteger(b, x, path)
	case string:
		writeString(b, x)
	case []any:
		if len(x) == 0 {
			b.WriteString("[]")
			return nil
		}
		b.WriteString("[\n")
		for i, item := range x {
			indent(b, depth+1)
			if err := writeCanonical(b, item, depth+1, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
			if i+1 < len(x) {
				b.WriteString(",\n")
			} else {
				b.WriteString("\n")
			}
		}
		indent(b, depth)
		b.WriteByte(']')
	case map[string]any:
		return writeObject(b, x, depth, path)
	default:
		return fmt.Errorf("%s has an unexpected type %T", path, v)
	}
	return nil
}

func writeObject(b *strings.Builder, x map[string]any, depth int, path string) error {
	if len(x) == 0 {
		b.WriteString("{}")
		return nil
	}
	keys := make([]string, 0, len(x))
	for k := range x {
		keys = append(keys, k)
	}
	sort.Strings(keys) // byte order, as Rust's BTreeMap<String, _>
	b.WriteString("{\n")
	for i, k := range keys {
		indent(b, depth+1)
		writeString(b, k)
		b.WriteString(": ")
		if err := writeCanonical(b, x[k], depth+1, path+"."+k); err != nil {
			return err
		}
		if i+1 < len(keys) {
			b.WriteString(",\n")
		} else {
			b.WriteString("\n")
		}
	}
	indent(b, depth)
	b.WriteByte('}')
	return nil
}

func writeInteger(b *strings.Builder, n json.Number, path string) error {
	text := n.String()
	if strings.ContainsAny(text, ".eE") {
		return fmt.Errorf("%s is a floating-point number", path)
	}
	if i, err := strconv.ParseInt(text, 10, 64); err == nil {
		b.WriteString(strconv.FormatInt(i, 10))
		return nil
	}
	u, err := strconv.ParseUint(text, 10, 64)
	if err != nil {
		return fmt.Errorf("%s is an integer out of range", path)
	}
	b.WriteString(strconv.FormatUint(u, 10))
	return nil
}

// writeString escapes as serde_json does: \" \\ \b \f \n \r \t, other control characters as
// \u00xx (lowercase hex), everything else (DEL, non-ASCII, U+2028) as is.
func writeString(b *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c < 0x20 {
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&0xf])
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
}
