// Package bearer parses the credentials of RFC 6750 section 2.1, for the
// HTTP middleware (the Authorization header) and the gRPC interceptors
// (the "authorization" metadata) alike.
package bearer

import "strings"

// Error is a malformed credential: the request is invalid (RFC 6750
// section 3.1, invalid_request). Reason is safe to show a client; it never
// holds the token.
type Error struct {
	Reason string
}

func (e *Error) Error() string { return e.Reason }

// Parse returns the one bearer token in vals, the values of the
// credentials field that messages call field ("the Authorization header"):
//
//	credentials = "Bearer" 1*SP b64token
//
// The scheme is case-insensitive (RFC 9110 section 11.1) and one or more
// spaces may separate it from the token. It returns "" and nil when there
// is no value, or the value has another scheme (Basic, DPoP, ...): no
// bearer token. The field given twice, an empty value, "Bearer" with no
// token, or more than one token (a space, tab or comma inside it) is an
// [*Error].
func Parse(vals []string, field string) (string, *Error) {
	_, tok, err := ParseScheme(vals, field, Bearer)
	return tok, err
}

// The schemes of ParseScheme.
const (
	// Bearer is the scheme of RFC 6750.
	Bearer = "Bearer"
	// DPoP is the scheme of RFC 9449 section 7.1, whose token is the same
	// b64token.
	DPoP = "DPoP"
)

// ParseScheme is Parse for a credential of any of schemes (compared
// case-insensitively): it returns the scheme, as spelled in schemes, and
// the token. A value of another scheme is no credential: "", "" and nil.
func ParseScheme(vals []string, field string, schemes ...string) (scheme, token string, err *Error) {
	switch len(vals) {
	case 0:
		return "", "", nil
	case 1:
	default:
		return "", "", &Error{Reason: field + " is given more than once"}
	}
	v := strings.Trim(vals[0], " \t")
	if v == "" {
		return "", "", &Error{Reason: field + " is empty"}
	}
	name, rest := v, ""
	if i := strings.IndexAny(v, " \t"); i >= 0 {
		name, rest = v[:i], v[i:]
	}
	for _, s := range schemes {
		if strings.EqualFold(name, s) {
			scheme = s
		}
	}
	if scheme == "" {
		return "", "", nil
	}
	word := scheme
	if scheme == Bearer {
		word = "bearer"
	}
	tok := strings.TrimLeft(rest, " ")
	switch {
	case tok == "":
		return "", "", &Error{Reason: field + " has the " + scheme + " scheme but no token"}
	case strings.ContainsAny(tok, " \t,"):
		return "", "", &Error{Reason: field + " must hold exactly one " + word + " token"}
	}
	return scheme, tok, nil
}
