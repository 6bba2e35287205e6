package authz_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
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

// replaceableJWKS serves one ES384 key under the kid "k", which a test can
// replace by another, over loopback HTTP. It returns the issuer
// identifier, its JWKS URL and the setter.
func replaceableJWKS(t *testing.T, key *ecdsa.PrivateKey) (issuer, jwksURL string, replace func(*ecdsa.PrivateKey)) {
	t.Helper()
	var current atomic.Pointer[ecdsa.PrivateKey]
	current.Store(key)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		jwk, err := jwkset.NewJWKFromKey(&current.Load().PublicKey, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{
			ALG: jwkset.AlgES384, KID: "k", USE: jwkset.UseSig,
		}})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{jwk.Marshal()}})
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/oidc", srv.URL + "/oidc/jwks", current.Store
}

// TestReplacedKeyVoidsCachedTokens: when the issuer publishes another key
// under a kid, tokens signed by the old key stop validating at the refresh
// that replaced it, from the verified-token cache too.
func TestReplacedKeyVoidsCachedTokens(t *testing.T) {
	keyA, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	keyB, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	issuer, jwksURL, replace := replaceableJWKS(t, keyA)
	v, err := authz.New(issuer, []string{api}, authz.WithJWKSURL(issuer, jwksURL), authz.WithRefreshCooldown(0))
	require.NoError(t, err)
	t.Cleanup(v.Close)
	mint := func(key *ecdsa.PrivateKey, kid string) string {
		return forge(t, jwt.SigningMethodES384, map[string]any{"typ": "at+jwt", "kid": kid}, map[string]any{
			"iss": issuer, "aud": api, "sub": "user-1", "exp": time.Now().Add(time.Hour).Unix(),
		}, key)
	}
	old := mint(keyA, "k")
	for range 2 { // a miss, then a hit
		_, err := v.Validate(context.Background(), old)
		require.NoError(t, err)
	}

	replace(keyB)
	_, err = v.Validate(context.Background(), mint(keyB, "unknown")) // an unknown kid makes the validator refresh
	require.ErrorIs(t, err, authz.ErrUnknownKey)

	_, err = v.Validate(context.Background(), old)
	assert.ErrorIs(t, err, authz.ErrSignature, "the old key's token is verified afresh, against the new key")
	_, err = v.Validate(context.Background(), mint(keyB, "k"))
	assert.NoError(t, err, "the new key's tokens validate")
}

// redirects are JWKS servers that answer as example.com (the name
// httptest's certificate is for) and a client that trusts them and dials
// every example.com port on loopback. start redirects /chain to plain http,
// which redirects on to the attacker's keys; /same-host to the good keys on
// another port; /other-host to the good keys under another host name.
type redirects struct {
	client    *http.Client
	start     string // https://example.com:<port>
	good, bad *ecdsa.PrivateKey
}

// redirectIssuer is the issuer of the redirect tests: not loopback, so
// https is required.
const redirectIssuer = "https://example.com/oidc"

func newRedirects(t *testing.T) *redirects {
	t.Helper()
	r := &redirects{}
	var err error
	r.good, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	r.bad, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	jwks := func(key *ecdsa.PrivateKey) http.Handler {
		jwk, err := jwkset.NewJWKFromKey(&key.PublicKey, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{ALG: jwkset.AlgES384, KID: "k", USE: jwkset.UseSig}})
		require.NoError(t, err)
		body, err := json.Marshal(jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{jwk.Marshal()}})
		require.NoError(t, err)
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) })
	}
	port := func(srv *httptest.Server) string {
		return ":" + strconv.Itoa(srv.Listener.Addr().(*net.TCPAddr).Port)
	}
	goodKeys := httptest.NewTLSServer(jwks(r.good))
	badKeys := httptest.NewTLSServer(jwks(r.bad))
	plain := httptest.NewServer(http.RedirectHandler("https://example.com"+port(badKeys)+"/jwks", http.StatusFound))
	targets := map[string]string{
		"/chain":      "http://example.com" + port(plain) + "/jwks",
		"/same-host":  "https://example.com" + port(goodKeys) + "/jwks",
		"/other-host": "https://127.0.0.1" + port(goodKeys) + "/jwks",
	}
	start := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		http.Redirect(w, req, targets[req.URL.Path], http.StatusFound)
	}))
	for _, srv := range []*httptest.Server{goodKeys, badKeys, plain, start} {
		t.Cleanup(srv.Close)
	}
	r.start = "https://example.com" + port(start)
	transport := start.Client().Transport.(*http.Transport).Clone()
	transport.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		_, p, _ := net.SplitHostPort(addr)
		return (&net.Dialer{}).DialContext(ctx, network, net.JoinHostPort("127.0.0.1", p))
	}
	r.client = &http.Client{Transport: transport}
	return r
}

