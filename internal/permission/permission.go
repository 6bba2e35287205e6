// Package permission holds the one rule for what a permission name is,
// shared by the token parser, requirements, policies, the middleware and
// the command-line tool, so that a name one of them accepts no other
// refuses.
package permission

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Problem explains why p cannot be a permission, or returns "". A
// permission is one scope token of a space-separated "scope" claim
// (RFC 6749 section 3.3, RFC 9068 section 2.2.3): non-empty valid UTF-8
// with no whitespace and no control character. RFC 6749 restricts a
// scope token to printable ASCII, but issuers (Logto among them) accept
// any name an administrator types, so the rule is the one a token's
// "scope" can actually carry; a name outside RFC 6750's quoted-string
// characters is still a permission, and only the WWW-Authenticate
// challenge leaves it out.
func Problem(p string) string {
	switch {
	case p == "":
		return "is an empty permission"
	case !utf8.ValidString(p):
		return fmt.Sprintf("%q is not valid UTF-8", p)
	}
	for _, r := range p {
		switch {
		case unicode.IsSpace(r):
			return fmt.Sprintf("%q has whitespace: a permission is a single scope token", p)
		case unicode.IsControl(r):
			return fmt.Sprintf("%q has a control character", p)
		}
	}
	return ""
}

// Valid reports whether p is a permission: [Problem] returns "".
func Valid(p string) bool { return Problem(p) == "" }
