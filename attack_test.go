package authz_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
)

// attackRow is one hostile input. RFC 8725 (JWT BCP) and RFC 9068 section 4
// say why each must fail; want is the exact kind of failure.
type attackRow struct {
	name      string
	why       string                    // one sentence: why it must fail
	validator *authz.Validator          // nil: the API validator of the ES384 issuer
	token     func(t *testing.T) string // builds the input; may change issuer state
	want      error                     // the sentinel the failure must match
}

// attackEnv holds the issuers, keys and validators the rows are built from.
type attackEnv struct {
	f       *fixture // ES384 issuer (Logto's default) and an API validator
	now     time.Time
	es256   *fixture // ES256 issuer
	rsa     *fixture // RS256 issuer, RSA JWK without "alg" (as Logto publishes)
	other   *authztest.Issuer
	anyOrg  *authz.Validator // organization tokens of any organization, f's issuer
	orgA    *authz.Validator // organization tokens of org-a only
	big     *authz.Validator // f's issuer with a 4 MiB token limit
	bi      *byteIssuer      // signs any bytes with a trusted ES384 key
	biV     *authz.Validator // trusts bi, API audience
	biBig   *authz.Validator // trusts bi, 4 MiB token limit
	rotated *fixture         // its keys are rotated by a row
	// redirected trusts an issuer whose JWKS URL redirects https -> http
	// -> https to the attacker's keys (redirectKeys.bad).
	redirected   *authz.Validator
	redirectKeys *redirects
	// replacing trusts an issuer whose key under kid "k" a row replaces:
	// replaceKey swaps replacingKeys[0] for replacingKeys[1].
	replacing     *authz.Validator
	replacingIss  string
	replaceKey    func(*ecdsa.PrivateKey)
	replacingKeys [2]*ecdsa.PrivateKey
	staged        *fixture // a next key is staged by a row

	// The attacker's own keys, and a loopback server offering them.
	atkEC384   *ecdsa.PrivateKey
	atkEC256   *ecdsa.PrivateKey
	atkRSA     *rsa.PrivateKey
	atkEd      ed25519.PrivateKey
	atkJWK     map[string]any // public JWK of atkEC384
	atkCert    []byte         // self-signed certificate (DER) for atkEC384
	atkSrv     *httptest.Server
	atkFetches atomic.Int64
}

const (
	evilIssuer = "https://evil.example/oidc"
	bigLimit   = 4 << 20
	// attackerKID is the "kid" of the attacker's key: published nowhere.
	attackerKID = "attacker-key-1"
)

func newAttackEnv(t *testing.T) *attackEnv {
	t.Helper()
	e := &attackEnv{f: newFixture(t, []string{api}, nil)}
	e.now = e.f.clock.Now()
	e.es256 = newFixture(t, []string{api}, []authztest.Option{authztest.WithAlgorithm("ES256")})
	e.rsa = newFixture(t, []string{api}, []authztest.Option{authztest.WithAlgorithm("RS256")})
	var err error
	e.other, err = authztest.NewIssuer(authztest.WithClock(e.f.clock.Now))
	require.NoError(t, err)
	t.Cleanup(e.other.Close)
	validator := func(audiences []string, opts ...authz.Option) *authz.Validator {
		v, err := authz.New(e.f.iss.URL(), audiences, append([]authz.Option{authz.WithClock(e.f.clock.Now)}, opts...)...)
		require.NoError(t, err)
		t.Cleanup(v.Close)
		return v
	}
	e.anyOrg = validator([]string{authz.AnyOrganization})
	e.orgA = validator([]string{authz.OrganizationAudience("org-a")})
	e.big = validator([]string{api}, authz.WithMaxTokenBytes(bigLimit))
	e.bi = newByteIssuer(t)
	e.biV = e.bi.validator(t, e.f.clock.Now, []string{api})
	e.biBig = e.bi.validator(t, e.f.clock.Now, []string{api}, authz.WithMaxTokenBytes(bigLimit))
	e.rotated = newFixture(t, []string{api}, nil)
	e.redirectKeys = newRedirects(t)
	e.redirected = e.redirectKeys.validator(t, "/chain", authz.WithClock(e.f.clock.Now))
	for i := range e.replacingKeys {
		e.replacingKeys[i], err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		require.NoError(t, err)
	}
	var jwksURL string
	e.replacingIss, jwksURL, e.replaceKey = replaceableJWKS(t, e.replacingKeys[0])
	e.replacing, err = authz.New(e.replacingIss, []string{api}, authz.WithJWKSURL(e.replacingIss, jwksURL),
		authz.WithRefreshCooldown(0), authz.WithClock(e.f.clock.Now))
	require.NoError(t, err)
	t.Cleanup(e.replacing.Close)
	e.staged = newFixture(t, []string{api}, nil)

	e.atkEC384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	e.atkEC256, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	e.atkRSA, err = rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	_, e.atkEd, err = ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	jwk, err := jwkset.NewJWKFromKey(&e.atkEC384.PublicKey, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{
		ALG: jwkset.AlgES384, KID: attackerKID, USE: jwkset.UseSig,
	}})
	require.NoError(t, err)
	jwkJSON, err := json.Marshal(jwk.Marshal())
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(jwkJSON, &e.atkJWK))
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "attacker"},
		NotBefore: e.now.Add(-time.Hour), NotAfter: e.now.Add(time.Hour),
	}
	e.atkCert, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, &e.atkEC384.PublicKey, e.atkEC384)
	require.NoError(t, err)
	jwksBody, err := json.Marshal(map[string]any{"keys": []any{e.atkJWK}})
	require.NoError(t, err)
	e.atkSrv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.atkFetches.Add(1)
		switch r.URL.Path {
		case "/jwks":
			_, _ = w.Write(jwksBody)
		case "/cert.pem":
			_ = pem.Encode(w, &pem.Block{Type: "CERTIFICATE", Bytes: e.atkCert})
		}
	}))
	t.Cleanup(e.atkSrv.Close)
	return e
}

// claimsFor returns well-formed claims from issuer iss for the API.
func (e *attackEnv) claimsFor(iss string) map[string]any {
	return map[string]any{
		"iss": iss, "aud": api, "sub": "attacker", "client_id": "app",
		"iat": e.now.Unix(), "exp": e.now.Add(time.Hour).Unix(),
	}
}

// good mints a valid API token from the ES384 issuer with the options.
func (e *attackEnv) good(opts ...authztest.TokenOption) func(t *testing.T) string {
	return func(t *testing.T) string { return must(t)(e.f.iss.APIToken(api, opts...)) }
}

// texts returns the decoded header and claims JSON texts of a token and its
// signature segment.
func tokenTexts(t *testing.T, tok string) (header, claims, sig string) {
	t.Helper()
	h, c, s := splitJWS(tok)
	hb, err := base64.RawURLEncoding.DecodeString(h)
	require.NoError(t, err)
	cb, err := base64.RawURLEncoding.DecodeString(c)
	require.NoError(t, err)
	return string(hb), string(cb), s
}

// publicJWKJSON returns the raw JSON of the first key of an issuer's JWKS.
func publicJWKJSON(t *testing.T, iss *authztest.Issuer) []byte {
	t.Helper()
	resp, err := http.Get(iss.JWKSURL())
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(body, &set))
	require.NotEmpty(t, set.Keys)
	return set.Keys[0]
}

