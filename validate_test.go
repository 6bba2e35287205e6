package authz_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
)

const api = "https://api.example.com"

// clock is a fake clock shared by the issuer and the validator.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fixture is an issuer, a validator trusting it, and their shared clock.
type fixture struct {
	iss   *authztest.Issuer
	v     *authz.Validator
	clock *clock
}

func newFixture(t *testing.T, audiences []string, issuerOpts []authztest.Option, opts ...authz.Option) *fixture {
	t.Helper()
	c := newClock()
	iss, err := authztest.NewIssuer(append([]authztest.Option{authztest.WithClock(c.Now)}, issuerOpts...)...)
	require.NoError(t, err)
	t.Cleanup(iss.Close)
	v, err := authz.New(iss.URL(), audiences, append([]authz.Option{authz.WithClock(c.Now)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(v.Close)
	return &fixture{iss: iss, v: v, clock: c}
}

// must fails the test on a minting error: must(t)(iss.APIToken(api)).
func must(t *testing.T) func(string, error) string {
	return func(tok string, err error) string {
		t.Helper()
		require.NoError(t, err)
		return tok
	}
}

// segments splits a compact JWS and decodes its header and claims.
func segments(t *testing.T, tok string) (header, claims map[string]any, sig string) {
	t.Helper()
	parts := strings.Split(tok, ".")
	require.Len(t, parts, 3)
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, dst))
	}
	return header, claims, parts[2]
}

// forge builds a token from header and claims, signed with key by method.
func forge(t *testing.T, method jwt.SigningMethod, header, claims map[string]any, key any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, jwt.MapClaims(claims))
	for k, v := range header {
		if k != "alg" {
			tok.Header[k] = v
		}
	}
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	return s
}

// unsigned encodes header and claims with the given signature segment.
func unsigned(t *testing.T, header, claims map[string]any, sig string) string {
	t.Helper()
	h, err := json.Marshal(header)
	require.NoError(t, err)
	c, err := json.Marshal(claims)
	require.NoError(t, err)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + "." + sig
}

