package authz

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/golang-jwt/jwt/v5"
	"github.com/seed31d61d31/authz/internal/ecverify"
	"github.com/seed31d61d31/authz/internal/jwks"
	"github.com/seed31d61d31/authz/internal/pkcs1"
)

// verify runs every check on a token that is not in the cache, in the
// order Validate's documentation lists them, and returns the cache entry it
// builds: the claims (without the raw token) and the key set epoch read
// before the key was looked up. It calls keyfunc for the key by "kid" and
// golang-jwt for the signature; neither calls back into it.
func (v *Validator) verify(ctx context.Context, raw string) (*cached, error) {
	// 1. Size and shape.
	if err := v.checkShape(raw); err != nil {
		return nil, err
	}
	dot1 := strings.IndexByte(raw, '.')
	dot2 := dot1 + 1 + strings.IndexByte(raw[dot1+1:], '.')

	// 2. Header: a UTF-8 JSON object without duplicate members, "alg" in
	// the allow-list, no "crit".
	h, err := parseHeader(raw[:dot1])
	if err != nil {
		return nil, err
	}
	if !v.algs[h.alg] {
		return nil, newError(ErrAlgorithm, fmt.Sprintf("alg %s is not allowed", quoteSafe(h.alg)))
	}
	if h.crit {
		return nil, newError(ErrAlgorithm, `header has "crit": no JWS extension is supported`)
	}

	// 3. "typ".
	if err := v.checkType(&h); err != nil {
		return nil, err
	}

	// 4. "iss", read from the claims (not yet trusted), chooses the key set.
	var wc wireClaims
	if err := decodeClaims(raw[dot1+1:dot2], &wc); err != nil {
		return nil, err
	}
	set := v.issuers[wc.Iss]
	var ten *tenant
	if set == nil {
		if wc.Iss == "" {
			return nil, newError(ErrIssuer, `token has no "iss"`)
		}
		if v.resolved == nil {
			return nil, newError(ErrIssuer, fmt.Sprintf("issuer %s is not trusted; trusted: %s", quoteSafe(wc.Iss), v.trusted))
		}
		// Not configured: the resolver decides, before any I/O for it.
		t, err := v.resolved.set(ctx, wc.Iss)
		if err != nil {
			return nil, err
		}
		ten, set = t, t.set
	}
	wc.Iss = set.Issuer() // the configured string: one copy for every cached token

	// 5. The key, by "kid", from that issuer's set. The epoch is read
	// before the lookup: see jwks.Set.Epoch.
	e := &cached{set: set, epoch: set.Epoch(), tenant: ten}
	key, err := v.key(ctx, set, &h)
	if err != nil {
		return nil, err
	}

	// 6. The signature, over the first two segments as they are.
	if err := verifySignature(set, &h, raw[:dot2], raw[dot2+1:], key); err != nil {
		return nil, err
	}

	// 7 and 8. "aud", then the times.
	var apis []string
	if ten != nil {
		apis = ten.audiences
	}
	if err := v.claims(&e.claims, &wc, apis); err != nil {
		return nil, err
	}
	return e, nil
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

// key is rule 5: the key under the token's "kid" in the issuer's set,
// through keyfunc, which also refuses a key whose "alg" is not the
// token's.
func (v *Validator) key(ctx context.Context, set *jwks.Set, h *joseHeader) (any, *Error) {
	if !h.hasKID {
		return nil, newError(ErrUnknownKey, `token has no "kid"`)
	}
	t := jwt.Token{Header: map[string]any{"kid": h.kid, "alg": h.alg}}
	key, err := set.Keyfunc(ctx)(&t)
	switch {
	case err == nil:
		return key, nil
	case ctx.Err() != nil:
		// The caller stopped waiting for a fetch: that says nothing
		// about the token.
		return nil, wrapError(ErrKeysUnavailable, "gave up waiting for the issuer's keys", errors.Join(ctx.Err(), err))
	case errors.Is(err, jwks.ErrUnavailable):
		return nil, wrapError(ErrKeysUnavailable, "the issuer's keys could not be loaded", err)
	case errors.Is(err, jwks.ErrNotFound):
		return nil, wrapError(ErrUnknownKey, `no key in the issuer's JWKS has the token's "kid"`, err)
	default:
		// The kid is known and keys are loaded: keyfunc refused the key
		// because its "alg" is not the token's. An algorithm-confusion
		// attempt, not a rotation.
		return nil, wrapError(ErrAlgorithm, fmt.Sprintf(`the key under the token's "kid" is not for alg %s`, quoteSafe(h.alg)), err)
	}
}

// b64 decodes base64url without padding, strictly: a value has one
// spelling, not several that differ in unused trailing bits.
var b64 = base64.RawURLEncoding.Strict()

// verifySignature is rule 6: the signature sigSeg over signing, with key,
// by the key's prepared verifier when it has one (ES384), else by
// golang-jwt's implementation of the header's alg.
func verifySignature(set *jwks.Set, h *joseHeader, signing, sigSeg string, key any) *Error {
	sig, err := decodeSegment(sigSeg)
	if err != nil {
		return wrapError(ErrMalformed, "signature is not base64url", err)
	}
	alg := h.alg
	switch alg {
	case "ES384", "ES256":
		if pv := set.ECDSA(h.kid, key); pv != nil {
			return verifyECDSA(pv, alg == "ES384", signing, sig)
		}
	case "RS256", "RS384", "RS512":
		if pv := set.RSA(h.kid, key); pv != nil {
			return verifyPKCS1(pv, rsaHashes[alg], signing, sig)
		}
	}
	// Every algorithm of the allow-list is one golang-jwt implements.
	if err := jwt.GetSigningMethod(alg).Verify(signing, sig, key); err != nil {
		return wrapError(ErrSignature, "signature does not verify", err)
	}
	return nil
}

// decodeSegment decodes the base64url segment seg.
func decodeSegment(seg string) ([]byte, error) {
	dst := make([]byte, b64.DecodedLen(len(seg)))
	n, err := b64.Decode(dst, unsafe.Slice(unsafe.StringData(seg), len(seg)))
	return dst[:n], err
}

// checkType is rule 3 (RFC 9068 section 2.1; media types compare
// case-insensitively, RFC 2045).
func (v *Validator) checkType(h *joseHeader) *Error {
	switch s := h.typ; {
	case h.typString && (strings.EqualFold(s, "at+jwt") || strings.EqualFold(s, "application/at+jwt")):
		return nil
	case v.relaxTyp && (!h.hasTyp || h.typString && (strings.EqualFold(s, "JWT") || strings.EqualFold(s, "application/jwt"))):
		return nil
	case !h.hasTyp:
		return newError(ErrTokenType, `token has no "typ" header; an access token has "at+jwt" (RFC 9068)`)
	case !h.typString:
		return newError(ErrTokenType, `"typ" header is not a string`)
	default:
		return newError(ErrTokenType, fmt.Sprintf(`"typ" is %s, want "at+jwt" (is this an ID token?)`, quoteSafe(s)))
	}
}

// claims implements rules 7 and 8 on a token with a verified signature and
// builds its Claims.
func (v *Validator) claims(c *Claims, wc *wireClaims, apis []string) error {
	orgID, orgAud, err := v.audience(wc.Aud, apis)
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

		KeyThumbprint: wc.Cnf.jkt,
		bound:         wc.Cnf.set,
	}
	if err := v.checkTimes(c, v.now()); err != nil {
		return err
	}
	c.Actor = wc.ActSub
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

// rsaHashes are the digests of the RS* algorithms (RFC 7518 section 3.3).
var rsaHashes = map[string]crypto.Hash{"RS256": crypto.SHA256, "RS384": crypto.SHA384, "RS512": crypto.SHA512}

// verifyPKCS1 checks an RS* JWS signature over signing with a prepared
// verifier, as golang-jwt's RS* methods do with crypto/rsa.
func verifyPKCS1(pv *pkcs1.Verifier, hash crypto.Hash, signing string, sig []byte) *Error {
	var digest [64]byte
	w := hash.New()
	w.Write(unsafe.Slice(unsafe.StringData(signing), len(signing)))
	if !pv.Verify(hash, w.Sum(digest[:0]), sig) {
		return newError(ErrSignature, "signature does not verify")
	}
	return nil
}

// verifyECDSA checks an ES384 (or ES256) JWS signature, r || s in 48 (or
// 32) bytes each (RFC 7518 section 3.4), over signing with a prepared
// verifier, as golang-jwt's ES* methods do with crypto/ecdsa.
func verifyECDSA(pv *ecverify.Verifier, p384 bool, signing string, sig []byte) *Error {
	in := unsafe.Slice(unsafe.StringData(signing), len(signing))
	var digest [48]byte
	size := 32
	if p384 {
		size, digest = 48, sha512.Sum384(in)
	} else {
		d := sha256.Sum256(in)
		copy(digest[:], d[:])
	}
	if len(sig) != 2*size {
		return newError(ErrSignature, "signature does not verify")
	}
	r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
	if !pv.Verify(digest[:size], r, s) {
		return newError(ErrSignature, "signature does not verify")
	}
	return nil
}