func attackRows(t *testing.T, e *attackEnv) []attackRow {
	ctx := context.Background()
	f := e.f
	hdr := func(extra string) string {
		return `{"alg":"ES384","kid":"` + f.iss.KeyID() + `","typ":"at+jwt"` + extra + `}`
	}
	// withSig replaces the signature segment of a freshly minted good token.
	withSig := func(sig func(orig []byte) []byte) func(t *testing.T) string {
		return func(t *testing.T) string {
			h, c, s := splitJWS(must(t)(f.iss.APIToken(api)))
			orig, err := base64.RawURLEncoding.DecodeString(s)
			require.NoError(t, err)
			return h + "." + c + "." + b64url(sig(orig))
		}
	}
	// reheader swaps the header text of a good token, keeping its claims and
	// signature.
	reheader := func(header string) func(t *testing.T) string {
		return func(t *testing.T) string {
			_, c, s := splitJWS(must(t)(f.iss.APIToken(api)))
			return b64url([]byte(header)) + "." + c + "." + s
		}
	}
	// reclaim rewrites the claims text of a good token, keeping its header
	// and signature.
	reclaim := func(edit func(claims string) string) func(t *testing.T) string {
		return func(t *testing.T) string {
			h, c, s := tokenTexts(t, must(t)(f.iss.APIToken(api)))
			return rawToken(h, edit(c), s)
		}
	}
	// signed has the byteIssuer sign header and claims texts as they are.
	signed := func(header, claims string) func(t *testing.T) string {
		return func(t *testing.T) string { return e.bi.sign(t, []byte(header), []byte(claims)) }
	}
	biHeader := string(e.bi.header())
	biClaims := func(extra string) string { return string(e.bi.claims(e.now, extra)) }
	// hmac forges a token for f's issuer with an HMAC algorithm keyed by the
	// issuer's public key in some encoding.
	hmac := func(m jwt.SigningMethod, secret func(t *testing.T) []byte) func(t *testing.T) string {
		return func(t *testing.T) string {
			return forge(t, m, map[string]any{"typ": "at+jwt", "kid": f.iss.KeyID()}, e.claimsFor(f.iss.URL()), secret(t))
		}
	}
	der := func(t *testing.T) []byte { return publicKeyDER(t, f.iss) }
	pemKey := func(t *testing.T) []byte {
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: publicKeyDER(t, f.iss)})
	}
	jwkKey := func(t *testing.T) []byte { return publicJWKJSON(t, f.iss) }
	// attacker signs claims for f's issuer with the attacker's P-384 key.
	attacker := func(header map[string]any) func(t *testing.T) string {
		return func(t *testing.T) string {
			h := map[string]any{"typ": "at+jwt"}
			for k, v := range header {
				h[k] = v
			}
			tok := forge(t, jwt.SigningMethodES384, h, e.claimsFor(f.iss.URL()), e.atkEC384)
			if _, ok := header["kid"]; !ok {
				// forge cannot remove "kid"; re-encode the header without it.
				hh, c, s := tokenTexts(t, tok)
				var m map[string]any
				require.NoError(t, json.Unmarshal([]byte(hh), &m))
				delete(m, "kid")
				hb, err := json.Marshal(m)
				require.NoError(t, err)
				return rawToken(string(hb), c, s)
			}
			return tok
		}
	}
	constant := func(s string) func(*testing.T) string { return func(*testing.T) string { return s } }
	n384 := elliptic.P384().Params().N.FillBytes(make([]byte, 48))

	rows := []attackRow{
		// Size and shape (rule 1).
		{name: "token just over 8 KiB", why: "a token over MaxTokenBytes is refused before any decoding, capping the work an attacker can cause",
			token: func(t *testing.T) string {
				tok := must(t)(f.iss.APIToken(api, authztest.Claim("pad", strings.Repeat("x", 6200))))
				require.Greater(t, len(tok), authz.DefaultMaxTokenBytes)
				return tok
			}, want: authz.ErrMalformed},
		{name: "validly signed 1 MiB token", why: "a valid signature does not make an oversized token acceptable: size is checked first",
			token: e.good(authztest.Claim("pad", strings.Repeat("x", 1<<20))), want: authz.ErrMalformed},
		{name: "many dots: a. repeated 100k times", why: "CVE-2025-30204: splitting on every dot allocates per segment; the size cap refuses it first",
			token: constant(strings.Repeat("a.", 100_000)), want: authz.ErrMalformed},
		{name: "many dots: 1 MiB of dots", why: "CVE-2025-30204 pattern: a token that is nothing but separators is not a JWS",
			token: constant(strings.Repeat(".", 1<<20)), want: authz.ErrMalformed},
		{name: "many dots under a 4 MiB limit: a. repeated 100k times", why: "past the size cap, the segment count (not a split) refuses a token with 100001 segments",
			validator: e.big, token: constant(strings.Repeat("a.", 100_000)), want: authz.ErrMalformed},
		{name: "many dots under a 4 MiB limit: 1 MiB of dots", why: "past the size cap, 1048577 empty segments are refused by counting",
			validator: e.big, token: constant(strings.Repeat(".", 1<<20)), want: authz.ErrMalformed},
		{name: "JWE (five segments)", why: "an encrypted JWT cannot be validated by a resource server that holds no decryption key (RFC 9068 section 4 expects a JWS)",
			token: constant(rawToken(`{"alg":"RSA-OAEP-256","enc":"A256GCM","typ":"at+jwt"}`, "wrapped-key", "aXY") + ".Y2lwaGVydGV4dA.dGFn"), want: authz.ErrMalformed},
		{name: "nested JWT (cty JWT), payload is the inner JWT", why: "RFC 8725 section 2.8: a nested JWT is not an access token; its payload is not a JSON claims object",
			validator: e.biV, token: func(t *testing.T) string {
				inner := e.bi.sign(t, e.bi.header(), e.bi.claims(e.now, ""))
				return e.bi.sign(t, []byte(`{"alg":"ES384","cty":"JWT","kid":"`+e.bi.kid+`","typ":"at+jwt"}`), []byte(inner))
			}, want: authz.ErrMalformed},
		{name: "nested JWT (cty JWT), payload is the inner JWT as a JSON string", why: "a JSON string is not a claims object, whatever it contains",
			validator: e.biV, token: func(t *testing.T) string {
				inner, err := json.Marshal(e.bi.sign(t, e.bi.header(), e.bi.claims(e.now, "")))
				require.NoError(t, err)
				return e.bi.sign(t, []byte(`{"alg":"ES384","cty":"JWT","kid":"`+e.bi.kid+`","typ":"at+jwt"}`), inner)
			}, want: authz.ErrMalformed},
		{name: "three empty segments", why: "an empty header is not a JSON object", token: constant(".."), want: authz.ErrMalformed},
		{name: "Bearer prefix left on", why: "a space is outside the base64url alphabet; the token must be extracted exactly",
			token: func(t *testing.T) string { return "Bearer " + e.good()(t) }, want: authz.ErrMalformed},
		{name: "trailing newline", why: "whitespace is outside the base64url alphabet (RFC 7515 section 2)",
			token: func(t *testing.T) string { return e.good()(t) + "\n" }, want: authz.ErrMalformed},
		{name: "NUL byte inside", why: "a NUL could truncate the token in C-based components downstream",
			token: func(t *testing.T) string { tok := e.good()(t); return tok[:10] + "\x00" + tok[10:] }, want: authz.ErrMalformed},
		{name: "standard base64 alphabet in the signature", why: "'+' and '/' are not base64url; accepting both alphabets gives one token two spellings",
			token: func(t *testing.T) string { return e.good()(t) + "+/" }, want: authz.ErrMalformed},
		{name: "signature padded with '='", why: "JWS compact serialization omits padding (RFC 7515 section 2)",
			token: func(t *testing.T) string { return e.good()(t) + "==" }, want: authz.ErrMalformed},

		// alg none (RFC 8725 section 3.1, 3.2).
		{name: "alg none, empty signature", why: "an unsecured JWS carries no proof of origin",
			token: func(t *testing.T) string {
				h, c, _ := splitJWS(reheader(`{"alg":"none","typ":"at+jwt"}`)(t))
				return h + "." + c + "."
			}, want: authz.ErrAlgorithm},
		{name: "alg none, non-empty signature", why: "a signature left on does not make alg none secure",
			token: reheader(`{"alg":"none","kid":"` + f.iss.KeyID() + `","typ":"at+jwt"}`), want: authz.ErrAlgorithm},
		{name: "alg None, empty signature", why: "algorithm names are case-sensitive (RFC 7515 section 4.1.1); no spelling of none is allowed",
			token: func(t *testing.T) string {
				h, c, _ := splitJWS(reheader(`{"alg":"None","typ":"at+jwt"}`)(t))
				return h + "." + c + "."
			}, want: authz.ErrAlgorithm},
		{name: "alg None, non-empty signature", why: "a case variant of none must not reach a verifier",
			token: reheader(`{"alg":"None","kid":"` + f.iss.KeyID() + `","typ":"at+jwt"}`), want: authz.ErrAlgorithm},
		{name: "alg NONE, empty signature", why: "a case variant of none must not reach a verifier",
			token: func(t *testing.T) string {
				h, c, _ := splitJWS(reheader(`{"alg":"NONE","typ":"at+jwt"}`)(t))
				return h + "." + c + "."
			}, want: authz.ErrAlgorithm},
		{name: "alg NONE, non-empty signature", why: "a case variant of none must not reach a verifier",
			token: reheader(`{"alg":"NONE","kid":"` + f.iss.KeyID() + `","typ":"at+jwt"}`), want: authz.ErrAlgorithm},
		{name: "alg nOnE, empty signature", why: "a case variant of none must not reach a verifier",
			token: func(t *testing.T) string {
				h, c, _ := splitJWS(reheader(`{"alg":"nOnE","typ":"at+jwt"}`)(t))
				return h + "." + c + "."
			}, want: authz.ErrAlgorithm},
		{name: "alg nOnE, non-empty signature", why: "a case variant of none must not reach a verifier",
			token: reheader(`{"alg":"nOnE","kid":"` + f.iss.KeyID() + `","typ":"at+jwt"}`), want: authz.ErrAlgorithm},
		{name: "alg missing", why: "without alg the verifier would have to guess (RFC 7515 section 4.1.1 makes it required)",
			token: reheader(`{"kid":"` + f.iss.KeyID() + `","typ":"at+jwt"}`), want: authz.ErrAlgorithm},
		{name: "alg es384 in lower case", why: "algorithm names are case-sensitive; es384 is not ES384",
			token: reheader(`{"alg":"es384","kid":"` + f.iss.KeyID() + `","typ":"at+jwt"}`), want: authz.ErrAlgorithm},

		// HMAC keyed with the public key: algorithm confusion (RFC 8725 section 2.1).
		{name: "HS256 keyed with the issuer's public key (PEM)", why: "a public key is public: an HMAC over it proves nothing", token: hmac(jwt.SigningMethodHS256, pemKey), want: authz.ErrAlgorithm},
		{name: "HS256 keyed with the issuer's public key (DER)", why: "a public key is public: an HMAC over it proves nothing", token: hmac(jwt.SigningMethodHS256, der), want: authz.ErrAlgorithm},
		{name: "HS256 keyed with the issuer's JWK JSON", why: "the JWKS is public: an HMAC keyed with it proves nothing", token: hmac(jwt.SigningMethodHS256, jwkKey), want: authz.ErrAlgorithm},
		{name: "HS384 keyed with the issuer's public key (PEM)", why: "a public key is public: an HMAC over it proves nothing", token: hmac(jwt.SigningMethodHS384, pemKey), want: authz.ErrAlgorithm},
		{name: "HS384 keyed with the issuer's public key (DER)", why: "a public key is public: an HMAC over it proves nothing", token: hmac(jwt.SigningMethodHS384, der), want: authz.ErrAlgorithm},
		{name: "HS384 keyed with the issuer's JWK JSON", why: "the JWKS is public: an HMAC keyed with it proves nothing", token: hmac(jwt.SigningMethodHS384, jwkKey), want: authz.ErrAlgorithm},
		{name: "HS512 keyed with the issuer's public key (PEM)", why: "a public key is public: an HMAC over it proves nothing", token: hmac(jwt.SigningMethodHS512, pemKey), want: authz.ErrAlgorithm},
		{name: "HS512 keyed with the issuer's public key (DER)", why: "a public key is public: an HMAC over it proves nothing", token: hmac(jwt.SigningMethodHS512, der), want: authz.ErrAlgorithm},
		{name: "HS512 keyed with the issuer's JWK JSON", why: "the JWKS is public: an HMAC keyed with it proves nothing", token: hmac(jwt.SigningMethodHS512, jwkKey), want: authz.ErrAlgorithm},

		// Where the keys come from.
		{name: "JWKS URL that redirects https, then http, then https to the attacker's keys", why: "anyone on the plain-http hop chooses the next one, and so the keys: every hop must be https",
			validator: e.redirected, token: func(t *testing.T) string { return e.redirectKeys.token(t, e.redirectKeys.bad, e.now) },
			want: authz.ErrKeysUnavailable},
		{name: "cached token of a key the issuer replaced under the same kid", why: "a key replaced under its kid is a removed key: its tokens stop validating at that refresh, from the cache too",
			validator: e.replacing, token: func(t *testing.T) string {
				mint := func(key *ecdsa.PrivateKey, kid string) string {
					return forge(t, jwt.SigningMethodES384, map[string]any{"typ": "at+jwt", "kid": kid}, map[string]any{
						"iss": e.replacingIss, "aud": api, "sub": "user-1", "exp": e.now.Add(time.Hour).Unix(),
					}, key)
				}
				old := mint(e.replacingKeys[0], "k")
				_, err := e.replacing.Validate(context.Background(), old)
				require.NoError(t, err, "valid, and now cached")
				e.replaceKey(e.replacingKeys[1])
				_, err = e.replacing.Validate(context.Background(), mint(e.replacingKeys[1], "unknown")) // a refresh
				require.ErrorIs(t, err, authz.ErrUnknownKey)
				return old
			}, want: authz.ErrSignature},

		// alg and kid that do not fit the key (RFC 8725 section 3.1): an
		// algorithm error, not an unknown key, so that an algorithm-confusion
		// attempt does not look like a rotation problem.
		{name: "ES384 alg on an ES256 issuer's kid", why: "the key's curve fixes the algorithm; a token must not choose another",
			validator: e.es256.v, token: func(t *testing.T) string {
				return forge(t, jwt.SigningMethodES384, map[string]any{"typ": "at+jwt", "kid": e.es256.iss.KeyID()}, e.claimsFor(e.es256.iss.URL()), e.atkEC384)
			}, want: authz.ErrAlgorithm},
		{name: "ES256 alg on an ES384 issuer's kid", why: "the key's curve fixes the algorithm; a token must not choose another",
			token: func(t *testing.T) string {
				return forge(t, jwt.SigningMethodES256, map[string]any{"typ": "at+jwt", "kid": f.iss.KeyID()}, e.claimsFor(f.iss.URL()), e.atkEC256)
			}, want: authz.ErrAlgorithm},
		{name: "RS256 alg on an EC kid", why: "an EC key cannot verify RSA; letting the token pick would be key confusion",
			token: func(t *testing.T) string {
				return forge(t, jwt.SigningMethodRS256, map[string]any{"typ": "at+jwt", "kid": f.iss.KeyID()}, e.claimsFor(f.iss.URL()), e.atkRSA)
			}, want: authz.ErrAlgorithm},
		{name: "EdDSA alg on an EC kid", why: "an EC P-384 key is not an Ed25519 key",
			token: func(t *testing.T) string {
				return forge(t, jwt.SigningMethodEdDSA, map[string]any{"typ": "at+jwt", "kid": f.iss.KeyID()}, e.claimsFor(f.iss.URL()), e.atkEd)
			}, want: authz.ErrAlgorithm},
		{name: "EC token (ES384, another key) on an RSA issuer's kid", why: "an RSA key cannot verify ECDSA; the key type decides, not the token",
			validator: e.rsa.v, token: func(t *testing.T) string {
				return forge(t, jwt.SigningMethodES384, map[string]any{"typ": "at+jwt", "kid": e.rsa.iss.KeyID()}, e.claimsFor(e.rsa.iss.URL()), e.atkEC384)
			}, want: authz.ErrAlgorithm},
		{name: "PS256 alg on an RSA kid published without alg", why: "an RSA JWK without alg is RS256 (inferred from kty), never what the token says",
			validator: e.rsa.v, token: func(t *testing.T) string {
				return forge(t, jwt.SigningMethodPS256, map[string]any{"typ": "at+jwt", "kid": e.rsa.iss.KeyID()}, e.claimsFor(e.rsa.iss.URL()), e.atkRSA)
			}, want: authz.ErrAlgorithm},
		{name: "RS256 on the RSA issuer's kid, signed by the attacker's RSA key", why: "right algorithm, wrong key: only the signature can tell",
			validator: e.rsa.v, token: func(t *testing.T) string {
				return forge(t, jwt.SigningMethodRS256, map[string]any{"typ": "at+jwt", "kid": e.rsa.iss.KeyID()}, e.claimsFor(e.rsa.iss.URL()), e.atkRSA)
			}, want: authz.ErrSignature},

		// Keys offered by the token itself (RFC 8725 section 3.10): keys come only from the JWKS.
		{name: "embedded jwk with the attacker's key, attacker kid", why: "a token cannot vouch for itself with a key it carries",
			token: attacker(map[string]any{"jwk": e.atkJWK, "kid": attackerKID}), want: authz.ErrUnknownKey},
		{name: "embedded jwk with the attacker's key, issuer's kid", why: "the issuer's kid selects the issuer's key, which the attacker's signature does not match",
			token: attacker(map[string]any{"jwk": e.atkJWK, "kid": f.iss.KeyID()}), want: authz.ErrSignature},
		{name: "embedded jwk with the attacker's key, no kid", why: "without a kid there is no JWKS key to use, and the embedded one is never used",
			token: attacker(map[string]any{"jwk": e.atkJWK}), want: authz.ErrUnknownKey},
		{name: "jku pointing at the attacker's JWKS", why: "fetching keys from a URL the token names is SSRF and lets anyone mint tokens",
			token: func(t *testing.T) string {
				return attacker(map[string]any{"jku": e.atkSrv.URL + "/jwks", "kid": attackerKID})(t)
			}, want: authz.ErrUnknownKey},
		{name: "x5u pointing at the attacker's certificate", why: "fetching a certificate from a URL the token names is SSRF and lets anyone mint tokens",
			token: func(t *testing.T) string {
				return attacker(map[string]any{"x5u": e.atkSrv.URL + "/cert.pem", "kid": attackerKID})(t)
			}, want: authz.ErrUnknownKey},
		{name: "x5c with the attacker's self-signed certificate, issuer's kid", why: "a certificate chain in the token is not a trust anchor",
			token: func(t *testing.T) string {
				return attacker(map[string]any{"x5c": []string{base64.StdEncoding.EncodeToString(e.atkCert)}, "kid": f.iss.KeyID()})(t)
			}, want: authz.ErrSignature},
		{name: "x5c with the attacker's self-signed certificate, no kid", why: "a certificate chain in the token is not a trust anchor",
			token: func(t *testing.T) string {
				return attacker(map[string]any{"x5c": []string{base64.StdEncoding.EncodeToString(e.atkCert)}})(t)
			}, want: authz.ErrUnknownKey},

		// Hostile kid values (RFC 8725 section 3.10).
		{name: "kid with path traversal", why: "a kid is a lookup key in the JWKS, never a file name", token: e.good(authztest.KeyID("../../etc/passwd")), want: authz.ErrUnknownKey},
		{name: "kid with SQL", why: "a kid is a lookup key in the JWKS, never a query fragment", token: e.good(authztest.KeyID("' OR 1=1 --")), want: authz.ErrUnknownKey},
		{name: "kid with CRLF", why: "a kid that reaches a log or header must not inject lines", token: e.good(authztest.KeyID("k\r\nX-Injected: 1")), want: authz.ErrUnknownKey},
		{name: "kid as a number", why: "kid is a string (RFC 7515 section 4.1.4)", token: e.good(authztest.Header("kid", 1)), want: authz.ErrUnknownKey},
		{name: "kid of 4 KiB", why: "an unknown kid of any length finds no key", token: e.good(authztest.KeyID(strings.Repeat("k", 4096))), want: authz.ErrUnknownKey},

		// crit (RFC 7515 section 4.1.11).
		{name: "unknown crit", why: "a recipient must reject a JWS whose critical extensions it does not understand",
			token: e.good(authztest.Header("crit", []string{"http://example.com/policy"}), authztest.Header("http://example.com/policy", true)), want: authz.ErrAlgorithm},
		{name: "crit b64 false (RFC 7797 unencoded payload)", why: "an unencoded payload changes what the signature covers; it is not supported",
			token: e.good(authztest.Header("crit", []string{"b64"}), authztest.Header("b64", false)), want: authz.ErrAlgorithm},
		{name: "crit empty array", why: "RFC 7515 section 4.1.11 forbids an empty crit list", token: e.good(authztest.Header("crit", []string{})), want: authz.ErrAlgorithm},

		// typ: other JWTs replayed as access tokens (RFC 9068 section 4, RFC 8725 section 3.11).
		{name: "ID token (typ JWT, aud = client id) replayed", why: "an ID token is for the client, not the API; typ at+jwt tells them apart",
			token: func(t *testing.T) string {
				return must(t)(f.iss.APIToken("test-app", authztest.TokenType("JWT"), authztest.Claim("nonce", "n-0S6_WzA2Mj"), authztest.Claim("auth_time", e.now.Unix())))
			}, want: authz.ErrTokenType},
		{name: "ID token with the API as aud and no typ", why: "without typ at+jwt any JWT from the issuer could pass as an access token",
			token: e.good(authztest.TokenType(""), authztest.Claim("nonce", "n")), want: authz.ErrTokenType},
		{name: "DPoP proof (typ dpop+jwt)", why: "a DPoP proof is not an access token",
			token: e.good(authztest.TokenType("dpop+jwt")), want: authz.ErrTokenType},

		// Token kinds and organizations crossed.
		{name: "organization token on an API validator", why: "its audience is the organization, not the API",
			token: func(t *testing.T) string { return must(t)(f.iss.OrganizationToken("org-a", authztest.Scopes("read"))) }, want: authz.ErrAudience},
		{name: "API token on an AnyOrganization validator", why: "an API token is not an organization token, whatever its scopes",
			validator: e.anyOrg, token: e.good(authztest.Scopes("read")), want: authz.ErrAudience},
		{name: "organization-level API token on an AnyOrganization validator", why: "organization_id does not turn an API token into an organization token",
			validator: e.anyOrg, token: func(t *testing.T) string { return must(t)(f.iss.OrganizationAPIToken(api, "org-a")) }, want: authz.ErrAudience},
		{name: "organization token of org-b on an org-a validator", why: "a token for one organization is not valid for another",
			validator: e.orgA, token: func(t *testing.T) string { return must(t)(f.iss.OrganizationToken("org-b")) }, want: authz.ErrAudience},
		{name: "organization audience with the wildcard id", why: "'*' is configuration syntax, never an organization id in a token",
			validator: e.anyOrg, token: e.good(authztest.Audiences(authz.AnyOrganization)), want: authz.ErrAudience},
		{name: "two organization audiences", why: "a token for two organizations would let either one's routes accept it",
			validator: e.anyOrg, token: e.good(authztest.Audiences(authz.OrganizationAudience("org-a"), authz.OrganizationAudience("org-b"))), want: authz.ErrAudience},
		{name: "organization_id contradicting the organization audience", why: "the token names two organizations",
			validator: e.anyOrg, token: func(t *testing.T) string {
				return must(t)(f.iss.OrganizationToken("org-a", authztest.Claim("organization_id", "org-b")))
			}, want: authz.ErrMalformed},
		{name: "organization_id that is the wildcard", why: "'*' would match any organization in a careless comparison",
			token: e.good(authztest.Claim("organization_id", "*")), want: authz.ErrMalformed},
		{name: "organization_id injected by another tenant claiming this issuer", why: "keys are looked up in the named issuer's own JWKS, where the other tenant's key is not",
			token: func(t *testing.T) string {
				return must(t)(e.other.OrganizationAPIToken(api, "org-victim", authztest.IssuerClaim(f.iss.URL())))
			}, want: authz.ErrUnknownKey},
		{name: "organization_id injected by another tenant with this issuer's kid", why: "the other tenant's signature does not verify with this issuer's key",
			token: func(t *testing.T) string {
				return must(t)(e.other.OrganizationAPIToken(api, "org-victim", authztest.IssuerClaim(f.iss.URL()), authztest.KeyID(f.iss.KeyID())))
			}, want: authz.ErrSignature},
		{name: "valid token of another tenant", why: "another tenant is another issuer, not trusted here",
			token: func(t *testing.T) string { return must(t)(e.other.APIToken(api)) }, want: authz.ErrIssuer},

		// iss (RFC 9068 section 4 step 3: exact match).
		{name: "iss with a trailing slash", why: "issuer identifiers compare exactly (RFC 8414 section 3.3)",
			token: func(t *testing.T) string { return e.good(authztest.IssuerClaim(f.iss.URL() + "/"))(t) }, want: authz.ErrIssuer},
		{name: "iss differing in case (path)", why: "the path of an issuer URL is case-sensitive and compared exactly",
			token: func(t *testing.T) string {
				return e.good(authztest.IssuerClaim(strings.Replace(f.iss.URL(), "/oidc", "/OIDC", 1)))(t)
			}, want: authz.ErrIssuer},
		{name: "iss differing in case (scheme)", why: "issuer identifiers compare as strings, without URL normalization",
			token: func(t *testing.T) string {
				return e.good(authztest.IssuerClaim(strings.Replace(f.iss.URL(), "http", "HTTP", 1)))(t)
			}, want: authz.ErrIssuer},
		{name: "iss with https instead of http", why: "a different scheme is a different issuer",
			token: func(t *testing.T) string {
				return e.good(authztest.IssuerClaim(strings.Replace(f.iss.URL(), "http", "https", 1)))(t)
			}, want: authz.ErrIssuer},
		{name: "iss with a trailing NUL", why: "a NUL-terminated comparison would see the trusted issuer",
			token: func(t *testing.T) string { return e.good(authztest.IssuerClaim(f.iss.URL() + "\x00"))(t) }, want: authz.ErrIssuer},
		{name: "iss as an array", why: "iss is a single StringOrURI (RFC 7519 section 4.1.1)",
			token: func(t *testing.T) string { return e.good(authztest.Claim("iss", []string{f.iss.URL()}))(t) }, want: authz.ErrMalformed},
		{name: "iss with an overlong UTF-8 encoding of '/'", why: "claims must be UTF-8 (RFC 7519 section 7.2); an overlong '/' is not",
			token: reclaim(func(c string) string {
				return strings.Replace(c, `/oidc"`, "\xc0\xafoidc\"", 1)
			}), want: authz.ErrMalformed},

		// aud (RFC 9068 section 4 step 4).
		{name: "aud as an empty array", why: "an empty audience names no API", token: e.good(authztest.Audiences()), want: authz.ErrAudience},
		{name: "aud as an array of numbers", why: "aud is a string or an array of strings (RFC 7519 section 4.1.3)", token: e.good(authztest.Claim("aud", []int{1, 2})), want: authz.ErrMalformed},
		{name: "aud mixing the API and a number", why: "one bad element makes the claim malformed, not partly valid", token: e.good(authztest.Claim("aud", []any{api, 1})), want: authz.ErrMalformed},
		{name: "aud with a trailing slash", why: "resource indicators compare exactly", token: e.good(authztest.Audiences(api + "/")), want: authz.ErrAudience},
		{name: "aud differing in case", why: "resource indicators compare exactly", token: e.good(authztest.Audiences(strings.ToUpper(api))), want: authz.ErrAudience},
		{name: "aud null", why: "a null audience names no API", token: e.good(authztest.Claim("aud", nil)), want: authz.ErrAudience},

		// Time claims (RFC 7519 sections 4.1.4-4.1.6, RFC 9068 section 4 step 7).
		{name: "exp as a string", why: "a NumericDate is a JSON number", token: e.good(authztest.Claim("exp", fmt.Sprint(e.now.Add(time.Hour).Unix()))), want: authz.ErrMalformed},
		{name: "exp negative", why: "a time before 1970 is no expiry a validator should trust", token: e.good(authztest.Claim("exp", -1)), want: authz.ErrMalformed},
		{name: "exp 1e300", why: "a huge exp must not overflow into the past or the future", token: e.good(authztest.Claim("exp", 1e300)), want: authz.ErrMalformed},
		{name: "exp 9.3e18", why: "just past int64 seconds: must not wrap around", token: e.good(authztest.Claim("exp", 9.3e18)), want: authz.ErrMalformed},
		{name: "exp 1e999 (overflows float64 to +Inf)", why: "an infinite exp would never expire", token: e.good(authztest.Claim("exp", json.RawMessage("1e999"))), want: authz.ErrMalformed},
		{name: "exp NaN", why: "NaN is not JSON, and compares false with every time",
			validator: e.biV, token: signed(biHeader, `{"iss":"`+byteIssuerURL+`","aud":"`+api+`","exp":NaN}`), want: authz.ErrMalformed},
		{name: "exp true", why: "a boolean is not a NumericDate", token: e.good(authztest.Claim("exp", true)), want: authz.ErrMalformed},
		{name: "exp as an object", why: "an object is not a NumericDate", token: e.good(authztest.Claim("exp", map[string]any{"$gt": 0})), want: authz.ErrMalformed},
		{name: "exp null", why: "exp is required (RFC 9068 section 2.2)", token: e.good(authztest.Claim("exp", nil)), want: authz.ErrMalformed},
		{name: "exp -0 (the epoch)", why: "negative zero is the epoch, long past", token: e.good(authztest.Claim("exp", json.RawMessage("-0"))), want: authz.ErrExpired},
		{name: "exp 0", why: "the epoch is long past", token: e.good(authztest.Claim("exp", 0)), want: authz.ErrExpired},
		{name: "fractional exp in the past beyond the leeway", why: "fractions of a second must not round a past exp into the future",
			token: e.good(authztest.Claim("exp", float64(e.now.Add(-authz.DefaultLeeway).Unix())-0.5)), want: authz.ErrExpired},
		{name: "expired with a future iat", why: "exp alone decides expiry; a future iat cannot refresh a token",
			token: e.good(authztest.Claim("iat", e.now.Add(time.Hour).Unix()), authztest.Claim("exp", e.now.Add(-time.Hour).Unix())), want: authz.ErrExpired},
		{name: "nbf far in the future", why: "a token is not valid before its nbf", token: e.good(authztest.NotBefore(time.Date(9000, 1, 1, 0, 0, 0, 0, time.UTC))), want: authz.ErrNotYetValid},
		{name: "iat far in the future", why: "a token issued in the future was minted with a wrong clock or forged",
			token: e.good(authztest.Claim("iat", time.Date(9000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()), authztest.ExpiresAt(e.now.Add(time.Hour))), want: authz.ErrNotYetValid},
		{name: "nbf as a string", why: "a NumericDate is a JSON number", token: e.good(authztest.Claim("nbf", "0")), want: authz.ErrMalformed},

		// Duplicate members (RFC 7519 section 4: names MUST be unique; RFC 8725 section 3.1).
		{name: "duplicate alg in the header: ES384 then none", why: "a parser that keeps the last sees none, one that keeps the first sees ES384: duplicate header members are refused",
			token: reheader(`{"alg":"ES384","alg":"none","kid":"` + f.iss.KeyID() + `","typ":"at+jwt"}`), want: authz.ErrMalformed},
		{name: "duplicate alg in the header: none then ES384, original signature", why: "duplicate header members are refused before any key or signature work",
			token: reheader(`{"alg":"none","alg":"ES384","kid":"` + f.iss.KeyID() + `","typ":"at+jwt"}`), want: authz.ErrMalformed},
		{name: "duplicate typ in the header, validly signed", why: "JWT then at+jwt: parsers that keep the first and the last disagree on the token type",
			validator: e.biV, token: signed(`{"alg":"ES384","kid":"authz-test-es384","typ":"JWT","typ":"at+jwt"}`, biClaims("")), want: authz.ErrMalformed},
		{name: "duplicate kid in the header, validly signed", why: "the key a token names must be one",
			validator: e.biV, token: signed(`{"alg":"ES384","kid":"other","kid":"authz-test-es384","typ":"at+jwt"}`, biClaims("")), want: authz.ErrMalformed},
		{name: "duplicate unknown member in the header, validly signed", why: "RFC 7515 section 4 lets a parser refuse duplicate header names; authz refuses all of them",
			validator: e.biV, token: signed(`{"alg":"ES384","kid":"authz-test-es384","typ":"at+jwt","x":1,"x":2}`, biClaims("")), want: authz.ErrMalformed},
		{name: "header member named twice, once escaped, validly signed", why: "\u0061lg is alg",
			validator: e.biV, token: signed(`{"alg":"ES384","\u0061lg":"ES384","kid":"authz-test-es384","typ":"at+jwt"}`, biClaims("")), want: authz.ErrMalformed},
		{name: "header with 33 members, validly signed", why: "a header's member names are compared pairwise, so their number is bounded (32)",
			validator: e.biV, token: signed(`{"alg":"ES384","kid":"authz-test-es384","typ":"at+jwt"`+manyMembers(30)+`}`, biClaims("")), want: authz.ErrMalformed},
		{name: "act.sub twice, validly signed", why: "a parser that keeps the last reads another actor than one that keeps the first",
			validator: e.biV, token: signed(biHeader, biClaims(`"act":{"sub":"alice","sub":"mallory"}`)), want: authz.ErrMalformed},
		{name: "act.sub twice, once escaped, validly signed", why: "\u0073ub is sub",
			validator: e.biV, token: signed(biHeader, biClaims(`"act":{"sub":"alice","\u0073ub":"mallory"}`)), want: authz.ErrMalformed},
		{name: "act.sub not a string, validly signed", why: "an actor is a StringOrURI (RFC 8693 section 4.1)",
			validator: e.biV, token: signed(biHeader, biClaims(`"act":{"sub":7}`)), want: authz.ErrMalformed},
		{name: "act an array, validly signed", why: "act is a JSON object (RFC 8693 section 4.1)",
			validator: e.biV, token: signed(biHeader, biClaims(`"act":[{"sub":"mallory"}]`)), want: authz.ErrMalformed},
		{name: "duplicate iss: good then evil, original signature", why: "a claim the validator reads must be unique (RFC 7519 section 4); which one a parser keeps is not to be left to chance",
			token: reclaim(func(c string) string { return strings.TrimSuffix(c, "}") + `,"iss":"` + evilIssuer + `"}` }), want: authz.ErrMalformed},
		{name: "duplicate iss: evil then good, original signature", why: "a claim the validator reads must be unique (RFC 7519 section 4)",
			token: reclaim(func(c string) string { return `{"iss":"` + evilIssuer + `",` + strings.TrimPrefix(c, "{") }), want: authz.ErrMalformed},
		{name: "case-variant EXP after an expired exp, validly signed", why: "claim names are case-sensitive (RFC 7515 section 5.3): EXP is a custom claim and exp has passed",
			validator: e.biV, token: signed(biHeader, fmt.Sprintf(`{"iss":%q,"aud":%q,"exp":%d,"EXP":%d}`, byteIssuerURL, api, e.now.Add(-time.Hour).Unix(), e.now.Add(time.Hour).Unix())),
			want: authz.ErrExpired},
		{name: "case-variant Aud after a foreign aud, validly signed", why: "claim names are case-sensitive (RFC 7515 section 5.3): Aud is a custom claim and aud is another API",
			validator: e.biV, token: signed(biHeader, fmt.Sprintf(`{"iss":%q,"aud":"https://other.example.com","Aud":%q,"exp":%d}`, byteIssuerURL, api, e.now.Add(time.Hour).Unix())),
			want: authz.ErrAudience},
		{name: "case-variant ISS after a foreign iss, validly signed", why: "claim names are case-sensitive (RFC 7515 section 5.3): ISS is a custom claim and iss is untrusted",
			validator: e.biV, token: signed(biHeader, fmt.Sprintf(`{"iss":%q,"ISS":%q,"aud":%q,"exp":%d}`, evilIssuer, byteIssuerURL, api, e.now.Add(time.Hour).Unix())),
			want: authz.ErrIssuer},

		// Encodings: non-UTF-8 and byte order marks.
		{name: "raw 0xFF byte outside any string in the header", why: "the header is not JSON", token: reheader("{\xff\"alg\":\"ES384\"}"), want: authz.ErrMalformed},
		{name: "invalid UTF-8 inside typ", why: "the header must be UTF-8 (RFC 7515 section 5.2)",
			token: reheader(`{"alg":"ES384","kid":"` + f.iss.KeyID() + "\",\"typ\":\"at+jwt\xff\"}"), want: authz.ErrMalformed},
		{name: "invalid UTF-8 inside sub, original signature", why: "the claims must be UTF-8 (RFC 7519 section 7.2), refused before any signature work",
			token: reclaim(func(c string) string { return strings.Replace(c, `"test-user"`, "\"test-user\xff\"", 1) }), want: authz.ErrMalformed},
		{name: "invalid UTF-8 inside sub, validly signed", why: "different signed bytes would otherwise read as the same subject (U+FFFD)",
			validator: e.biV, token: signed(biHeader, fmt.Sprintf("{\"iss\":%q,\"aud\":%q,\"sub\":\"alice\xff\",\"exp\":%d}", byteIssuerURL, api, e.now.Add(time.Hour).Unix())), want: authz.ErrMalformed},
		{name: "invalid UTF-8 inside typ, validly signed", why: "the header must be UTF-8 (RFC 7515 section 5.2)",
			validator: e.biV, token: signed("{\"alg\":\"ES384\",\"kid\":\"authz-test-es384\",\"typ\":\"at+jwt\xff\"}", biClaims("")), want: authz.ErrMalformed},
		{name: "raw 0xFF byte outside any string in the claims", why: "the claims are not JSON", token: reclaim(func(c string) string { return "\xff" + c }), want: authz.ErrMalformed},
		{name: "UTF-8 byte order mark before the header", why: "RFC 8259 section 8.1: JSON texts must not begin with a BOM in a JWS",
			token: reheader("\ufeff" + hdr("")), want: authz.ErrMalformed},

		// Header and claims that are not JSON objects (RFC 7515 section 5.2, RFC 7519 section 7.2).
		{name: "header is a JSON array", why: "the JOSE header must be a JSON object", token: reheader(`["ES384"]`), want: authz.ErrMalformed},
		{name: "header is a JSON string", why: "the JOSE header must be a JSON object", token: reheader(`"ES384"`), want: authz.ErrMalformed},
		{name: "header is a JSON number", why: "the JOSE header must be a JSON object", token: reheader(`384`), want: authz.ErrMalformed},
		{name: "header is JSON null", why: "the JOSE header must be a JSON object", token: reheader(`null`), want: authz.ErrMalformed},
		{name: "claims are a JSON array (validly signed)", why: "the claims set must be a JSON object", validator: e.biV, token: signed(biHeader, `[{"iss":"`+byteIssuerURL+`"}]`), want: authz.ErrMalformed},
		{name: "claims are a JSON string (validly signed)", why: "the claims set must be a JSON object", validator: e.biV, token: signed(biHeader, `"claims"`), want: authz.ErrMalformed},
		{name: "claims are a JSON number (validly signed)", why: "the claims set must be a JSON object", validator: e.biV, token: signed(biHeader, `9068`), want: authz.ErrMalformed},
		{name: "claims are JSON null (validly signed)", why: "the claims set must be a JSON object", validator: e.biV, token: signed(biHeader, `null`), want: authz.ErrMalformed},

		// Signatures (RFC 7518 section 3.4).
		{name: "signature stripped", why: "an empty signature verifies nothing", token: func(t *testing.T) string { h, c, _ := splitJWS(e.good()(t)); return h + "." + c + "." }, want: authz.ErrSignature},
		{name: "signature truncated by 3 bytes", why: "an ES384 signature is exactly 96 bytes", token: withSig(func(s []byte) []byte { return s[:len(s)-3] }), want: authz.ErrSignature},
		{name: "ES256-sized signature (64 bytes) on ES384", why: "an ECDSA signature of the wrong length is not a signature for this curve", token: withSig(func(s []byte) []byte { return s[:64] }), want: authz.ErrSignature},
		{name: "signature with a byte appended", why: "an ES384 signature is exactly 96 bytes", token: withSig(func(s []byte) []byte { return append(s, 0) }), want: authz.ErrSignature},
		{name: "all-zero signature, r = s = 0 (CVE-2022-21449)", why: "psychic signatures: r and s must be in [1, n-1]", token: withSig(func([]byte) []byte { return make([]byte, 96) }), want: authz.ErrSignature},
		{name: "r = s = n, the curve order", why: "r and s must be in [1, n-1]; n is 0 modulo n", token: withSig(func([]byte) []byte { return append(append([]byte{}, n384...), n384...) }), want: authz.ErrSignature},
		{name: "signature of another valid token", why: "a signature covers exactly its own header and claims",
			token: func(t *testing.T) string {
				h, c, _ := splitJWS(e.good(authztest.Scopes("admin"))(t))
				_, _, s := splitJWS(e.good()(t))
				return h + "." + c + "." + s
			}, want: authz.ErrSignature},
		{name: "ASN.1 DER ECDSA signature instead of r||s", why: "JWS ECDSA signatures are the fixed-size concatenation r||s (RFC 7518 section 3.4), not DER",
			validator: e.biV, token: func(t *testing.T) string {
				h, c, s := splitJWS(e.bi.sign(t, e.bi.header(), e.bi.claims(e.now, "")))
				raw, err := base64.RawURLEncoding.DecodeString(s)
				require.NoError(t, err)
				derSig, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(raw[:48]), new(big.Int).SetBytes(raw[48:])})
				require.NoError(t, err)
				return h + "." + c + "." + b64url(derSig)
			}, want: authz.ErrSignature},
		{name: "all-zero RS256 signature", why: "zero is never a valid RSA signature", validator: e.rsa.v,
			token: func(t *testing.T) string {
				h, c, _ := splitJWS(must(t)(e.rsa.iss.APIToken(api)))
				return h + "." + c + "." + b64url(make([]byte, 256))
			}, want: authz.ErrSignature},
		{name: "RS256 signature with non-canonical base64url padding bits", why: "a second spelling of the same token evades deny-lists and replay caches keyed on the raw token (RFC 4648 section 3.5)",
			validator: e.rsa.v, token: func(t *testing.T) string {
				tok := must(t)(e.rsa.iss.APIToken(api))
				// 256 bytes take 342 characters; the last one carries 4 unused bits.
				const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
				last := strings.IndexByte(alphabet, tok[len(tok)-1])
				return tok[:len(tok)-1] + string(alphabet[last|1])
			}, want: authz.ErrMalformed},

		// Keys that are no longer, or not yet, the signing key (RFC 9068 section 4 step 5).
		{name: "token signed by a key removed from the JWKS", why: "a deleted key is revoked: it stops validating after the refresh that removed it",
			validator: e.rotated.v, token: func(t *testing.T) string {
				r := e.rotated
				old := must(t)(r.iss.APIToken(api))
				_, err := r.v.Validate(ctx, old)
				require.NoError(t, err, "valid while its key is published")
				r.iss.RotateKeys()
				r.iss.DropPreviousKey()
				r.clock.Add(authz.DefaultRefreshCooldown + time.Second)
				_, err = r.v.Validate(ctx, must(t)(r.iss.APIToken(api, authztest.SignedByUnknownKey())))
				require.ErrorIs(t, err, authz.ErrUnknownKey, "this unknown kid makes the validator refresh")
				return old
			}, want: authz.ErrUnknownKey},
		{name: "valid signature, kid of the staged next key", why: "the kid selects the key; a signature by another published key does not verify under it",
			validator: e.staged.v, token: func(t *testing.T) string {
				s := e.staged
				next := s.iss.StageNextKey()
				s.clock.Add(authz.DefaultRefreshCooldown + time.Second) // let the unknown kid refresh the set
				return must(t)(s.iss.APIToken(api, authztest.KeyID(next)))
			}, want: authz.ErrSignature},

		// Deep nesting (stack exhaustion, CVE-2022-30635 class).
		{name: "10k nested arrays in a custom claim (issuer-signed)", why: "encoding/json refuses nesting deeper than 10000, so the claims are not decoded",
			validator: e.big, token: e.good(authztest.Claim("deep", json.RawMessage(strings.Repeat("[", 10_000)+strings.Repeat("]", 10_000)))), want: authz.ErrMalformed},
		{name: "9999 nested arrays in a custom claim, unknown key", why: "legal nesting is decoded without crashing, and the unknown key still fails the token",
			validator: e.big, token: e.good(authztest.SignedByUnknownKey(), authztest.Claim("deep", json.RawMessage(strings.Repeat("[", 9_999)+strings.Repeat("]", 9_999)))), want: authz.ErrUnknownKey},
		{name: "1 MiB of unclosed '[' in a claim (validly signed)", why: "unbounded nesting is not JSON a validator should walk",
			validator: e.biBig, token: signed(biHeader, `{"iss":"`+byteIssuerURL+`","deep":`+strings.Repeat("[", 1<<20)), want: authz.ErrMalformed},
		{name: "100k nested objects in a header member (validly signed)", why: "the header is decoded too, and must not overflow the stack",
			validator: e.biBig, token: signed(`{"alg":"ES384","typ":"at+jwt","kid":"`+e.bi.kid+`","x":`+strings.Repeat(`{"a":`, 100_000)+"1"+strings.Repeat("}", 100_000)+"}", biClaims("")), want: authz.ErrMalformed},
	}
	return rows
}

