package authz

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/seed31d61d31/authz/internal/cache"
	"github.com/seed31d61d31/authz/internal/thumbprint"
)

// DPoPMode says which schemes a transport (the middleware, grpcauthz)
// accepts tokens with: Bearer (RFC 6750), DPoP (RFC 9449), or both.
type DPoPMode int

const (
	// BearerOnly accepts bearer tokens only, the default. A token bound to
	// a key (DPoP or otherwise) is refused: it is not a bearer token
	// ([ErrSenderConstrained]).
	BearerOnly DPoPMode = iota
	// DPoPAllowed accepts unbound tokens with the Bearer scheme and
	// DPoP-bound tokens with the DPoP scheme and their proof.
	DPoPAllowed
	// DPoPRequired accepts only DPoP-bound tokens, with the DPoP scheme
	// and their proof.
	DPoPRequired
)

// Valid reports whether m is one of the modes above.
func (m DPoPMode) Valid() bool { return m >= BearerOnly && m <= DPoPRequired }

// String is the mode's name: "BearerOnly", "DPoPAllowed" or "DPoPRequired".
func (m DPoPMode) String() string {
	switch m {
	case BearerOnly:
		return "BearerOnly"
	case DPoPAllowed:
		return "DPoPAllowed"
	case DPoPRequired:
		return "DPoPRequired"
	}
	return fmt.Sprintf("DPoPMode(%d)", int(m))
}

// DPoPRequest is what a DPoP proof (RFC 9449) is checked against: the
// proof a request carried, and the request.
type DPoPRequest struct {
	// Proof is the value of the request's one "DPoP" header: a JWT.
	Proof string
	// Method is the request's HTTP method ("GET"); the proof's "htm" must
	// be exactly this.
	Method string
	// URL is the absolute URL the client sent the request to
	// ("https://api.example.com/documents"); the proof's "htu" must be the
	// same URL, compared after RFC 3986 normalization, with query and
	// fragment ignored. Behind a proxy, it is the external URL, as the
	// client saw it.
	URL string
}

// DPoPConfig configures the DPoP proofs a [Validator] accepts
// ([WithDPoP]). The zero value is the defaults.
type DPoPConfig struct {
	// Algorithms are the algorithms a proof may be signed with. Default
	// [DefaultDPoPAlgorithms]. Only asymmetric algorithms are allowed:
	// never "none" or HMAC.
	Algorithms []string
	// Window is how long after its "iat" a proof is accepted, on top of the
	// validator's leeway ([WithLeeway]), which also allows an "iat" that
	// far in the future. Default [DefaultDPoPWindow]; at most an hour.
	Window time.Duration
	// Replay remembers the proofs already used. Default a
	// [NewMemoryReplayCache] of [DefaultReplayCapacity] proofs, which does
	// not see proofs sent to other replicas: give replicas a shared cache
	// (Redis, for one) when a proof replayed to another replica must fail.
	Replay ReplayCache
	// Nonces, when set, makes every proof carry a server nonce ("nonce",
	// RFC 9449 section 9) that Nonces issued, so that a proof cannot be
	// made in advance. A proof without a valid one is refused with
	// [ErrDPoPNonce], and the client is given the current nonce (the
	// middleware sends it in the DPoP-Nonce header). Default none.
	Nonces NonceSource
}

// DefaultDPoPAlgorithms are the proof algorithms accepted by default: every
// asymmetric JWS algorithm this package verifies.
var DefaultDPoPAlgorithms = []string{"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"}

// DefaultDPoPWindow is how long after its "iat" a proof is accepted by
// default. A proof is made for one request and sent at once; the window
// only absorbs transit, and the leeway the difference of clocks.
const DefaultDPoPWindow = time.Minute

// maxProofBytes bounds a DPoP proof: a header with an RSA 4096 key and the
// claims fit in 2 KiB.
const maxProofBytes = 4 << 10

// maxJTIBytes bounds a proof's "jti".
const maxJTIBytes = 256

// WithDPoP makes the validator accept DPoP-bound tokens with their proofs
// ([Validator.ValidateDPoP]), as c says. Without it, ValidateDPoP refuses
// every request. [Validator.Validate] refuses DPoP-bound tokens either
// way: they are not bearer tokens.
func WithDPoP(c DPoPConfig) Option {
	return optionFunc(func(cfg *config) {
		cp := c
		cp.Algorithms = append([]string(nil), c.Algorithms...)
		cfg.dpop = &cp
	})
}

// dpopState is a validator's DPoP configuration, checked by New.
type dpopState struct {
	algs   map[string]bool
	list   []string // the allowed algorithms, in the configured order
	window time.Duration
	replay ReplayCache
	nonces NonceSource
	// keys remembers the proof keys seen lately, by the SHA-256 of their
	// "jwk" JSON and "alg": a client signs every proof of a token with
	// one key, so parsing the key and its thumbprint is done once per
	// client, not per request.
	keys *cache.Cache[*proofKey]
}

// proofKey is a parsed "jwk" of a proof, fit for its "alg".
type proofKey struct {
	key any
	jkt string
}

// Bounds of the proof key cache: entries, and how long one is kept.
const (
	proofKeyEntries = 1 << 12
	proofKeyTTL     = 10 * time.Minute
)

// newDPoPState checks c and fills in the defaults.
func newDPoPState(c *DPoPConfig) (*dpopState, error) {
	d := &dpopState{algs: map[string]bool{}, window: c.Window, replay: c.Replay, nonces: c.Nonces, keys: cache.New[*proofKey](proofKeyEntries)}
	algs := c.Algorithms
	if len(algs) == 0 {
		algs = DefaultDPoPAlgorithms
	}
	for _, a := range algs {
		if _, ok := proofKeyFits[a]; !ok {
			return nil, fmt.Errorf("authz: WithDPoP: algorithm %q is not an asymmetric JWS algorithm (want some of %s)", a, strings.Join(DefaultDPoPAlgorithms, ", "))
		}
		if !d.algs[a] {
			d.algs[a] = true
			d.list = append(d.list, a)
		}
	}
	switch {
	case d.window == 0:
		d.window = DefaultDPoPWindow
	case d.window < 0 || d.window > time.Hour:
		return nil, fmt.Errorf("authz: WithDPoP: Window %v is not between 0 and an hour", c.Window)
	}
	if d.replay == nil {
		d.replay = NewMemoryReplayCache(DefaultReplayCapacity)
	}
	return d, nil
}

// DPoPAlgorithms returns the algorithms a DPoP proof may be signed with, for
// the "algs" of a DPoP challenge (RFC 9449 section 7.1), or nil when the
// validator does not accept DPoP ([WithDPoP]).
func (v *Validator) DPoPAlgorithms() []string {
	if v.dpop == nil {
		return nil
	}
	return append([]string(nil), v.dpop.list...)
}

// DPoPNonce returns the server nonce a DPoP client must put in its next
// proofs, for the DPoP-Nonce response header (RFC 9449 section 8), or ""
// when the validator asks for none ([DPoPConfig].Nonces).
func (v *Validator) DPoPNonce() string {
	if v.dpop == nil || v.dpop.nonces == nil {
		return ""
	}
	return v.dpop.nonces.Nonce(v.now())
}

// ValidateDPoP validates an access token presented with the DPoP scheme
// (RFC 9449 section 7.1) and the proof of its request. The token passes
// every check of [Validator.Validate] but the last, and must be bound to a
// DPoP key ("cnf.jkt"). The proof (section 4.3) must be a JWT with
// "typ" "dpop+jwt", an allowed asymmetric "alg" and a public key in "jwk"
// (no private key) that verifies its signature; its "htm" and "htu" must
// be the request's method and URL; its "iat" within the window; its "ath"
// the hash of the token; its key the one "cnf.jkt" names (an RFC 7638
// thumbprint); with [DPoPConfig].Nonces, its "nonce" a current server
// nonce; and its "jti" new to the replay cache, which then remembers it
// until the proof is too old to be accepted anyway.
//
// A defect of the proof is [ErrDPoPProof], a missing or stale nonce
// [ErrDPoPNonce]; a replay cache that cannot
// answer is [ErrReplayUnavailable], never an acceptance. It needs
// [WithDPoP]: without it every call fails with [ErrInvalidRequest].
func (v *Validator) ValidateDPoP(ctx context.Context, token string, req DPoPRequest) (*Claims, error) {
	if v.dpop == nil {
		return nil, newError(ErrInvalidRequest, "this API does not accept DPoP")
	}
	return v.validateAs(ctx, token, &req)
}

// checkProof is the proof's part of ValidateDPoP, for claims c of the
// token whose SHA-256 is digest.
func (v *Validator) checkProof(ctx context.Context, digest *cache.Key, c *Claims, req *DPoPRequest) *Error {
	d := v.dpop
	if c.KeyThumbprint == "" {
		return newError(ErrDPoPProof, `the token is not bound to a DPoP key (it has no "cnf.jkt"): send it with the Bearer scheme`)
	}
	p, err := d.parseProof(req.Proof, v.now())
	if err != nil {
		return err
	}
	if jerr := jwt.GetSigningMethod(p.alg).Verify(p.signing, p.sig, p.key); jerr != nil {
		return wrapError(ErrDPoPProof, "proof signature does not verify with its jwk", jerr)
	}
	now := v.now()
	switch {
	case p.htm != req.Method:
		return newError(ErrDPoPProof, fmt.Sprintf(`proof "htm" is %s, not this request's method`, quoteSafe(p.htm)))
	case !sameHTU(p.htu, req.URL):
		return newError(ErrDPoPProof, `proof "htu" is not this request's URL`)
	case p.iat.Before(now.Add(-d.window - v.leeway)):
		return newError(ErrDPoPProof, fmt.Sprintf(`proof "iat" is %v old, over the %v allowed`, now.Sub(p.iat).Truncate(time.Second), d.window+v.leeway))
	case p.iat.After(now.Add(v.leeway)):
		return newError(ErrDPoPProof, fmt.Sprintf(`proof "iat" is %v in the future`, p.iat.Sub(now).Truncate(time.Second)))
	case !sameHash(p.ath, digest):
		return newError(ErrDPoPProof, `proof "ath" is not the hash of this token`)
	case p.jkt != c.KeyThumbprint:
		return newError(ErrDPoPProof, `proof is signed by another key than the one the token is bound to ("cnf.jkt")`)
	case d.nonces != nil && p.nonce == "":
		return newError(ErrDPoPNonce, `proof has no "nonce": use the server's (the DPoP-Nonce header)`)
	case d.nonces != nil && !d.nonces.Valid(p.nonce, now):
		return newError(ErrDPoPNonce, `proof "nonce" is not a current server nonce: use the one in the DPoP-Nonce header`)
	}
	// Last: only a proof that passed every check is remembered, so that a
	// forged proof cannot use up a jti. A proof is named by its key and its
	// "jti", so that one client's identifiers never collide with
	// another's.
	replayed, rerr := d.replay.Remember(ctx, p.jkt+":"+p.jti, now, p.iat.Add(d.window+v.leeway))
	switch {
	case rerr != nil:
		return wrapError(ErrReplayUnavailable, "the DPoP replay cache could not be consulted", rerr)
	case replayed:
		return newError(ErrDPoPProof, `proof was used before (its "jti" is replayed)`)
	}
	return nil
}

// sameHash reports whether ath, a proof's "ath", is base64url(digest), the
// SHA-256 of the token (RFC 9449 section 4.2).
func sameHash(ath string, digest *cache.Key) bool {
	var b [sha256.Size]byte
	if len(ath) != base64.RawURLEncoding.EncodedLen(len(b)) {
		return false
	}
	n, err := b64.Decode(b[:], []byte(ath))
	return err == nil && n == len(b) && b == *digest
}

// proof is a parsed DPoP proof, its signature not yet verified.
type proof struct {
	alg, jkt      string
	key           any
	signing       string // the signing input
	sig           []byte
	jti, htm, htu string
	ath, nonce    string
	iat           time.Time
	buf           []byte // the decoded segments, one after the other
}

// proofKeyFits says, for each allowed algorithm, whether a proof key fits
// it.
var proofKeyFits = map[string]func(any) bool{
	"ES256": ecOn(elliptic.P256()), "ES384": ecOn(elliptic.P384()), "ES512": ecOn(elliptic.P521()),
	"RS256": rsaKey, "RS384": rsaKey, "RS512": rsaKey, "PS256": rsaKey, "PS384": rsaKey, "PS512": rsaKey,
	"EdDSA": func(k any) bool { _, ok := k.(ed25519.PublicKey); return ok },
}

func ecOn(c elliptic.Curve) func(any) bool {
	return func(k any) bool { e, ok := k.(*ecdsa.PublicKey); return ok && e.Curve == c }
}

func rsaKey(k any) bool { r, ok := k.(*rsa.PublicKey); return ok && r.N.BitLen() >= 2048 }

