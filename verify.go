package authz

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/seed31d61d31/authz/internal/jwks"
)

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