// publicKeyDER fetches the issuer's JWKS and returns the DER of its first key.
func publicKeyDER(t *testing.T, iss *authztest.Issuer) []byte {
	t.Helper()
	resp, err := http.Get(iss.JWKSURL())
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var set struct {
		Keys []struct{ X, Y string } `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(body, &set))
	x, _ := base64.RawURLEncoding.DecodeString(set.Keys[0].X)
	y, _ := base64.RawURLEncoding.DecodeString(set.Keys[0].Y)
	pub := &ecdsa.PublicKey{Curve: elliptic.P384()}
	pub.X, pub.Y = new(big.Int).SetBytes(x), new(big.Int).SetBytes(y)
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	return der
}

func TestValidationRules(t *testing.T) {
	f := newFixture(t, []string{api}, nil)
	rsa := newFixture(t, []string{api}, []authztest.Option{authztest.WithAlgorithm("RS256")})
	now := f.clock.Now()
	tok := func(opts ...authztest.TokenOption) func(t *testing.T) string {
		return func(t *testing.T) string { return must(t)(f.iss.APIToken(api, opts...)) }
	}
	// edit re-encodes a good token with one change, keeping its signature.
	edit := func(change func(h, c map[string]any)) func(t *testing.T) string {
		return func(t *testing.T) string {
			h, c, sig := segments(t, must(t)(f.iss.APIToken(api)))
			change(h, c)
			return unsigned(t, h, c, sig)
		}
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	defaultClaims := func() map[string]any {
		return map[string]any{"iss": f.iss.URL(), "aud": api, "sub": "u", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()}
	}

	tests := []struct {
		name      string
		validator *authz.Validator
		token     func(t *testing.T) string
		want      error // nil: accepted
	}{
		// 1. size and shape
		{name: "valid ES384 token", token: tok(authztest.Scopes("read"))},
		{name: "empty token", token: func(*testing.T) string { return "" }, want: authz.ErrMissingToken},
		{name: "over the size limit", token: tok(authztest.Claim("pad", strings.Repeat("x", 9000))), want: authz.ErrMalformed},
		{name: "opaque token (no dots)", token: func(*testing.T) string { return "Q2xVdVBtV0Z3bFJ0T0p2a3hJVWd4T3pPbHd4" }, want: authz.ErrMalformed},
		{name: "two segments", token: func(t *testing.T) string {
			return strings.Join(strings.Split(must(t)(f.iss.APIToken(api)), ".")[:2], ".")
		}, want: authz.ErrMalformed},
		{name: "four segments", token: func(t *testing.T) string { return must(t)(f.iss.APIToken(api)) + ".x" }, want: authz.ErrMalformed},
		{name: "JWE (five segments)", token: func(*testing.T) string { return "a.b.c.d.e" }, want: authz.ErrMalformed},
		{name: "bad base64 (padding)", token: func(t *testing.T) string {
			p := strings.Split(must(t)(f.iss.APIToken(api)), ".")
			return p[0] + "=." + p[1] + "." + p[2]
		}, want: authz.ErrMalformed},
		{name: "bad base64 (whitespace)", token: func(t *testing.T) string { return " " + must(t)(f.iss.APIToken(api)) }, want: authz.ErrMalformed},
		{name: "header not JSON", token: func(t *testing.T) string {
			p := strings.Split(must(t)(f.iss.APIToken(api)), ".")
			return base64.RawURLEncoding.EncodeToString([]byte("not json")) + "." + p[1] + "." + p[2]
		}, want: authz.ErrMalformed},
		// 2. algorithm
		{name: "alg none, empty signature", token: func(t *testing.T) string {
			return unsigned(t, map[string]any{"alg": "none", "typ": "at+jwt", "kid": f.iss.KeyID()}, defaultClaims(), "")
		}, want: authz.ErrAlgorithm},
		{name: "alg NoNe", token: func(t *testing.T) string {
			return unsigned(t, map[string]any{"alg": "NoNe", "typ": "at+jwt", "kid": f.iss.KeyID()}, defaultClaims(), "")
		}, want: authz.ErrAlgorithm},
		{name: "HS256 signed with the issuer's public key bytes", token: func(t *testing.T) string {
			return forge(t, jwt.SigningMethodHS256, map[string]any{"typ": "at+jwt", "kid": f.iss.KeyID()}, defaultClaims(), publicKeyDER(t, f.iss))
		}, want: authz.ErrAlgorithm},
		{name: "alg not in the allow-list", validator: mustValidator(t, f, authz.WithAlgorithms("RS256")), token: tok(), want: authz.ErrAlgorithm},
		{name: "unknown crit", token: tok(authztest.Header("crit", []string{"exp"}), authztest.Header("exp", 1)), want: authz.ErrAlgorithm},
		{name: "jku header is ignored", token: tok(authztest.Header("jku", "https://evil.example/jwks")), want: nil},
		// 3. typ
		{name: "typ missing", token: tok(authztest.TokenType("")), want: authz.ErrTokenType},
		{name: "typ JWT (an ID token)", token: tok(authztest.TokenType("JWT")), want: authz.ErrTokenType},
		{name: "typ at+jwt", token: tok(authztest.TokenType("at+jwt"))},
		{name: "typ AT+JWT", token: tok(authztest.TokenType("AT+JWT"))},
		{name: "typ application/at+jwt", token: tok(authztest.TokenType("application/at+jwt"))},
		{name: "typ not a string", token: tok(authztest.Header("typ", 1)), want: authz.ErrTokenType},
		{name: "relaxed: typ missing", validator: mustValidator(t, f, authz.InsecureRelaxTokenType()), token: tok(authztest.TokenType(""))},
		{name: "relaxed: typ JWT", validator: mustValidator(t, f, authz.InsecureRelaxTokenType()), token: tok(authztest.TokenType("JWT"))},
		{name: "relaxed: typ dpop+jwt", validator: mustValidator(t, f, authz.InsecureRelaxTokenType()), token: tok(authztest.TokenType("dpop+jwt")), want: authz.ErrTokenType},
		// 4. key
		{name: "unknown kid", token: tok(authztest.SignedByUnknownKey()), want: authz.ErrUnknownKey},
		{name: "no kid", token: tok(authztest.KeyID("")), want: authz.ErrUnknownKey},
		{name: "key type mismatch: RSA key, ES384 token", validator: rsa.v, token: func(t *testing.T) string {
			c := defaultClaims()
			c["iss"] = rsa.iss.URL()
			return forge(t, jwt.SigningMethodES384, map[string]any{"typ": "at+jwt", "kid": rsa.iss.KeyID()}, c, ecKey)
		}, want: authz.ErrAlgorithm},
		{name: "RSA key without alg validates RS256", validator: rsa.v, token: func(t *testing.T) string { return must(t)(rsa.iss.APIToken(api)) }},
		{name: "RS256 token is refused by an EC issuer's key", token: func(t *testing.T) string {
			h, c, _ := segments(t, must(t)(rsa.iss.APIToken(api)))
			h["kid"] = f.iss.KeyID()
			c["iss"] = f.iss.URL()
			return unsigned(t, h, c, "c2ln")
		}, want: authz.ErrAlgorithm},
		// 5. signature
		{name: "bad signature", token: func(t *testing.T) string {
			p := strings.Split(must(t)(f.iss.APIToken(api)), ".")
			sig, _ := base64.RawURLEncoding.DecodeString(p[2])
			sig[10] ^= 1
			return p[0] + "." + p[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
		}, want: authz.ErrSignature},
		{name: "claims changed after signing", token: edit(func(_, c map[string]any) { c["scope"] = "admin" }), want: authz.ErrSignature},
		// 6. issuer
		{name: "wrong iss", token: tok(authztest.IssuerClaim("https://evil.example/oidc")), want: authz.ErrIssuer},
		{name: "iss with a trailing slash", token: func(t *testing.T) string { return must(t)(f.iss.APIToken(api, authztest.IssuerClaim(f.iss.URL()+"/"))) }, want: authz.ErrIssuer},
		{name: "missing iss", token: tok(authztest.WithoutClaim("iss")), want: authz.ErrIssuer},
		// 7. audience
		{name: "wrong aud", token: func(t *testing.T) string { return must(t)(f.iss.APIToken("https://other.example.com")) }, want: authz.ErrAudience},
		{name: "missing aud", token: tok(authztest.WithoutClaim("aud")), want: authz.ErrAudience},
		{name: "aud as array containing the API", token: tok(authztest.Audiences("https://other.example.com", api))},
		{name: "aud as array without the API", token: tok(authztest.Audiences("https://other.example.com")), want: authz.ErrAudience},
		{name: "aud as empty array", token: tok(authztest.Audiences()), want: authz.ErrAudience},
		{name: "aud not a string", token: tok(authztest.Claim("aud", 7)), want: authz.ErrMalformed},
		// 8. time
		{name: "missing exp", token: tok(authztest.WithoutClaim("exp")), want: authz.ErrMalformed},
		{name: "exp as a string", token: tok(authztest.Claim("exp", "9999999999")), want: authz.ErrMalformed},
		{name: "negative exp", token: tok(authztest.Claim("exp", -1)), want: authz.ErrMalformed},
		{name: "huge exp", token: tok(authztest.Claim("exp", 1e300)), want: authz.ErrMalformed},
		{name: "fractional exp", token: tok(authztest.Claim("exp", float64(now.Unix())+3600.5))},
		{name: "expired within leeway", token: tok(authztest.ExpiresAt(now.Add(-10 * time.Second)))},
		{name: "expired beyond leeway", token: tok(authztest.ExpiresAt(now.Add(-31 * time.Second))), want: authz.ErrExpired},
		{name: "expired exactly at leeway", token: tok(authztest.ExpiresAt(now.Add(-30 * time.Second))), want: authz.ErrExpired},
		{name: "nbf in the future beyond leeway", token: tok(authztest.NotBefore(now.Add(time.Minute))), want: authz.ErrNotYetValid},
		{name: "nbf in the future within leeway", token: tok(authztest.NotBefore(now.Add(20 * time.Second)))},
		{name: "iat in the future beyond leeway", token: tok(authztest.IssuedAt(now.Add(time.Minute)), authztest.ExpiresAt(now.Add(time.Hour))), want: authz.ErrNotYetValid},
		{name: "iat in the future within leeway", token: tok(authztest.IssuedAt(now.Add(20*time.Second)), authztest.ExpiresAt(now.Add(time.Hour)))},
		// 9. claims
		{name: "scope missing", token: tok()},
		{name: "scope empty", token: tok(authztest.Scopes())},
		{name: "scope as array", token: tok(authztest.Claim("scope", []string{"read", "write"}))},
		{name: "scope as number", token: tok(authztest.Claim("scope", 3)), want: authz.ErrMalformed},
		{name: "act not an object", token: tok(authztest.Claim("act", "x")), want: authz.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := tt.validator
			if v == nil {
				v = f.v
			}
			raw := tt.token(t)
			claims, err := v.Validate(context.Background(), raw)
			if tt.want == nil {
				require.NoError(t, err)
				assert.NotNil(t, claims)
				return
			}
			require.Error(t, err)
			assert.Nil(t, claims)
			assert.ErrorIs(t, err, tt.want)
			var e *authz.Error
			require.True(t, errors.As(err, &e), "every error is an *authz.Error")
			assert.Equal(t, tt.want, e.Kind)
			assert.True(t, strings.HasPrefix(err.Error(), "authz: "), err.Error())
			if len(raw) > 20 {
				for _, seg := range strings.Split(raw, ".") {
					if len(seg) > 8 {
						assert.NotContains(t, err.Error(), seg, "the error echoes the token")
					}
				}
			}
		})
	}
}

// mustValidator builds another validator over the fixture's issuer.
func mustValidator(t *testing.T, f *fixture, opts ...authz.Option) *authz.Validator {
	t.Helper()
	v, err := authz.New(f.iss.URL(), []string{api}, append([]authz.Option{authz.WithClock(f.clock.Now)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(v.Close)
	return v
}

func TestClaimsOfAValidToken(t *testing.T) {
	f := newFixture(t, []string{api}, nil)
	now := f.clock.Now()
	raw := must(t)(f.iss.APIToken(api, authztest.Subject("user-1"), authztest.ClientID("app-1"),
		authztest.Scopes("read:documents", "write:documents"), authztest.Actor("admin-1"),
		authztest.Claim("jti", "token-1"), authztest.Claim("tenant_tier", "gold")))
	c, err := f.v.Validate(context.Background(), raw)
	require.NoError(t, err)
	assert.Equal(t, f.iss.URL(), c.Issuer)
	assert.Equal(t, "user-1", c.Subject)
	assert.Equal(t, []string{api}, c.Audience)
	assert.Equal(t, "app-1", c.ClientID)
	assert.Equal(t, []string{"read:documents", "write:documents"}, c.Scopes)
	assert.Equal(t, "admin-1", c.Actor)
	assert.Equal(t, "token-1", c.TokenID)
	assert.Equal(t, now.Unix(), c.IssuedAt.Unix())
	assert.Equal(t, now.Add(time.Hour).Unix(), c.ExpiresAt.Unix())
	assert.True(t, c.NotBefore.IsZero())
	assert.Empty(t, c.OrganizationID)
	assert.False(t, c.IsMachine())
	assert.False(t, c.IsOrganizationToken())
	assert.True(t, c.HasScopes("read:documents", "write:documents"))
	assert.False(t, c.HasScopes("read:documents", "delete:documents"))
	assert.True(t, c.HasScopes())
	assert.True(t, c.HasAnyScope("delete:documents", "write:documents"))
	assert.False(t, c.HasAnyScope())
	assert.Equal(t, raw, string(c.Token()))

	var custom struct {
		Tier  string `json:"tenant_tier"`
		Scope string `json:"scope"`
	}
	require.NoError(t, c.Decode(&custom))
	assert.Equal(t, "gold", custom.Tier)
	assert.Equal(t, "read:documents write:documents", custom.Scope)
}

func TestScopeShapes(t *testing.T) {
	f := newFixture(t, []string{api}, nil)
	tests := []struct {
		name string
		opt  authztest.TokenOption
		want []string
	}{
		{name: "missing", opt: authztest.WithoutClaim("scope"), want: nil},
		{name: "empty string", opt: authztest.Scopes(), want: nil},
		{name: "one", opt: authztest.Scopes("read"), want: []string{"read"}},
		{name: "extra spaces", opt: authztest.Claim("scope", "  read   write "), want: []string{"read", "write"}},
		{name: "array", opt: authztest.Claim("scope", []string{"read", "write"}), want: []string{"read", "write"}},
		{name: "null", opt: authztest.Claim("scope", nil), want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := f.v.Validate(context.Background(), must(t)(f.iss.APIToken(api, tt.opt)))
			require.NoError(t, err)
			assert.Equal(t, tt.want, []string(c.Scopes))
			assert.False(t, c.HasAnyScope("admin"))
		})
	}
}
