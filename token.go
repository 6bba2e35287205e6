package authz

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
	"github.com/seed31d61d31/authz/internal/cache"
	"github.com/seed31d61d31/authz/internal/jwks"
	"github.com/seed31d61d31/authz/internal/permission"
)

// Token is a raw bearer token. It prints and logs as "REDACTED" (through
// fmt's Stringer and GoStringer and [slog.LogValuer]), so a Token that ends
// up in a log line or an error does not leak. Convert it with string(t) where
// the real value is needed, e.g. to forward it downstream.
type Token string

// String returns "REDACTED"; use string(t) for the token itself.
func (Token) String() string { return "REDACTED" }

// GoString returns "REDACTED" for the %#v verb.
func (Token) GoString() string { return "REDACTED" }

// LogValue implements [slog.LogValuer]: a Token logs as "REDACTED".
func (Token) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// Claims are the validated claims of an access token (RFC 9068 section 2.2),
// parsed once. Fields of claims the token lacks are zero.
type Claims struct {
	// Issuer is "iss", one of the configured issuers.
	Issuer string
	// Subject is "sub": the user id, or for a machine-to-machine token the
	// application id (then equal to ClientID).
	Subject string
	// Audience is "aud" as a list, whether the token carried a string or an array.
	Audience []string
	// ClientID is "client_id", the application that obtained the token.
	ClientID string
	// Scopes are the permissions in "scope" (a space-separated string or a
	// JSON array). A missing or empty "scope" gives no scopes.
	Scopes []string
	// OrganizationID is the organization the token is for: from the audience
	// "urn:logto:organization:<id>" of an organization token, or from the
	// "organization_id" claim of an organization-level API token. Empty for a
	// token with no organization.
	OrganizationID string
	// Actor is "act.sub" (RFC 8693): the user acting on behalf of Subject, as
	// in Logto's impersonation. Empty when there is no actor.
	Actor string
	// ExpiresAt is "exp".
	ExpiresAt time.Time
	// IssuedAt is "iat"; zero if absent.
	IssuedAt time.Time
	// NotBefore is "nbf"; zero if absent (Logto never sets it).
	NotBefore time.Time
	// TokenID is "jti".
	TokenID string

	token Token
	org   bool       // the organization came from an organization audience
	v     *Validator // the validator that made these claims; nil for claims made by hand
}

// String summarizes the claims for logs and debugging; the raw token is
// never part of it (fmt would otherwise print the unexported field).
func (c Claims) String() string {
	return fmt.Sprintf("authz.Claims{iss=%q sub=%q client_id=%q aud=%q scope=%q organization=%q exp=%s}",
		c.Issuer, c.Subject, c.ClientID, c.Audience, strings.Join(c.Scopes, " "), c.OrganizationID, c.ExpiresAt.Format(time.RFC3339))
}

// GoString is String, for the %#v verb.
func (c Claims) GoString() string { return c.String() }

// LogValue implements [slog.LogValuer]: the claims log as a group of their
// fields, without the raw token.
func (c Claims) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("iss", c.Issuer),
		slog.String("sub", c.Subject),
		slog.String("client_id", c.ClientID),
		slog.Any("aud", c.Audience),
		slog.String("scope", strings.Join(c.Scopes, " ")),
		slog.String("organization", c.OrganizationID),
		slog.Time("exp", c.ExpiresAt),
	)
}

// IsMachine reports whether the token was issued to an application for
// itself (client credentials): the subject is the client.
func (c *Claims) IsMachine() bool {
	return c.Subject != "" && c.Subject == c.ClientID
}

// IsOrganizationToken reports whether this is an organization token, whose
// audience is "urn:logto:organization:<id>", as opposed to an access token
// for an API resource (which may still carry an organization_id).
func (c *Claims) IsOrganizationToken() bool { return c.org }

// HasScopes reports whether the token grants every one of scopes. It is true
// when scopes is empty.
func (c *Claims) HasScopes(scopes ...string) bool {
	for _, s := range scopes {
		if !slices.Contains(c.Scopes, s) {
			return false
		}
	}
	return true
}

// HasAnyScope reports whether the token grants at least one of scopes. It is
// false when scopes is empty.
func (c *Claims) HasAnyScope(scopes ...string) bool {
	for _, s := range scopes {
		if slices.Contains(c.Scopes, s) {
			return true
		}
	}
	return false
}

