package trust

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCanonicalJSONIsWhatTheRustSideWrites(t *testing.T) {
	// The case of src/manifest.rs's canonical_json_sorts_keys_and_refuses_floats.
	v, err := DecodeJSON([]byte(`{"b": [1, {"z": "é\"", "a": true}], "a": {}, "c": []}`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Canonical(v)
	want := "{\n  \"a\": {},\n  \"b\": [\n    1,\n    {\n      \"a\": true,\n      \"z\": \"é\\\"\"\n    }\n  ],\n  \"c\": []\n}\n"
	if err != nil || got != want {
		t.Fatalf("got %q, %v", got, err)
	}
	v, _ = DecodeJSON([]byte(`{"x": [1.5]}`))
	if _, err := Canonical(v); err == nil || err.Error() != "$.x[0] is a floating-point number" {
		t.Fatalf("float: %v", err)
	}
	v, _ = DecodeJSON([]byte(`["\u0001\u001f\t<>&\u2028\u007f", 18446744073709551615, -3]`))
	got, _ = Canonical(v)
	if got != "[\n  \"\\u0001\\u001f\\t<>&\u2028\u007f\",\n  18446744073709551615,\n  -3\n]\n" {
		t.Fatalf("escapes and integers: %q", got)
	}
}

func TestBindingParsesOnlyTheCanonicalSpelling(t *testing.T) {
	hash := strings.Repeat("ab", 32)
	b, err := ParseBinding("winrelease product=Hello%20Service%20100%25 version=1.4.1-dev.7+g1a2b3c4 file=a%3Db%09c.exe sha256=" + hash)
	if err != nil || b.Product != "Hello Service 100%" || b.File != "a=b\tc.exe" || b.Version != "1.4.1-dev.7+g1a2b3c4" {
		t.Fatalf("%+v %v", b, err)
	}
	good := "winrelease product=P version=1.0.0 file=f sha256=" + strings.Repeat("0", 64)
	for _, bad := range []string{
		"timestamp:1 file:f",
		strings.Replace(good, "version=", "versio=", 1),
		good + " extra=1",
		strings.Replace(good, "product=P", "product=%41", 1),
		strings.Replace(good, "product=P", "product=%c3%a9", 1),
		strings.Replace(good, strings.Repeat("0", 64), strings.Repeat("0", 63), 1),
	} {
		if _, err := ParseBinding(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestSemverPrecedence(t *testing.T) {
	order := []string{"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1-dev.7+g1", "1.10.0", "2.0.0"}
	for i := 0; i+1 < len(order); i++ {
		if !Older(order[i], order[i+1]) || Older(order[i+1], order[i]) {
			t.Errorf("%s should precede %s", order[i], order[i+1])
		}
	}
	if _, err := ParseSemver("1.02.3"); err == nil {
		t.Error("leading zero accepted")
	}
}

func TestFreshness(t *testing.T) {
	p := Pointer{Product: "P", Channel: "stable", Sequence: 5, Expires: "2027-01-01T00:00:00Z"}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if err := CheckFresh(p, now, 5, "d", "d"); err != nil {
		t.Fatal(err)
	}
	if err := CheckFresh(p, now, 6, "", "d"); !errors.Is(err, ErrReplay) {
		t.Fatalf("lower sequence: %v", err)
	}
	if err := CheckFresh(p, now, 5, "other", "d"); !errors.Is(err, ErrReplay) {
		t.Fatalf("same sequence, other content: %v", err)
	}
	if err := CheckFresh(p, now.AddDate(1, 0, 0), 0, "", "d"); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired: %v", err)
	}
}