// validator trusts redirectIssuer with its JWKS at path of the start server.
func (r *redirects) validator(t *testing.T, path string, opts ...authz.Option) *authz.Validator {
	t.Helper()
	v, err := authz.New(redirectIssuer, []string{api}, append([]authz.Option{authz.WithHTTPClient(r.client),
		authz.WithJWKSURL(redirectIssuer, r.start+path)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(v.Close)
	return v
}

// token is an access token of redirectIssuer signed by key, valid at now.
func (r *redirects) token(t *testing.T, key *ecdsa.PrivateKey, now time.Time) string {
	return forge(t, jwt.SigningMethodES384, map[string]any{"typ": "at+jwt", "kid": "k"}, map[string]any{
		"iss": redirectIssuer, "aud": api, "sub": "user-1", "exp": now.Add(time.Hour).Unix(),
	}, key)
}

// TestRedirectsStayOnHTTPSAndOnTheHost: a JWKS URL may redirect, but
// every hop must be https and stay on the host it started on.
func TestRedirectsStayOnHTTPSAndOnTheHost(t *testing.T) {
	r := newRedirects(t)
	for _, tt := range []struct {
		name string
		path string
		key  *ecdsa.PrivateKey
		want error
	}{
		{name: "https, then http, then https to another key", path: "/chain", key: r.bad, want: authz.ErrKeysUnavailable},
		{name: "https to another host", path: "/other-host", key: r.good, want: authz.ErrKeysUnavailable},
		{name: "https to https on the same host", path: "/same-host", key: r.good},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := r.validator(t, tt.path).Validate(ctx, r.token(t, tt.key, time.Now()))
			if tt.want == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tt.want)
		})
	}
}

// TestReady: Ready waits for the keys of every issuer, and says why when
// they do not come.
func TestReady(t *testing.T) {
	up := newFixture(t, []string{api}, nil)
	require.NoError(t, up.v.Ready(context.Background()))

	down, err := authztest.NewIssuer()
	require.NoError(t, err)
	down.SetUnavailable(true)
	t.Cleanup(down.Close)
	v, err := authz.New(up.iss.URL(), []string{api}, authz.WithIssuer(down.URL()), authz.WithClock(up.clock.Now))
	require.NoError(t, err)
	t.Cleanup(v.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err = v.Ready(ctx)
	require.ErrorIs(t, err, authz.ErrKeysUnavailable)
	assert.Contains(t, err.Error(), down.URL(), "names the issuer")
	var e *authz.Error
	require.True(t, errors.As(err, &e))
	assert.Contains(t, fmt.Sprint(e.Unwrap()), "503", "the cause is the issuer's answer")

	// A token of the issuer that is up validates all the same.
	_, err = v.Validate(context.Background(), must(t)(up.iss.APIToken(api)))
	assert.NoError(t, err)
}

// TestIssuerAndAudienceErrorsSayWhatWasExpected: the token's value,
// quoted and capped, and the configured value, plainly.
func TestIssuerAndAudienceErrorsSayWhatWasExpected(t *testing.T) {
	f := newFixture(t, []string{api, "https://api2.example.com"}, nil)
	m := must(t)
	for _, tt := range []struct {
		name  string
		token string
		want  error
		text  string
	}{
		{name: "untrusted issuer", token: m(f.iss.APIToken(api, authztest.IssuerClaim("https://evil.example.com/oidc"))), want: authz.ErrIssuer,
			text: `issuer "https://evil.example.com/oidc" is not trusted; trusted: ` + f.iss.URL()},
		{name: "overlong issuer", token: m(f.iss.APIToken(api, authztest.IssuerClaim("https://"+strings.Repeat("a", 100)))), want: authz.ErrIssuer,
			text: "issuer (withheld: too long) is not trusted; trusted: " + f.iss.URL()},
		{name: "other audience", token: m(f.iss.APIToken("https://billing.example.com")), want: authz.ErrAudience,
			text: `token is not for this API: its "aud" is "https://billing.example.com"; this API is https://api.example.com, https://api2.example.com`},
		{name: "many audiences", token: m(f.iss.APIToken(api, authztest.Audiences("a", "b", "c", "d\x00"))), want: authz.ErrAudience,
			text: `token is not for this API: its "aud" is "a", "b", "c" and 1 more; this API is https://api.example.com, https://api2.example.com`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.v.Validate(context.Background(), tt.token)
			require.ErrorIs(t, err, tt.want)
			var e *authz.Error
			require.True(t, errors.As(err, &e))
			assert.Equal(t, tt.text, e.Reason)
		})
	}
}