// TestAttackCorpus runs every hostile input and checks that it fails with
// exactly the expected kind of error, yields no claims, and is not echoed.
func TestAttackCorpus(t *testing.T) {
	e := newAttackEnv(t)
	rows := attackRows(t, e)
	require.GreaterOrEqual(t, len(rows), 40)
	seen := map[string]bool{}
	for _, row := range rows {
		require.Falsef(t, seen[row.name], "duplicate row %q", row.name)
		seen[row.name] = true
		require.NotEmpty(t, row.why, row.name)
		require.NotNil(t, row.want, row.name)
		t.Run(row.name, func(t *testing.T) {
			v := row.validator
			if v == nil {
				v = e.f.v
			}
			raw := row.token(t)
			claims, err := v.Validate(context.Background(), raw)
			require.Error(t, err, "accepted a hostile token: %s", row.why)
			assert.Nil(t, claims)
			assert.ErrorIs(t, err, row.want)
			var ae *authz.Error
			require.True(t, errors.As(err, &ae), "%T is not an *authz.Error", err)
			assert.Equal(t, row.want, ae.Kind, "Kind")
			msg := err.Error()
			for seg := range strings.SplitSeq(raw, ".") {
				// Shorter pieces would match ordinary words of the message.
				if len(seg) >= 8 {
					assert.NotContains(t, msg, seg, "the error echoes the token")
				}
			}
			assert.True(t, printableASCII(msg), "error message has unprintable bytes: %q", msg)
		})
	}
	assert.Zero(t, e.atkFetches.Load(), "the validator fetched a URL named by a token (jku/x5u)")
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// TestAttackDeepNestingDoesNotCrash validates legal and illegal nesting in a
// custom claim of validly signed tokens. None may panic or overflow the
// stack; legal nesting in an unused claim is accepted, and Decode reads it.
func TestAttackDeepNestingDoesNotCrash(t *testing.T) {
	f := newFixture(t, []string{api}, nil)
	big := mustValidator(t, f, authz.WithMaxTokenBytes(bigLimit))
	for _, depth := range []int{1_000, 9_999, 10_000} {
		for _, shape := range []struct{ name, open, close string }{
			{"arrays", "[", "]"},
			{"objects", `{"a":`, "}"},
		} {
			t.Run(fmt.Sprintf("%d nested %s", depth, shape.name), func(t *testing.T) {
				inner := strings.Repeat(shape.open, depth) + "0" + strings.Repeat(shape.close, depth)
				if shape.name == "arrays" {
					inner = strings.Repeat(shape.open, depth) + strings.Repeat(shape.close, depth)
				}
				raw := must(t)(f.iss.APIToken(api, authztest.Claim("deep", json.RawMessage(inner))))
				claims, err := big.Validate(context.Background(), raw)
				if depth >= 10_000 {
					assert.ErrorIs(t, err, authz.ErrMalformed, "deeper than encoding/json's limit once inside the claims object")
					return
				}
				require.NoError(t, err, "legal nesting in an unused claim is fine")
				var all map[string]any
				require.NoError(t, claims.Decode(&all))
				assert.Contains(t, all, "deep")
			})
		}
	}
}

// TestAttackClaimNamesAreExact checks that claims reach Claims only under
// their exact names (RFC 7515 section 5.3, RFC 7519 section 7.3) and in
// their standard shapes. A Logto custom-claims script may add any member
// except jti, sub, iat, exp, scope, client_id, iss and aud, and may copy
// user-controlled data; none of what it adds may become a permission or an
// organization.
func TestAttackClaimNamesAreExact(t *testing.T) {
	f := newFixture(t, []string{api}, nil)
	tests := []struct {
		name  string
		opts  []authztest.TokenOption
		check func(t assert.TestingT, c *authz.Claims)
	}{
		{name: "custom claim Scope on a token without scope", opts: []authztest.TokenOption{authztest.Claim("Scope", "admin")},
			check: func(t assert.TestingT, c *authz.Claims) {
				assert.Empty(t, c.Scopes)
				assert.False(t, c.HasScopes("admin"))
			},
		},
		{name: "custom claim SCOPE on a token without scope", opts: []authztest.TokenOption{authztest.Claim("SCOPE", []string{"admin"})},
			check: func(t assert.TestingT, c *authz.Claims) { assert.Empty(t, c.Scopes) }},
		{name: "custom claim with a long s (U+017F) for scope", opts: []authztest.TokenOption{authztest.Claim("\u017fcope", "admin")},
			check: func(t assert.TestingT, c *authz.Claims) { assert.Empty(t, c.Scopes) }},
		{name: "custom claim Organization_ID on an API token", opts: []authztest.TokenOption{authztest.Claim("Organization_ID", "org-b")},
			check: func(t assert.TestingT, c *authz.Claims) {
				assert.Empty(t, c.OrganizationID)
				assert.ErrorIs(t, c.CheckOrganization("org-b"), authz.ErrOrganization)
			},
		},
		{name: "custom claim ACT", opts: []authztest.TokenOption{authztest.Claim("ACT", map[string]string{"sub": "admin"})},
			check: func(t assert.TestingT, c *authz.Claims) { assert.Empty(t, c.Actor) }},
		{name: "act with SUB, not sub", opts: []authztest.TokenOption{authztest.Claim("act", map[string]string{"SUB": "mallory"})},
			check: func(t assert.TestingT, c *authz.Claims) { assert.Empty(t, c.Actor, "act.SUB is not act.sub") }},
		{name: "act with Sub beside sub", opts: []authztest.TokenOption{authztest.Claim("act", map[string]string{"sub": "alice", "Sub": "mallory"})},
			check: func(t assert.TestingT, c *authz.Claims) { assert.Equal(t, "alice", c.Actor) }},
		{name: "act with a nested actor", opts: []authztest.TokenOption{authztest.Claim("act", map[string]any{"sub": "alice", "act": map[string]string{"sub": "bob"}})},
			check: func(t assert.TestingT, c *authz.Claims) {
				assert.Equal(t, "alice", c.Actor, "the current actor, not one before it")
			}},
		{name: "custom claims that are not standard names stay out of Claims", opts: []authztest.TokenOption{authztest.Claim("scopes", "admin"), authztest.Claim("org_id", "org-b"), authztest.Claim("roles", []string{"admin"})},
			check: func(t assert.TestingT, c *authz.Claims) {
				assert.Empty(t, c.Scopes)
				assert.Empty(t, c.OrganizationID)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims, err := f.v.Validate(context.Background(), must(t)(f.iss.APIToken(api, tt.opts...)))
			require.NoError(t, err, "the token itself is valid")
			tt.check(t, claims)
		})
	}
}

// TestAttackCachedClaimsAreNotShared checks that the claims one request
// gets are its own: a handler that edits them (drops a consumed scope,
// rewrites an audience) must not change what a later request presenting the
// same token is granted, through the verified-token cache or otherwise.
func TestAttackCachedClaimsAreNotShared(t *testing.T) {
	f := newFixture(t, []string{api}, nil)
	raw := must(t)(f.iss.APIToken(api, authztest.Scopes("read"), authztest.Audiences(api)))
	first, err := f.v.Validate(context.Background(), raw) // a miss: verified and cached
	require.NoError(t, err)
	first.Scopes[0] = "admin"
	first.Audience[0] = "https://other.example.com"

	second, err := f.v.Validate(context.Background(), raw) // a hit
	require.NoError(t, err)
	assert.Equal(t, []string{"read"}, second.Scopes, "the first caller's edit reached the cache")
	assert.Equal(t, []string{api}, second.Audience)
	second.Scopes[0] = "root"

	third, err := f.v.Validate(context.Background(), raw)
	require.NoError(t, err)
	assert.Equal(t, []string{"read"}, third.Scopes, "a hit's copy shares its slices with the cache")
}

// manyMembers is n header members "m0":0, "m1":0, ... (with a leading comma).
func manyMembers(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `,"m%d":0`, i)
	}
	return b.String()
}
