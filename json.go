package authz

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/seed31d61d31/authz/internal/permission"
)

// wireClaims is the JSON shape of the claims, decoded once by walk.
type wireClaims struct {
	Iss      string       `json:"iss"`
	Sub      string       `json:"sub"`
	Aud      stringList   `json:"aud"`
	ClientID string       `json:"client_id"`
	Scope    scopeList    `json:"scope"`
	OrgID    *string      `json:"organization_id"`
	ActSub   string       `json:"act"` // "act.sub"
	Exp      numericDate  `json:"exp"`
	Nbf      numericDate  `json:"nbf"`
	Iat      numericDate  `json:"iat"`
	Jti      string       `json:"jti"`
	Cnf      confirmation `json:"cnf"`
}

// confirmation is what "cnf" (RFC 7800) says of the key a token is bound
// to.
type confirmation struct {
	// set reports a "cnf" claim, of any content: the token is
	// sender-constrained, and never a bearer token.
	set bool
	// jkt is "cnf.jkt" (RFC 9449 section 6.1): the thumbprint of the DPoP
	// key; empty for another binding ("x5t#S256", mutual TLS, RFC 8705).
	jkt string
}

// UnmarshalJSON decodes the claims this package reads, in one pass over the
// top-level members and by exact name. encoding/json would match names
// case-insensitively (so a custom claim "Scope" or "ſcope" would fill
// "scope", and "EXP" after "exp" would override it), but claim names are
// case-sensitive (RFC 7519 section 4, RFC 7515 section 5.3). A claim read
// here must not appear twice. Other members are skipped; Claims.Decode
// reads them. b has been validated as JSON by encoding/json already.
func (w *wireClaims) UnmarshalJSON(b []byte) error {
	if err := w.walk(b); err != nil {
		return err
	}
	return nil
}

// walk is UnmarshalJSON on b, valid JSON.
func (w *wireClaims) walk(b []byte) *Error {
	var seen [len(claimNames)]bool
	return eachMember(b, "claims", func(name []byte, value []byte) *Error {
		i := claimIndex(name)
		if i < 0 {
			return nil
		}
		if seen[i] {
			return newError(ErrMalformed, fmt.Sprintf("claim %q appears twice", claimNames[i]))
		}
		seen[i] = true
		return w.decode(i, value)
	})
}

// claimNames are the claims wireClaims reads, in the order of decode's cases.
var claimNames = [...]string{"iss", "sub", "aud", "client_id", "scope", "organization_id", "act", "exp", "nbf", "iat", "jti", "cnf"}

func claimIndex(name []byte) int {
	for i, n := range claimNames {
		if string(name) == n {
			return i
		}
	}
	return -1
}

// decode decodes value into the claim claimNames[i].
func (w *wireClaims) decode(i int, value []byte) *Error {
	switch claimNames[i] {
	case "iss":
		return jsonString(value, "iss", &w.Iss)
	case "sub":
		return jsonString(value, "sub", &w.Sub)
	case "client_id":
		return jsonString(value, "client_id", &w.ClientID)
	case "jti":
		return jsonString(value, "jti", &w.Jti)
	case "organization_id":
		if string(value) == "null" {
			return nil
		}
		w.OrgID = new(string)
		return jsonString(value, "organization_id", w.OrgID)
	case "aud":
		return w.Aud.decode(value)
	case "scope":
		return w.Scope.decode(value)
	case "exp":
		return w.Exp.decode(value)
	case "nbf":
		return w.Nbf.decode(value)
	case "iat":
		return w.Iat.decode(value)
	case "cnf":
		return w.Cnf.decode(value)
	default: // "act"
		return w.decodeActor(value)
	}
}

// decode decodes "cnf", a JSON object (RFC 7800 section 3.1), by exact
// member names, none twice. Any "cnf" makes the token sender-constrained;
// its "jkt", if any, must be a SHA-256 thumbprint: 43 base64url characters.
func (c *confirmation) decode(value []byte) *Error {
	if value[0] != '{' {
		return newError(ErrMalformed, `"cnf" is not an object`)
	}
	c.set = true
	return uniqueMembers(value, `"cnf"`, ErrMalformed, func(name, v []byte) *Error {
		if string(name) != "jkt" {
			return nil
		}
		if err := jsonString(v, "cnf.jkt", &c.jkt); err != nil {
			return err
		}
		if !isThumbprint(c.jkt) {
			return newError(ErrMalformed, `"cnf.jkt" is not a SHA-256 JWK thumbprint`)
		}
		return nil
	})
}

// isThumbprint reports whether s is the base64url form of 32 bytes, as a
// SHA-256 JWK thumbprint (RFC 7638) is.
func isThumbprint(s string) bool {
	if len(s) != 43 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if tokenChar[s[i]] != 0 {
			return false
		}
	}
	_, err := b64.DecodeString(s)
	return err == nil
}

// decodeActor decodes "act" (RFC 8693 section 4.1), an object whose "sub"
// is the actor, by exact name like the claims themselves: "SUB" or "Sub"
// is not "sub", and "sub" may not appear twice. Other members (a nested
// "act" for a chain of actors) are skipped.
func (w *wireClaims) decodeActor(value []byte) *Error {
	if string(value) == "null" {
		return nil
	}
	if value[0] != '{' {
		return newError(ErrMalformed, `"act" is not an object`)
	}
	seen := false
	return eachMember(value, `"act"`, func(name, v []byte) *Error {
		if string(name) != "sub" {
			return nil
		}
		if seen {
			return newError(ErrMalformed, `claim "act.sub" appears twice`)
		}
		seen = true
		return jsonString(v, "act.sub", &w.ActSub)
	})
}