// privateMembers are the JWK members of private or symmetric key material
// (RFC 7518 sections 6.2.2, 6.3.2 and 6.4; RFC 8037 section 2).
var privateMembers = map[string]bool{"d": true, "p": true, "q": true, "dp": true, "dq": true, "qi": true, "oth": true, "k": true}

// parseProof decodes raw and checks its form: "typ", "alg", "jwk" and the
// claims RFC 9449 section 4.2 requires.
func (d *dpopState) parseProof(raw string, now time.Time) (*proof, *Error) {
	switch {
	case raw == "":
		return nil, newError(ErrDPoPProof, "the request has no DPoP proof")
	case len(raw) > maxProofBytes:
		return nil, newError(ErrDPoPProof, fmt.Sprintf("proof is %d bytes, over the %d-byte limit", len(raw), maxProofBytes))
	case strings.Count(raw, ".") != 2:
		return nil, newError(ErrDPoPProof, "proof is not a JWT (three base64url segments)")
	}
	for i := 0; i < len(raw); i++ {
		if tokenChar[raw[i]] == charOther {
			return nil, newError(ErrDPoPProof, "proof has a character outside the base64url alphabet")
		}
	}
	dot1 := strings.IndexByte(raw, '.')
	dot2 := strings.LastIndexByte(raw, '.')
	p := &proof{signing: raw[:dot2]}
	jwk, err := p.header(raw[:dot1], d)
	if err != nil {
		return nil, err
	}
	ck := cache.KeyOf(p.alg + " " + string(jwk))
	if k, ok := d.keys.Get(ck, now.UnixNano()); ok {
		p.key, p.jkt = k.key, k.jkt
	} else {
		if err := p.parseKey(jwk); err != nil {
			return nil, err
		}
		d.keys.Put(ck, &proofKey{key: p.key, jkt: p.jkt}, now.Add(proofKeyTTL).UnixNano(), now.UnixNano())
	}
	if err := p.claims(raw[dot1+1 : dot2]); err != nil {
		return nil, err
	}
	sig, derr := p.decode(raw[dot2+1:])
	if derr != nil || len(sig) == 0 {
		return nil, newError(ErrDPoPProof, "proof signature is not base64url")
	}
	p.sig = sig
	return p, nil
}

// decode decodes the base64url segment seg into the next bytes of p.buf.
func (p *proof) decode(seg string) ([]byte, error) {
	if p.buf == nil {
		p.buf = make([]byte, 0, b64.DecodedLen(len(p.signing)+1+len(seg))+8)
	}
	start := len(p.buf)
	n := b64.DecodedLen(len(seg))
	if cap(p.buf)-start < n {
		p.buf = append(p.buf, make([]byte, n)...)[:start]
	}
	m, err := b64.Decode(p.buf[start:start+n], unsafe.Slice(unsafe.StringData(seg), len(seg)))
	p.buf = p.buf[:start+m]
	return p.buf[start : start+m : start+m], err
}

// decodeProofSegment decodes a proof's header or claims segment, UTF-8
// JSON, into p's buffer.
func (p *proof) decodeProofSegment(seg, what string) ([]byte, *Error) {
	b, err := p.decode(seg)
	if err != nil {
		return nil, newError(ErrDPoPProof, "proof "+what+" is not base64url")
	}
	if err := checkJSON(b, "proof "+what); err != nil {
		err.Kind = ErrDPoPProof
		return nil, err
	}
	return b, nil
}

// proofMembers is uniqueMembers for a proof: every error is ErrDPoPProof.
func proofMembers(b []byte, what string, fn func(name, value []byte) *Error) *Error {
	err := uniqueMembers(b, what, ErrDPoPProof, fn)
	if err != nil {
		err.Kind = ErrDPoPProof
	}
	return err
}

