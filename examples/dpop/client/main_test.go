package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/middleware"
)

const resource = "https://api.example.com"

// tokenEndpoint issues tokens bound to the key of the request's DPoP
// proof, after checking the proof as an authorization server would (RFC
// 9449 section 4.3, without replay): it is what the client is tested
// against.
func tokenEndpoint(t *testing.T, iss *authztest.Issuer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, secret, ok := r.BasicAuth(); !ok || id != "app" || secret != "s3cret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var jwk jwkset.JWKMarshal
		claims := jwt.MapClaims{}
		_, err := jwt.ParseWithClaims(r.Header.Get("DPoP"), claims, func(tk *jwt.Token) (any, error) {
			assert.Equal(t, "dpop+jwt", tk.Header["typ"])
			raw, _ := json.Marshal(tk.Header["jwk"])
			require.NoError(t, json.Unmarshal(raw, &jwk))
			k, err := jwkset.NewJWKFromMarshal(jwk, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
			if err != nil {
				return nil, err
			}
			return k.Key(), nil
		}, jwt.WithValidMethods([]string{"ES256"}))
		if err != nil {
			t.Errorf("token request proof: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		assert.Equal(t, "POST", claims["htm"])
		assert.Equal(t, iss.URL()+"/token", claims["htu"])
		assert.Nil(t, claims["ath"], "no token yet: no ath")
		require.NoError(t, r.ParseForm())
		jkt := thumbprintOf(t, jwk)
		tok, err := iss.MachineToken(r.PostForm.Get("resource"), "app", authztest.Scopes(r.PostForm.Get("scope")),
			authztest.Claim("cnf", map[string]string{"jkt": jkt}))
		require.NoError(t, err)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "DPoP", "expires_in": 3600})
	})
}

// thumbprintOf is the RFC 7638 thumbprint of an EC key, computed here
// independently of the client's code.
func thumbprintOf(t *testing.T, m jwkset.JWKMarshal) string {
	t.Helper()
	b, err := json.Marshal(struct {
		Crv string `json:"crv"`
		Kty string `json:"kty"`
		X   string `json:"x"`
		Y   string `json:"y"`
	}{string(m.CRV), string(m.KTY), m.X, m.Y})
	require.NoError(t, err)
	return tokenHash(string(b))
}

// api serves GET /documents behind DPoP-required middleware.
func api(t *testing.T, iss *authztest.Issuer, dc authz.DPoPConfig, opts ...middleware.Option) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	srv.Config.Handler = apiHandler(t, iss, dc, opts...)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL + "/documents"
}

func apiHandler(t *testing.T, iss *authztest.Issuer, dc authz.DPoPConfig, opts ...middleware.Option) http.Handler {
	t.Helper()
	v, err := authz.New(iss.URL(), []string{resource}, authz.WithDPoP(dc))
	require.NoError(t, err)
	t.Cleanup(v.Close)
	mw, err := middleware.New(v, append([]middleware.Option{middleware.WithDPoP(authz.DPoPRequired), middleware.WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	require.NoError(t, err)
	return mw.Require("read:documents")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := authz.FromContext(r.Context())
		_, _ = w.Write([]byte(`{"dpop_key":"` + c.KeyThumbprint + `"}`))
	}))
}

// TestClientReplayToAnotherReplica: two replicas behind one external URL
// (replica A's) and one replay cache: the proof A accepted, replayed to
// B, is refused.
func TestClientReplayToAnotherReplica(t *testing.T) {
	iss := newIssuer(t)
	shared := authz.NewMemoryReplayCache(64)
	a := httptest.NewUnstartedServer(nil)
	external := "http://" + a.Listener.Addr().String()
	a.Config.Handler = apiHandler(t, iss, authz.DPoPConfig{Replay: shared}, middleware.WithExternalURL(external))
	a.Start()
	t.Cleanup(a.Close)
	b := api(t, iss, authz.DPoPConfig{Replay: shared}, middleware.WithExternalURL(external))
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"-issuer", iss.URL(), "-client", "app:s3cret", "-url", a.URL + "/documents", "-replay-to", b}, &out, &errOut)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	assert.Contains(t, out.String(), "GET "+a.URL+"/documents: 200 OK")
	assert.Contains(t, out.String(), "the same proof again:\nGET "+b+": 401 Unauthorized")
	assert.Contains(t, out.String(), "replayed")
}

func newIssuer(t *testing.T) *authztest.Issuer {
	t.Helper()
	iss, err := authztest.NewIssuer()
	require.NoError(t, err)
	t.Cleanup(iss.Close)
	iss.Handle("POST /token", tokenEndpoint(t, iss))
	return iss
}

// TestClient: the standard-library client gets a DPoP-bound token and
// calls the API, which accepts its proof and refuses the same proof again.
func TestClient(t *testing.T) {
	iss := newIssuer(t)
	url := api(t, iss, authz.DPoPConfig{})
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"-issuer", iss.URL(), "-client", "app:s3cret", "-resource", resource, "-scope", "read:documents", "-url", url, "-replay"}, &out, &errOut)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	lines := out.String()
	assert.Contains(t, lines, "token type DPoP")
	assert.Contains(t, lines, "GET "+url+": 200 OK")
	thumb := strings.TrimPrefix(strings.SplitN(lines, "\n", 2)[0], "DPoP key thumbprint ")
	assert.Contains(t, lines, `{"dpop_key":"`+thumb+`"}`, "the API saw the client's key")
	assert.Contains(t, lines, "the same proof again:\nGET "+url+": 401 Unauthorized")
	assert.Contains(t, lines, "replayed")
}

// TestClientNonce: when the API asks for a server nonce, the client retries
// with it.
func TestClientNonce(t *testing.T) {
	iss := newIssuer(t)
	nonces, err := authz.NewNonceSource([]byte(strings.Repeat("n", 32)), time.Minute)
	require.NoError(t, err)
	url := api(t, iss, authz.DPoPConfig{Nonces: nonces})
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"-issuer", iss.URL(), "-client", "app:s3cret", "-url", url}, &out, &errOut)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	assert.Contains(t, out.String(), `error="use_dpop_nonce"`)
	assert.Contains(t, out.String(), "GET "+url+": 200 OK")
}

func TestClientUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	assert.Equal(t, 2, run(context.Background(), []string{"-client", "no-colon"}, &out, &errOut))
	assert.Equal(t, 2, run(context.Background(), []string{"-nope"}, &out, &errOut))
}

// tokenHash is base64url(SHA-256(s)): the thumbprint of a JWK's canonical
// JSON.
func tokenHash(s string) string { return b64.EncodeToString(sha256Sum([]byte(s))) }

func sha256Sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }
