package middleware

import (
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestSanitize(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "allowed characters unchanged", in: "expired 1h0m0s ago; resource=<api> {x} [y] ~!#$%&'()*+,-./:;=?@^_`|", want: "expired 1h0m0s ago; resource=<api> {x} [y] ~!#$%&'()*+,-./:;=?@^_`|"},
		{name: "double quote", in: `"typ" is "JWT"`, want: `'typ' is 'JWT'`},
		{name: "backslash", in: `a\b`, want: `a/b`},
		{name: "non-ASCII", in: "organisation « été »", want: "organisation ? ?t? ?"},
		{name: "controls", in: "a\tb\nc\x00d\x7f", want: "a?b?c?d?"},
		{name: "invalid UTF-8", in: "a\xffb", want: "a?b"},
		{name: "empty", in: "", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, sanitize(tt.in))
		})
	}
}

// FuzzSanitize: the result always fits an RFC 6750 quoted attribute value.
func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"", `"x"`, `\`, "é", "\xff", "plain text"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := sanitize(s)
		if !quotable(out) {
			t.Fatalf("sanitize(%q) = %q has a character not allowed in error_description", s, out)
		}
		if utf8.ValidString(s) && utf8.RuneCountInString(s) != len(out) {
			t.Fatalf("sanitize(%q) = %q: want one byte per character", s, out)
		}
	})
}