// TestPreparedAndStandardLibraryAgree: validators with prepared keys (the
// default) and with WithStandardLibraryCrypto give the same verdict on
// valid, altered and forged ES384, ES256 and RS256 signatures.
func TestPreparedAndStandardLibraryAgree(t *testing.T) {
	otherEC, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	otherRSA, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	otherP256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	for _, tt := range []struct {
		alg    string
		method jwt.SigningMethod
		other  any
	}{
		{alg: "ES384", method: jwt.SigningMethodES384, other: otherEC},
		{alg: "ES256", method: jwt.SigningMethodES256, other: otherP256},
		{alg: "RS256", method: jwt.SigningMethodRS256, other: otherRSA},
	} {
		t.Run(tt.alg, func(t *testing.T) {
			f := newFixture(t, []string{api}, []authztest.Option{authztest.WithAlgorithm(tt.alg)}, authz.WithCache(0, 0))
			stdlib, err := authz.New(f.iss.URL(), []string{api}, authz.WithClock(f.clock.Now), authz.WithCache(0, 0), authz.WithStandardLibraryCrypto())
			require.NoError(t, err)
			t.Cleanup(stdlib.Close)
			good := must(t)(f.iss.APIToken(api))
			require.NoError(t, f.v.Ready(context.Background()))
			if tt.alg != "RS256" { // an EC key's table is built in the background after its first use
				require.Eventually(t, func() bool { return authz.PreparedReady(f.v, f.iss.URL(), f.iss.KeyID(), tt.alg) }, 10*time.Second, time.Millisecond)
			}
			dot := strings.LastIndexByte(good, '.')
			head := good[:dot]
			raw, err := base64.RawURLEncoding.DecodeString(good[dot+1:])
			require.NoError(t, err)
			with := func(b []byte) string { return head + "." + base64.RawURLEncoding.EncodeToString(b) }
			half := len(raw) / 2
			tokens := map[string]string{"valid": good}
			for i := 0; i < len(raw); i += 5 {
				b := bytes.Clone(raw)
				b[i] ^= 0x01
				tokens[fmt.Sprintf("bit flipped in byte %d", i)] = with(b)
			}
			tokens["halves swapped"] = with(append(bytes.Clone(raw[half:]), raw[:half]...))
			tokens["all zero"] = with(make([]byte, len(raw)))
			tokens["all ones"] = with(bytes.Repeat([]byte{0xff}, len(raw)))
			tokens["short signature"] = with(raw[:len(raw)-1])
			tokens["long signature"] = with(append(bytes.Clone(raw), 0))
			_, claims, _ := segments(t, good)
			header, _, _ := segments(t, good)
			tokens["signed by another key under the kid"] = forge(t, tt.method, header, claims, tt.other)
			for name, tok := range tokens {
				_, fast := f.v.Validate(context.Background(), tok)
				_, slow := stdlib.Validate(context.Background(), tok)
				assert.Equal(t, authz.OutcomeOf(slow).Name, authz.OutcomeOf(fast).Name, "%s: %v / %v", name, fast, slow)
				if name == "valid" {
					assert.NoError(t, fast)
				} else {
					assert.ErrorIs(t, fast, authz.ErrSignature, name)
				}
			}
		})
	}
}