// ValidatedBy reports whether v validated the token these claims came
// from. Middleware reuses claims already in a request's context only when
// its own validator made them, so that claims made under one validator's
// audiences never pass a route protected by another. Claims built by hand
// (in tests) report false for every v.
func (c *Claims) ValidatedBy(v *Validator) bool { return v != nil && c.v == v }

// Token returns the raw token these claims came from, e.g. to forward it to
// another service. It logs as "REDACTED".
func (c *Claims) Token() Token { return c.token }

// Decode decodes the token's claims, all of them, into dst, which is a
// pointer to the caller's own struct (or map), as [json.Unmarshal] does. Use
// it for custom claims added by Logto's custom token claims script. The JSON
// is decoded only when Decode is called.
func (c *Claims) Decode(dst any) error {
	parts := strings.SplitN(string(c.token), ".", 3)
	if len(parts) != 3 {
		return newError(ErrMalformed, "claims hold no token to decode")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return wrapError(ErrMalformed, "claims are not base64url", err)
	}
	if err := json.Unmarshal(payload, dst); err != nil {
		return fmt.Errorf("authz: decoding custom claims: %w", err)
	}
	return nil
}

// wireClaims is the JSON shape of the claims, decoded once by golang-jwt.
type wireClaims struct {
	Iss      string      `json:"iss"`
	Sub      string      `json:"sub"`
	Aud      stringList  `json:"aud"`
	ClientID string      `json:"client_id"`
	Scope    scopeList   `json:"scope"`
	OrgID    *string     `json:"organization_id"`
	Act      *actor      `json:"act"`
	Exp      numericDate `json:"exp"`
	Nbf      numericDate `json:"nbf"`
	Iat      numericDate `json:"iat"`
	Jti      string      `json:"jti"`
}

type actor struct {
	Sub string `json:"sub"`
}