// jsonString decodes the JSON string value into dst; null leaves dst
// empty. The common case, no escapes and valid UTF-8, is a plain copy.
func jsonString(value []byte, claim string, dst *string) *Error {
	switch {
	case string(value) == "null":
		return nil
	case len(value) < 2 || value[0] != '"':
		return newError(ErrMalformed, fmt.Sprintf("%q is not a string", claim))
	}
	inner := value[1 : len(value)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		*dst = string(inner)
		return nil
	}
	if err := json.Unmarshal(value, dst); err != nil {
		return wrapError(ErrMalformed, fmt.Sprintf("%q is not a string", claim), err)
	}
	return nil
}

// eachMember calls fn with the name and the raw value of each top-level
// member of the JSON object b, in order. b is valid JSON (encoding/json
// checked it); the walk is still bounds-checked throughout, so no input can
// make it read outside b.
func eachMember(b []byte, what string, fn func(name, value []byte) *Error) *Error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return newError(ErrMalformed, what+" must be a JSON object")
	}
	for i = skipSpace(b, i+1); i < len(b) && b[i] != '}'; {
		end := valueEnd(b, i) // the name is a string
		quoted := b[i:end]
		if len(quoted) < 2 {
			return newError(ErrMalformed, what+" must be a JSON object")
		}
		name := quoted[1 : len(quoted)-1]
		if bytes.IndexByte(quoted, '\\') >= 0 {
			var unescaped string
			if err := json.Unmarshal(quoted, &unescaped); err != nil {
				return wrapError(ErrMalformed, "a member name of the "+what+" is not a JSON string", err)
			}
			name = []byte(unescaped)
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return newError(ErrMalformed, what+" must be a JSON object")
		}
		start := skipSpace(b, i+1)
		end = valueEnd(b, start)
		if err := fn(name, b[start:end]); err != nil {
			return err
		}
		if i = skipSpace(b, end); i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// valueEnd returns the index just past the JSON value that starts at b[i].
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return len(b)
	}
	depth := 0
	for j := i; j < len(b); j++ {
		switch b[j] {
		case '"':
			for j++; j < len(b) && b[j] != '"'; j++ {
				if b[j] == '\\' {
					j++
				}
			}
			if depth == 0 {
				return min(j+1, len(b))
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 { // the end of the enclosing object
				return j
			}
			if depth--; depth == 0 {
				return j + 1
			}
		case ',', ' ', '\t', '\n', '\r':
			if depth == 0 { // the end of a number or literal
				return j
			}
		}
	}
	return len(b)
}

// stringList is "aud": a string or an array of strings (RFC 7519 section 4.1.3).
type stringList []string

func (l *stringList) decode(b []byte) *Error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := jsonString(b, "aud", &s); err != nil {
			return err
		}
		*l = stringList{s}
		return nil
	}
	if bytes.Equal(b, []byte("null")) {
		*l = nil
		return nil
	}
	var a []string
	if err := json.Unmarshal(b, &a); err != nil {
		return newError(ErrMalformed, `"aud" is neither a string nor an array of strings`)
	}
	*l = a
	return nil
}

// scopeList is "scope": scope tokens separated by single spaces (RFC 6749
// section 3.3, RFC 9068 section 2.2.3), or, leniently, an array of scope
// tokens. A scope token is never empty and never holds whitespace or a
// control character: "read\u00a0admin" is malformed, not two permissions.
type scopeList []string

func (l *scopeList) decode(b []byte) *Error {
	if bytes.Equal(b, []byte("null")) {
		*l = nil
		return nil
	}
	var a []string
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := jsonString(b, "scope", &s); err != nil {
			return err
		}
		for tok := range strings.SplitSeq(s, " ") {
			if tok != "" {
				a = append(a, tok)
			}
		}
	} else if err := json.Unmarshal(b, &a); err != nil {
		return newError(ErrMalformed, `"scope" is neither a string nor an array of strings`)
	} else if slices.Contains(a, "") {
		return newError(ErrMalformed, `"scope" has an empty permission`)
	}
	for _, tok := range a {
		if !permission.Valid(tok) {
			return newError(ErrMalformed, `a permission in "scope" has whitespace or a control character`)
		}
	}
	*l = a // nil for "": no permissions, exactly like a missing "scope"
	return nil
}

// numericDate is a NumericDate (RFC 7519 section 2): a JSON number of seconds
// since the epoch, possibly fractional. A string, a negative number or one
// past the year 9999 is malformed, never a silent zero or a wrapped value.
type numericDate struct {
	t   time.Time
	set bool
}

// maxNumericDate is 9999-12-31T23:59:59Z.
const maxNumericDate = 253402300799

func (d *numericDate) decode(b []byte) *Error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || len(b) == 0 || b[0] == '"' || math.IsNaN(f) || f < 0 || f > maxNumericDate {
		return newError(ErrMalformed, "a time claim is not a NumericDate between 1970 and 9999")
	}
	sec, frac := math.Modf(f)
	d.t = time.Unix(int64(sec), int64(frac*1e9)).UTC()
	d.set = true
	return nil
}

// eachElement calls fn with the raw value of each element of the JSON array
// b (valid JSON), in order, until fn returns false.
func eachElement(b []byte, fn func(value []byte) bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return
	}
	for i = skipSpace(b, i+1); i < len(b) && b[i] != ']'; {
		end := valueEnd(b, i)
		if !fn(b[i:end]) {
			return
		}
		if i = skipSpace(b, end); i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
}