// header reads the proof header: "typ" must be dpop+jwt, "alg" allowed,
// no "crit"; it returns "jwk", undecoded.
func (p *proof) header(seg string, d *dpopState) ([]byte, *Error) {
	b, err := p.decodeProofSegment(seg, "header")
	if err != nil {
		return nil, err
	}
	var typ string
	var jwk []byte
	crit := false
	err = proofMembers(b, "proof header", func(name, value []byte) *Error {
		switch string(name) {
		case "typ":
			return proofString(value, "typ", &typ)
		case "alg":
			return proofString(value, "alg", &p.alg)
		case "jwk":
			jwk = value
		case "crit":
			crit = true
		}
		return nil
	})
	switch {
	case err != nil:
		return nil, err
	case !strings.EqualFold(typ, "dpop+jwt"):
		return nil, newError(ErrDPoPProof, fmt.Sprintf(`proof "typ" is %s, not "dpop+jwt"`, quoteSafe(typ)))
	case !d.algs[p.alg]:
		return nil, newError(ErrDPoPProof, fmt.Sprintf(`proof "alg" %s is not allowed (allowed: %s)`, quoteSafe(p.alg), strings.Join(d.list, " ")))
	case crit:
		return nil, newError(ErrDPoPProof, `proof header has "crit": no extension is supported`)
	case jwk == nil || jwk[0] != '{':
		return nil, newError(ErrDPoPProof, `proof header has no "jwk" object`)
	}
	return jwk, nil
}

// parseKey reads the proof's "jwk": a public key, fitting "alg", whose
// thumbprint it records.
func (p *proof) parseKey(raw []byte) *Error {
	err := proofMembers(raw, `proof "jwk"`, func(name, _ []byte) *Error {
		if privateMembers[string(name)] {
			return newError(ErrDPoPProof, fmt.Sprintf(`proof "jwk" holds private key material (%q): it must be the public key only`, name))
		}
		return nil
	})
	if err != nil {
		return err
	}
	var m jwkset.JWKMarshal
	if jerr := json.Unmarshal(raw, &m); jerr != nil {
		return newError(ErrDPoPProof, `proof "jwk" is not a JWK`)
	}
	jwk, jerr := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
	if jerr != nil {
		return newError(ErrDPoPProof, `proof "jwk" is not a valid public key`)
	}
	if !proofKeyFits[p.alg](jwk.Key()) {
		return newError(ErrDPoPProof, fmt.Sprintf(`proof "jwk" is not a key for %s`, p.alg))
	}
	jkt, terr := thumbprint.Of(m)
	if terr != nil {
		return newError(ErrDPoPProof, `proof "jwk" has no thumbprint`)
	}
	p.key, p.jkt = jwk.Key(), jkt
	return nil
}

// claims reads the proof's claims: "jti", "htm", "htu", "iat" and "ath",
// all required (RFC 9449 sections 4.2 and 7.1).
func (p *proof) claims(seg string) *Error {
	b, err := p.decodeProofSegment(seg, "claims")
	if err != nil {
		return err
	}
	var iat numericDate
	err = proofMembers(b, "proof claims", func(name, value []byte) *Error {
		switch string(name) {
		case "jti":
			return proofString(value, "jti", &p.jti)
		case "htm":
			return proofString(value, "htm", &p.htm)
		case "htu":
			return proofString(value, "htu", &p.htu)
		case "ath":
			return proofString(value, "ath", &p.ath)
		case "nonce":
			return proofString(value, "nonce", &p.nonce)
		case "iat":
			if e := iat.decode(value); e != nil {
				e.Kind = ErrDPoPProof
				return e
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, c := range [...]struct{ name, value string }{{"jti", p.jti}, {"htm", p.htm}, {"htu", p.htu}, {"ath", p.ath}} {
		if c.value == "" {
			return newError(ErrDPoPProof, fmt.Sprintf("proof has no %q", c.name))
		}
	}
	if !iat.set {
		return newError(ErrDPoPProof, `proof has no "iat"`)
	}
	if len(p.jti) > maxJTIBytes {
		return newError(ErrDPoPProof, fmt.Sprintf(`proof "jti" is over %d bytes`, maxJTIBytes))
	}
	p.iat = iat.t
	return nil
}

// proofString decodes the proof member name, which must be a string. The
// common string, without escapes, is a view of value rather than a copy:
// a proof's segments are decoded into a buffer of their own, which nothing
// writes to after, and whose strings live only as long as the check.
func proofString(value []byte, name string, dst *string) *Error {
	if len(value) < 2 || value[0] != '"' {
		return newError(ErrDPoPProof, fmt.Sprintf("proof %q is not a string", name))
	}
	if inner := value[1 : len(value)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		*dst = unsafe.String(unsafe.SliceData(inner), len(inner))
		return nil
	}
	if err := jsonString(value, name, dst); err != nil {
		err.Kind = ErrDPoPProof
		return err
	}
	return nil
}