// UnmarshalJSON decodes the claims this package reads, in one pass over the
// top-level members and by exact name. encoding/json would match names
// case-insensitively (so a custom claim "Scope" or "ſcope" would fill
// "scope", and "EXP" after "exp" would override it), but claim names are
// case-sensitive (RFC 7519 section 4, RFC 7515 section 5.3). A claim read
// here must not appear twice. Other members are skipped; Claims.Decode
// reads them. b has been validated as JSON by encoding/json already.
func (w *wireClaims) UnmarshalJSON(b []byte) error {
	var seen [len(claimNames)]bool
	return eachMember(b, func(name []byte, value []byte) error {
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
var claimNames = [...]string{"iss", "sub", "aud", "client_id", "scope", "organization_id", "act", "exp", "nbf", "iat", "jti"}

func claimIndex(name []byte) int {
	for i, n := range claimNames {
		if string(name) == n {
			return i
		}
	}
	return -1
}

// decode decodes value into the claim claimNames[i].
func (w *wireClaims) decode(i int, value []byte) error {
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
		return w.Aud.UnmarshalJSON(value)
	case "scope":
		return w.Scope.UnmarshalJSON(value)
	case "exp":
		return w.Exp.UnmarshalJSON(value)
	case "nbf":
		return w.Nbf.UnmarshalJSON(value)
	case "iat":
		return w.Iat.UnmarshalJSON(value)
	default: // "act"
		if err := json.Unmarshal(value, &w.Act); err != nil {
			return wrapError(ErrMalformed, `"act" is not an object`, err)
		}
		return nil
	}
}

// jsonString decodes the JSON string value into dst; null leaves dst
// empty. The common case, no escapes and valid UTF-8, is a plain copy.
func jsonString(value []byte, claim string, dst *string) error {
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
func eachMember(b []byte, fn func(name, value []byte) error) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return newError(ErrMalformed, "claims are not a JSON object")
	}
	for i = skipSpace(b, i+1); i < len(b) && b[i] != '}'; {
		end := valueEnd(b, i) // the name is a string
		quoted := b[i:end]
		if len(quoted) < 2 {
			return newError(ErrMalformed, "claims are not a JSON object")
		}
		name := quoted[1 : len(quoted)-1]
		if bytes.IndexByte(quoted, '\\') >= 0 {
			var unescaped string
			if err := json.Unmarshal(quoted, &unescaped); err != nil {
				return wrapError(ErrMalformed, "a claim name is not a JSON string", err)
			}
			name = []byte(unescaped)
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return newError(ErrMalformed, "claims are not a JSON object")
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

// The jwt.Claims interface. Claims validation is ours (the parser runs with
// WithoutClaimsValidation), so these are never consulted.

func (*wireClaims) GetExpirationTime() (*jwt.NumericDate, error) { return nil, nil }
func (*wireClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return nil, nil }
func (*wireClaims) GetNotBefore() (*jwt.NumericDate, error)      { return nil, nil }
func (*wireClaims) GetIssuer() (string, error)                   { return "", nil }
func (*wireClaims) GetSubject() (string, error)                  { return "", nil }
func (*wireClaims) GetAudience() (jwt.ClaimStrings, error)       { return nil, nil }

// stringList is "aud": a string or an array of strings (RFC 7519 section 4.1.3).
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
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

func (l *scopeList) UnmarshalJSON(b []byte) error {
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

func (d *numericDate) UnmarshalJSON(b []byte) error {
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

// validate is Validate; see its documentation for the order of checks.
// With the cache on, a token seen before (the same bytes, by SHA-256) skips
// straight to the time checks, and concurrent first sightings of one token
// are verified once.
func (v *Validator) validate(ctx context.Context, raw string) (c *Claims, hit bool, err error) {
	if v.cache == nil {
		c, _, err := v.verify(ctx, raw)
		return c, false, err
	}
	if raw == "" || len(raw) > v.maxBytes {
		return nil, false, v.checkShape(raw)
	}
	key := cache.KeyOf(raw)
	now := v.now()
	if e, ok := v.cache.Get(key, now.UnixNano()); ok && e.set.Epoch() == e.epoch {
		if err := v.checkTimes(&e.claims, now); err != nil {
			return nil, true, err
		}
		return e.claims.clone(raw), true, nil
	}
	c, err, shared := v.flight.Do(key, ctx.Done(), func() error {
		return wrapError(ErrKeysUnavailable, "gave up waiting for the token's verification", ctx.Err())
	}, func() (*Claims, error) {
		c, e, err := v.verify(ctx, raw)
		if err == nil {
			deadline := min(c.ExpiresAt.Add(v.leeway).UnixNano(), now.Add(v.cacheTTL).UnixNano())
			v.cache.Put(key, e, deadline, now.UnixNano())
		}
		return c, err
	})
	if shared && c != nil {
		c = c.clone(raw) // every caller gets its own Claims
	}
	return c, false, err
}

// claimsBlock is a Claims and room for its slices, so that a copy of a
// cached Claims is a single allocation.
type claimsBlock struct {
	c   Claims
	buf [6]string
}

// clone returns a deep copy of c (its slices too: a caller may edit what it
// gets) carrying the raw token.
func (c *Claims) clone(raw string) *Claims {
	na, ns := len(c.Audience), len(c.Scopes)
	var out *Claims
	var buf []string
	if na+ns <= len(claimsBlock{}.buf) {
		b := &claimsBlock{c: *c}
		out, buf = &b.c, b.buf[:]
	} else {
		cp := *c
		out, buf = &cp, make([]string, na+ns)
	}
	out.token = Token(raw)
	if c.Audience != nil {
		out.Audience = buf[:na:na]
		copy(out.Audience, c.Audience)
	}
	if c.Scopes != nil {
		out.Scopes = buf[na : na+ns : na+ns]
		copy(out.Scopes, c.Scopes)
	}
	return out
}

// cached is a cache entry: the claims without the raw token, and the key
// set epoch read before the key was looked up.
type cached struct {
	claims Claims
	set    *jwks.Set
	epoch  uint64
}

// verify runs every check on a token not in the cache. It returns the
// claims and, for the cache, the entry to store.
func (v *Validator) verify(ctx context.Context, raw string) (*Claims, *cached, error) {
	v.verifications.Add(1)
	if err := v.checkShape(raw); err != nil {
		return nil, nil, err
	}
	var wc wireClaims
	var keyErr *Error
	entry := new(cached)
	keyfunc := func(t *jwt.Token) (any, error) {
		key, err := v.key(ctx, t, &wc, entry)
		if err != nil {
			keyErr = err
			return nil, err
		}
		return key, nil
	}
	if _, err := v.parser.ParseWithClaims(raw, &wc, keyfunc); err != nil {
		return nil, nil, parseError(err, keyErr)
	}
	// The claims are built in the cache entry, which keeps them; the caller
	// gets a deep copy, so that nothing it does to its Claims reaches the
	// cache. Without the cache, the caller gets the claims themselves.
	if err := v.claims(&entry.claims, &wc); err != nil {
		return nil, nil, err
	}
	if v.cache == nil {
		entry.claims.token = Token(raw)
		return &entry.claims, nil, nil
	}
	return entry.claims.clone(raw), entry, nil
}

// parseError maps golang-jwt's errors onto ours.
func parseError(err error, keyErr *Error) *Error {
	if keyErr != nil {
		return keyErr
	}
	var e *Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return wrapError(ErrSignature, "signature does not verify", err)
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return wrapError(ErrAlgorithm, `"alg" is missing or unknown`, err)
	default:
		return wrapError(ErrMalformed, "header or claims are not valid base64url JSON objects", err)
	}
}

// Classes of the bytes of a compact JWS, for checkShape.
const (
	charDot   = 1 // '.', separating the segments
	charOther = 2 // outside the base64url alphabet (RFC 4648 section 5) and '.'
)

var tokenChar = func() (t [256]byte) {
	for c := range t {
		t[c] = charOther
	}
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" {
		t[c] = 0
	}
	t['.'] = charDot
	return t
}()

// checkShape is rule 1: size, then three non-empty base64url segments.
func (v *Validator) checkShape(raw string) error {
	if raw == "" {
		return newError(ErrMissingToken, "")
	}
	if len(raw) > v.maxBytes {
		return newError(ErrMalformed, fmt.Sprintf("token is %d bytes, over the %d-byte limit", len(raw), v.maxBytes))
	}
	// A table, not a switch: base64url characters come in random order,
	// and a branch per character class mispredicts on most of them.
	var dots int
	var class byte
	for i := 0; i < len(raw); i++ {
		c := tokenChar[raw[i]]
		class |= c
		dots += int(c & charDot)
	}
	bad := class&charOther != 0
	switch {
	case dots == 0:
		return newError(ErrMalformed, v.opaqueHint)
	case dots == 4:
		return newError(ErrMalformed, "token has 5 segments: an encrypted JWT (JWE), which is not supported")
	case dots != 2:
		return newError(ErrMalformed, fmt.Sprintf("token has %d segments, want 3", dots+1))
	case bad:
		return newError(ErrMalformed, "token has a character outside the base64url alphabet (padding, whitespace or non-ASCII)")
	}
	return nil
}

// key implements rules 2 to 5 for golang-jwt, which has already decoded the
// header and claims: the algorithm, the type, the issuer, and the key by kid.
func (v *Validator) key(ctx context.Context, t *jwt.Token, wc *wireClaims, entry *cached) (any, *Error) {
	alg, _ := t.Header["alg"].(string)
	if !v.algs[alg] {
		return nil, newError(ErrAlgorithm, fmt.Sprintf("alg %s is not allowed", quoteSafe(alg)))
	}
	if _, ok := t.Header["crit"]; ok {
		return nil, newError(ErrAlgorithm, `header has "crit": no JWS extension is supported`)
	}
	if err := v.checkType(t.Header["typ"]); err != nil {
		return nil, err
	}
	set := v.issuers[wc.Iss]
	if set == nil {
		if wc.Iss == "" {
			return nil, newError(ErrIssuer, `token has no "iss"`)
		}
		return nil, newError(ErrIssuer, fmt.Sprintf("issuer %s is not trusted", quoteSafe(wc.Iss)))
	}
	if _, ok := t.Header["kid"].(string); !ok {
		return nil, newError(ErrUnknownKey, `token has no "kid"`)
	}
	entry.set, entry.epoch = set, set.Epoch() // before the lookup: see jwks.Set.Epoch
	wc.Iss = set.Issuer()                     // the configured string: one copy for every cached token
	key, err := set.Keyfunc(ctx)(t)
	switch {
	case err == nil:
		return key, nil
	case errors.Is(err, jwks.ErrUnavailable):
		return nil, wrapError(ErrKeysUnavailable, "the issuer's keys could not be loaded", err)
	case errors.Is(err, jwks.ErrNotFound):
		return nil, wrapError(ErrUnknownKey, `no key in the issuer's JWKS has the token's "kid"`, err)
	case ctx.Err() != nil:
		return nil, wrapError(ErrKeysUnavailable, "gave up waiting for the issuer's keys", err)
	default:
		return nil, wrapError(ErrUnknownKey, `the key with the token's "kid" is not for its "alg"`, err)
	}
}

// checkType is rule 3 (RFC 9068 section 2.1; media types compare
// case-insensitively, RFC 2045).
func (v *Validator) checkType(typ any) *Error {
	s, isString := typ.(string)
	switch {
	case strings.EqualFold(s, "at+jwt"), strings.EqualFold(s, "application/at+jwt"):
		return nil
	case v.relaxTyp && (typ == nil || strings.EqualFold(s, "JWT") || strings.EqualFold(s, "application/jwt")):
		return nil
	case typ == nil:
		return newError(ErrTokenType, `token has no "typ" header; an access token has "at+jwt" (RFC 9068)`)
	case !isString:
		return newError(ErrTokenType, `"typ" header is not a string`)
	default:
		return newError(ErrTokenType, fmt.Sprintf(`"typ" is %s, want "at+jwt" (is this an ID token?)`, quoteSafe(s)))
	}
}

// claims implements rules 7 and 8 on a token with a verified signature and
// builds its Claims.
func (v *Validator) claims(c *Claims, wc *wireClaims) error {
	orgID, orgAud, err := v.audience(wc.Aud)
	if err != nil {
		return err
	}
	if !wc.Exp.set {
		return newError(ErrMalformed, `token has no "exp"`)
	}
	*c = Claims{
		v:         v,
		Issuer:    wc.Iss,
		Subject:   wc.Sub,
		Audience:  wc.Aud,
		ClientID:  wc.ClientID,
		Scopes:    wc.Scope,
		ExpiresAt: wc.Exp.t,
		IssuedAt:  wc.Iat.t,
		NotBefore: wc.Nbf.t,
		TokenID:   wc.Jti,
	}
	if err := v.checkTimes(c, v.now()); err != nil {
		return err
	}
	if wc.Act != nil {
		c.Actor = wc.Act.Sub
	}
	switch {
	case orgAud && wc.OrgID != nil && *wc.OrgID != orgID:
		return newError(ErrMalformed, `"organization_id" contradicts the organization audience`)
	case orgAud:
		c.OrganizationID, c.org = orgID, true
	case wc.OrgID != nil:
		if !validOrgID(*wc.OrgID) {
			return newError(ErrMalformed, `"organization_id" is not a valid organization id`)
		}
		c.OrganizationID = *wc.OrgID
	}
	return nil
}

// checkTimes is rule 8: "exp", and "nbf" and "iat" when present, against
// now with the leeway (RFC 7519 sections 4.1.4 to 4.1.6).
func (v *Validator) checkTimes(c *Claims, now time.Time) *Error {
	if !now.Before(c.ExpiresAt.Add(v.leeway)) {
		return newError(ErrExpired, fmt.Sprintf("expired %v ago", now.Sub(c.ExpiresAt).Truncate(time.Second)))
	}
	if !c.NotBefore.IsZero() && now.Add(v.leeway).Before(c.NotBefore) {
		return newError(ErrNotYetValid, fmt.Sprintf(`"nbf" is %v in the future`, c.NotBefore.Sub(now).Truncate(time.Second)))
	}
	if !c.IssuedAt.IsZero() && now.Add(v.leeway).Before(c.IssuedAt) {
		return newError(ErrNotYetValid, fmt.Sprintf(`"iat" is %v in the future`, c.IssuedAt.Sub(now).Truncate(time.Second)))
	}
	return nil
}

// quoteSafe quotes a value taken from an unverified token for an error
// message, or says it was withheld when it is long or has unusual bytes.
func quoteSafe(s string) string {
	if len(s) > 64 {
		return "(withheld: too long)"
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			return "(withheld: unprintable)"
		}
	}
	return strconv.Quote(s)
}
