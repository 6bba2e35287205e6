package authz

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// maxHeaderMembers bounds the members of a JOSE header, whose names are
// compared pairwise for duplicates; real headers have fewer than ten.
const maxHeaderMembers = 32

// header is the JOSE header of a token (RFC 7515 section 4), as far as the
// checks read it. "jku", "x5u", "jwk" and "x5c" are ignored: keys come only
// from the configured JWKS.
type joseHeader struct {
	alg       string
	kid       string
	typ       string
	hasKID    bool // "kid" is a string
	hasTyp    bool // "typ" is present and not null
	typString bool // "typ" is a string
	crit      bool // "crit" is present
}

// parseHeader decodes the header segment: base64url of a UTF-8 JSON object
// (RFC 7515 section 5.2) whose member names are unique. RFC 7515 section 4
// lets a parser either refuse duplicates or keep the last; refusing means
// that no other parser can read a different "alg" or "typ" from the same
// bytes.
func parseHeader(seg string) (joseHeader, *Error) {
	b, err := decodeSegment(seg)
	if err != nil {
		return joseHeader{}, wrapError(ErrMalformed, "header is not base64url", err)
	}
	if err := checkJSON(b, "header"); err != nil {
		return joseHeader{}, err
	}
	var h joseHeader
	perr := uniqueMembers(b, "header", ErrMalformed, func(name, value []byte) *Error {
		switch string(name) {
		case "alg":
			if value[0] != '"' {
				return newError(ErrAlgorithm, `"alg" is not a string`)
			}
			return jsonString(value, "alg", &h.alg)
		case "kid":
			h.hasKID = value[0] == '"'
			if h.hasKID {
				return jsonString(value, "kid", &h.kid)
			}
		case "typ":
			h.hasTyp, h.typString = string(value) != "null", value[0] == '"'
			if h.typString {
				return jsonString(value, "typ", &h.typ)
			}
		case "crit":
			h.crit = true
		}
		return nil
	})
	if perr != nil {
		return joseHeader{}, perr
	}
	if h.alg == "" {
		return joseHeader{}, newError(ErrAlgorithm, `header has no "alg"`)
	}
	return h, nil
}

// uniqueMembers calls fn for each member of the JSON object b (see
// eachMember), refusing with an error of kind a name given twice, or more
// than maxHeaderMembers members: what names b in the messages.
func uniqueMembers(b []byte, what string, kind error, fn func(name, value []byte) *Error) *Error {
	var names [maxHeaderMembers][]byte
	n := 0
	return eachMember(b, what, func(name, value []byte) *Error {
		if n == len(names) {
			return newError(kind, fmt.Sprintf("%s has more than %d members", what, maxHeaderMembers))
		}
		for _, seen := range names[:n] {
			if bytes.Equal(seen, name) {
				return newError(kind, fmt.Sprintf("%s member %s appears twice", what, quoteSafe(string(name))))
			}
		}
		names[n] = name
		n++
		return fn(name, value)
	})
}

// decodeClaims decodes the claims segment, base64url of a UTF-8 JSON object
// (RFC 7519 section 7.2), into w.
func decodeClaims(seg string, w *wireClaims) *Error {
	b, err := decodeSegment(seg)
	if err != nil {
		return wrapError(ErrMalformed, "claims are not base64url", err)
	}
	if err := checkJSON(b, "claims"); err != nil {
		return err
	}
	return w.walk(b)
}

// checkJSON checks that b, the decoded segment what, is UTF-8 JSON.
// encoding/json alone would read invalid UTF-8 as U+FFFD, so two different
// signed values could read as the same string.
func checkJSON(b []byte, what string) *Error {
	switch {
	case !utf8.Valid(b):
		return newError(ErrMalformed, what+" must be valid UTF-8 (RFC 7515 section 5.2, RFC 7519 section 7.2)")
	case !json.Valid(b):
		return newError(ErrMalformed, what+" must be JSON")
	}
	return nil
}
