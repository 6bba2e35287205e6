// Package header holds the one rule for an HTTP header field name, shared
// by policies and the middleware.
package header

import "strings"

// ValidName reports whether s is an HTTP field name: a token of RFC 9110
// section 5.1 (letters, digits and !#$%&'*+-.^_`|~).
func ValidName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
