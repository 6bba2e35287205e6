package authz_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz"
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

// TestRedirectsStayOnHTTPSAndOnTheHost: a JWKS URL may redirect, but
// every hop must be https and stay on the host it started on. The servers
// answer as example.com (the name httptest's certificate is for); the
// client dials them on loopback.
func TestRedirectsStayOnHTTPSAndOnTheHost(t *testing.T) {
	good, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	evil, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	jwks := func(key *ecdsa.PrivateKey) http.Handler {
		jwk, err := jwkset.NewJWKFromKey(&key.PublicKey, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{ALG: jwkset.AlgES384, KID: "k", USE: jwkset.UseSig}})
		require.NoError(t, err)
		body, err := json.Marshal(jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{jwk.Marshal()}})
		require.NoError(t, err)
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) })
	}
	redirect := func(to *string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, *to, http.StatusFound) })
	}
	port := func(srv *httptest.Server) string {
		return srv.Listener.Addr().(*net.TCPAddr).AddrPort().String()[len("127.0.0.1"):]
	}

	var toPlain, toEvil, toGood, toOtherHost string
	goodKeys := httptest.NewTLSServer(jwks(good))
	evilKeys := httptest.NewTLSServer(jwks(evil))
	start := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		targets := map[string]*string{"/chain": &toPlain, "/same-host": &toGood, "/other-host": &toOtherHost}
		redirect(targets[r.URL.Path]).ServeHTTP(w, r)
	}))
	plain := httptest.NewServer(redirect(&toEvil))
	for _, srv := range []*httptest.Server{goodKeys, evilKeys, start, plain} {
		t.Cleanup(srv.Close)
	}
	toPlain = "http://example.com" + port(plain) + "/jwks"
	toEvil = "https://example.com" + port(evilKeys) + "/jwks"
	toGood = "https://example.com" + port(goodKeys) + "/jwks"
	toOtherHost = "https://127.0.0.1" + port(goodKeys) + "/jwks"

	// The client trusts httptest's certificate and dials every
	// example.com port on loopback.
	transport := start.Client().Transport.(*http.Transport).Clone()
	transport.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		_, p, _ := net.SplitHostPort(addr)
		return (&net.Dialer{}).DialContext(ctx, network, net.JoinHostPort("127.0.0.1", p))
	}
	client := &http.Client{Transport: transport}
	const issuer = "https://example.com/oidc" // not loopback: https is required
	token := func(key *ecdsa.PrivateKey) string {
		return forge(t, jwt.SigningMethodES384, map[string]any{"typ": "at+jwt", "kid": "k"}, map[string]any{
			"iss": issuer, "aud": api, "sub": "user-1", "exp": time.Now().Add(time.Hour).Unix(),
		}, key)
	}
	for _, tt := range []struct {
		name string
		path string
		key  *ecdsa.PrivateKey
		want error
	}{
		{name: "https, then http, then https to another key", path: "/chain", key: evil, want: authz.ErrKeysUnavailable},
		{name: "https to another host", path: "/other-host", key: good, want: authz.ErrKeysUnavailable},
		{name: "https to https on the same host", path: "/same-host", key: good},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v, err := authz.New(issuer, []string{api}, authz.WithHTTPClient(client),
				authz.WithJWKSURL(issuer, "https://example.com"+port(start)+tt.path))
			require.NoError(t, err)
			t.Cleanup(v.Close)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err = v.Validate(ctx, token(tt.key))
			if tt.want == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tt.want)
		})
	}
}
