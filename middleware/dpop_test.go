package middleware_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/middleware"
)

// dpopRig is a DPoP-enabled API on a loopback server: GET /documents
// needs read:documents, GET /v1/... is the same API under a prefix that
// http.StripPrefix removes.
type dpopRig struct {
	e   *env
	v   *authz.Validator
	srv string // the server's base URL
	key *authztest.DPoPKey
}

func newDPoPRig(t *testing.T, mode authz.DPoPMode, dc authz.DPoPConfig, opts ...middleware.Option) *dpopRig {
	t.Helper()
	e := newEnv(t, false)
	v, err := authz.New(e.iss.URL(), []string{api}, authz.WithClock(e.clock.Now), authz.WithDPoP(dc))
	require.NoError(t, err)
	t.Cleanup(v.Close)
	mw := e.middleware(t, v, append([]middleware.Option{middleware.WithDPoP(mode)}, opts...)...)
	mux := http.NewServeMux()
	mux.Handle("GET /documents", mw.Require("read:documents")(echo))
	mux.Handle("GET /v1/", http.StripPrefix("/v1", mw.Require("read:documents")(echo)))
	key, err := authztest.NewDPoPKey("ES256", e.clock.Now)
	require.NoError(t, err)
	return &dpopRig{e: e, v: v, srv: serve(t, mux).URL, key: key}
}

// bound mints a token bound to the rig's key.
func (g *dpopRig) bound(t *testing.T, opts ...authztest.TokenOption) string {
	t.Helper()
	return must(t)(g.e.iss.APIToken(api, append([]authztest.TokenOption{authztest.BoundTo(g.key), authztest.Scopes("read:documents")}, opts...)...))
}

// proof is a proof by the rig's key for GET url with tok.
func (g *dpopRig) proof(t *testing.T, url, tok string, opts ...authztest.ProofOption) string {
	t.Helper()
	p, err := g.key.Proof("GET", url, tok, opts...)
	require.NoError(t, err)
	return p
}

// answer is what the server said.
type answer struct {
	status     int
	challenges []string
	body       string
}

// getDPoP sends GET url with the Authorization header auth (if not "") and
// the DPoP headers proofs.
func getDPoP(t *testing.T, url, auth string, proofs ...string) answer {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	require.NoError(t, err)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for _, p := range proofs {
		req.Header.Add("DPoP", p)
	}
	return sendDPoP(t, req)
}

func sendDPoP(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{status: resp.StatusCode, challenges: resp.Header.Values("WWW-Authenticate"), body: string(b)}
}

const algs = `algs="ES256 ES384 ES512 RS256 RS384 RS512 PS256 PS384 PS512 EdDSA"`

// TestDPoPAllowed: with DPoPAllowed, a DPoP-bound token passes with the
// DPoP scheme and its proof, an unbound one with Bearer; every defect of
// the proof, and the Bearer downgrade of a bound token, is a 401 whose
// first challenge is the scheme used, with the error, and whose second is
// the other scheme.
func TestDPoPAllowed(t *testing.T) {
	g := newDPoPRig(t, authz.DPoPAllowed, authz.DPoPConfig{})
	url := g.srv + "/documents"
	tok := g.bound(t)
	unbound := must(t)(g.e.iss.APIToken(api, authztest.Scopes("read:documents")))
	other, err := authztest.NewDPoPKey("ES256", g.e.clock.Now)
	require.NoError(t, err)

	ok := g.proof(t, url, tok)
	assert.Equal(t, http.StatusOK, getDPoP(t, url, "DPoP "+tok, ok).status, "the bound token with its proof")
	assert.Equal(t, http.StatusOK, getDPoP(t, url, "Bearer "+unbound).status, "an unbound token as a bearer token")
	assert.Equal(t, http.StatusOK, getDPoP(t, url, "dpop "+tok, g.proof(t, url, tok)).status, "the scheme is case-insensitive")

	dpopError := func(desc string) []string {
		return []string{`DPoP realm="api", error="invalid_dpop_proof", error_description="` + desc + `", ` + algs, `Bearer realm="api"`}
	}
	now := g.e.clock.Now()
	tests := []struct {
		name       string
		auth       string
		proofs     []string
		challenges []string
		inDesc     string // when challenges is nil: in the first challenge
	}{
		{name: "replayed proof", auth: "DPoP " + tok, proofs: []string{ok}, challenges: dpopError(`proof was used before (its 'jti' is replayed)`)},
		{name: "bearer downgrade", auth: "Bearer " + tok, challenges: []string{
			`Bearer realm="api", error="invalid_token", error_description="token is bound to a DPoP key (cnf.jkt): send it with the DPoP scheme and a proof"`,
			`DPoP realm="api", ` + algs}},
		{name: "no proof", auth: "DPoP " + tok, challenges: dpopError("the request has no DPoP proof")},
		{name: "two proofs", auth: "DPoP " + tok, proofs: []string{g.proof(t, url, tok), g.proof(t, url, tok)}, challenges: dpopError("the request has more than one DPoP proof")},
		{name: "wrong htm", auth: "DPoP " + tok, proofs: []string{func() string {
			p, err := g.key.Proof("POST", url, tok)
			require.NoError(t, err)
			return p
		}()}, inDesc: `'htm'`},
		{name: "wrong htu", auth: "DPoP " + tok, proofs: []string{g.proof(t, g.srv+"/other", tok)}, inDesc: `'htu'`},
		{name: "stale iat", auth: "DPoP " + tok, proofs: []string{g.proof(t, url, tok, authztest.ProofIssuedAt(now.Add(-time.Hour)))}, inDesc: "old"},
		{name: "no ath", auth: "DPoP " + tok, proofs: []string{g.proof(t, url, tok, authztest.WithoutProofClaim("ath"))}, inDesc: `no 'ath'`},
		{name: "ath of another token", auth: "DPoP " + tok, proofs: []string{g.proof(t, url, unbound)}, inDesc: `'ath'`},
		{name: "proof by another key", auth: "DPoP " + tok, proofs: []string{func() string {
			p, err := other.Proof("GET", url, tok)
			require.NoError(t, err)
			return p
		}()}, inDesc: "another key"},
		{name: "private key in jwk", auth: "DPoP " + tok, proofs: []string{g.proof(t, url, tok, authztest.ProofWithPrivateKey())}, inDesc: "private key"},
		{name: "typ JWT", auth: "DPoP " + tok, proofs: []string{g.proof(t, url, tok, authztest.ProofHeader("typ", "JWT"))}, inDesc: `'typ'`},
		{name: "alg none", auth: "DPoP " + tok, proofs: []string{g.proof(t, url, tok, authztest.ProofAlgorithm("none"))}, inDesc: `'alg'`},
		{name: "alg HS256", auth: "DPoP " + tok, proofs: []string{g.proof(t, url, tok, authztest.ProofAlgorithm("HS256"))}, inDesc: `'alg'`},
		{name: "signature by another key", auth: "DPoP " + tok, proofs: []string{g.proof(t, url, tok, authztest.ProofSignedBy(other))}, inDesc: "signature"},
		{name: "unbound token with the DPoP scheme", auth: "DPoP " + unbound, proofs: []string{g.proof(t, url, unbound)}, inDesc: "not bound to a DPoP key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := getDPoP(t, url, tt.auth, tt.proofs...)
			require.Equal(t, http.StatusUnauthorized, got.status, got.body)
			if tt.challenges != nil {
				assert.Equal(t, tt.challenges, got.challenges)
				return
			}
			require.Len(t, got.challenges, 2)
			assert.True(t, strings.HasPrefix(got.challenges[0], `DPoP realm="api", error="invalid_dpop_proof", error_description="`), got.challenges[0])
			assert.Contains(t, got.challenges[0], tt.inDesc)
			assert.True(t, strings.HasSuffix(got.challenges[0], algs), got.challenges[0])
			assert.Equal(t, `Bearer realm="api"`, got.challenges[1])
			assert.Contains(t, got.body, `"error":"invalid_dpop_proof"`)
		})
	}

	t.Run("no credentials: both challenges, no error", func(t *testing.T) {
		got := getDPoP(t, url, "")
		assert.Equal(t, http.StatusUnauthorized, got.status)
		assert.Equal(t, []string{`Bearer realm="api"`, `DPoP realm="api", ` + algs}, got.challenges)
	})
	t.Run("403 on the DPoP challenge", func(t *testing.T) {
		weak := g.bound(t, authztest.Scopes("read:profile"))
		got := getDPoP(t, url, "DPoP "+weak, g.proof(t, url, weak))
		assert.Equal(t, http.StatusForbidden, got.status)
		assert.Equal(t, []string{
			`DPoP realm="api", error="insufficient_scope", error_description="missing permission read:documents", scope="read:documents", ` + algs,
			`Bearer realm="api"`}, got.challenges)
	})
}

// TestDPoPRequired: only the DPoP scheme; a bearer token, bound or not, is
// refused with the DPoP challenge alone.
func TestDPoPRequired(t *testing.T) {
	g := newDPoPRig(t, authz.DPoPRequired, authz.DPoPConfig{})
	url := g.srv + "/documents"
	tok := g.bound(t)
	assert.Equal(t, http.StatusOK, getDPoP(t, url, "DPoP "+tok, g.proof(t, url, tok)).status)
	for name, auth := range map[string]string{"unbound bearer": "Bearer " + must(t)(g.e.iss.APIToken(api, authztest.Scopes("read:documents"))), "bound bearer": "Bearer " + tok} {
		got := getDPoP(t, url, auth)
		assert.Equal(t, http.StatusUnauthorized, got.status, name)
		assert.Equal(t, []string{`DPoP realm="api", error="invalid_token", error_description="this API accepts only DPoP-bound tokens, sent with the DPoP scheme and a proof", ` + algs}, got.challenges, name)
	}
	got := getDPoP(t, url, "")
	assert.Equal(t, []string{`DPoP realm="api", ` + algs}, got.challenges)
	assert.Contains(t, got.body, "no DPoP token")
}

// TestBearerOnlyRefusesBoundTokens: by default the DPoP scheme is no
// credential, and a bound token sent as a bearer token is refused.
func TestBearerOnlyRefusesBoundTokens(t *testing.T) {
	g := newDPoPRig(t, authz.BearerOnly, authz.DPoPConfig{})
	url := g.srv + "/documents"
	tok := g.bound(t)
	got := getDPoP(t, url, "Bearer "+tok)
	assert.Equal(t, http.StatusUnauthorized, got.status)
	assert.Equal(t, []string{`Bearer realm="api", error="invalid_token", error_description="token is bound to a DPoP key (cnf.jkt): send it with the DPoP scheme and a proof"`}, got.challenges)
	got = getDPoP(t, url, "DPoP "+tok, g.proof(t, url, tok))
	assert.Equal(t, http.StatusUnauthorized, got.status)
	assert.Equal(t, []string{`Bearer realm="api"`}, got.challenges, "another scheme is no bearer token")
}

func TestDPoPNeedsAValidatorThatAcceptsIt(t *testing.T) {
	e := newEnv(t, false)
	_, err := middleware.New(e.apiV, middleware.WithDPoP(authz.DPoPAllowed))
	assert.ErrorContains(t, err, "authz.WithDPoP")
	for _, bad := range []string{"api.example.com", "https://api.example.com/", "https://api.example.com?x", "ftp://api.example.com", "https://u@api.example.com"} {
		_, err := middleware.New(e.apiV, middleware.WithExternalURL(bad))
		assert.Error(t, err, bad)
	}
}

// TestDPoPURLBehindAProxy: the proof's "htu" is checked against the
// external URL when WithExternalURL says it, against X-Forwarded-* only
// with WithForwardedHeaders, and against the path as received, before any
// StripPrefix.
func TestDPoPURLBehindAProxy(t *testing.T) {
	const external = "https://api.example.com"
	t.Run("WithExternalURL", func(t *testing.T) {
		g := newDPoPRig(t, authz.DPoPAllowed, authz.DPoPConfig{}, middleware.WithExternalURL(external))
		tok := g.bound(t)
		assert.Equal(t, http.StatusOK, getDPoP(t, g.srv+"/documents", "DPoP "+tok, g.proof(t, external+"/documents", tok)).status)
		assert.Equal(t, http.StatusUnauthorized, getDPoP(t, g.srv+"/documents", "DPoP "+tok, g.proof(t, g.srv+"/documents", tok)).status,
			"the internal URL is not the one clients use")
	})
	t.Run("forwarded headers are ignored by default", func(t *testing.T) {
		g := newDPoPRig(t, authz.DPoPAllowed, authz.DPoPConfig{})
		tok := g.bound(t)
		req, err := http.NewRequest("GET", g.srv+"/documents", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "DPoP "+tok)
		req.Header.Set("DPoP", g.proof(t, external+"/documents", tok))
		req.Header.Set("X-Forwarded-Proto", "https")
		req.Header.Set("X-Forwarded-Host", "api.example.com")
		assert.Equal(t, http.StatusUnauthorized, sendDPoP(t, req).status)
	})
	t.Run("WithForwardedHeaders", func(t *testing.T) {
		g := newDPoPRig(t, authz.DPoPAllowed, authz.DPoPConfig{}, middleware.WithForwardedHeaders())
		tok := g.bound(t)
		req, err := http.NewRequest("GET", g.srv+"/documents", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "DPoP "+tok)
		req.Header.Set("DPoP", g.proof(t, external+"/documents", tok))
		req.Header.Set("X-Forwarded-Proto", "https, http")
		req.Header.Set("X-Forwarded-Host", "api.example.com")
		assert.Equal(t, http.StatusOK, sendDPoP(t, req).status)
	})
	t.Run("StripPrefix", func(t *testing.T) {
		g := newDPoPRig(t, authz.DPoPAllowed, authz.DPoPConfig{})
		tok := g.bound(t)
		assert.Equal(t, http.StatusOK, getDPoP(t, g.srv+"/v1/documents", "DPoP "+tok, g.proof(t, g.srv+"/v1/documents", tok)).status)
		assert.Equal(t, http.StatusUnauthorized, getDPoP(t, g.srv+"/v1/documents", "DPoP "+tok, g.proof(t, g.srv+"/documents", tok)).status)
	})
}

// TestDPoPReplicasShareAReplayCache: two replicas (validators and
// servers) behind one external URL and one replay cache: a proof accepted
// by one is refused by the other.
func TestDPoPReplicasShareAReplayCache(t *testing.T) {
	shared := authz.NewMemoryReplayCache(1024)
	const external = "https://api.example.com"
	a := newDPoPRig(t, authz.DPoPAllowed, authz.DPoPConfig{Replay: shared}, middleware.WithExternalURL(external))
	e := a.e
	v, err := authz.New(e.iss.URL(), []string{api}, authz.WithClock(e.clock.Now), authz.WithDPoP(authz.DPoPConfig{Replay: shared}))
	require.NoError(t, err)
	t.Cleanup(v.Close)
	mw := e.middleware(t, v, middleware.WithDPoP(authz.DPoPAllowed), middleware.WithExternalURL(external))
	b := serve(t, mw.Require("read:documents")(echo)).URL

	tok := a.bound(t)
	p := a.proof(t, external+"/documents", tok)
	assert.Equal(t, http.StatusOK, getDPoP(t, a.srv+"/documents", "DPoP "+tok, p).status, "replica A")
	got := getDPoP(t, b+"/documents", "DPoP "+tok, p)
	assert.Equal(t, http.StatusUnauthorized, got.status, "replica B refuses the replay")
	assert.Contains(t, got.challenges[0], "replayed")
}

// downCache is a replay cache whose store cannot be reached.
type downCache struct{}

var errDown = errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")

func (downCache) Remember(context.Context, string, time.Time, time.Time) (bool, error) {
	return false, errDown
}

// TestDPoPReplayStoreDown: 503 with Retry-After and no challenge; the log
// says why, the client is not told.
func TestDPoPReplayStoreDown(t *testing.T) {
	g := newDPoPRig(t, authz.DPoPAllowed, authz.DPoPConfig{Replay: downCache{}})
	url := g.srv + "/documents"
	tok := g.bound(t)
	req, err := http.NewRequest("GET", url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "DPoP "+tok)
	req.Header.Set("DPoP", g.proof(t, url, tok))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))
	assert.Empty(t, resp.Header.Values("WWW-Authenticate"))
	logs := g.e.logs.String()
	assert.Contains(t, logs, `"level":"WARN"`)
	assert.Contains(t, logs, "connection refused", "the operator sees the cause")
}

// TestDPoPNonceFlow: the server asks for a nonce (401 use_dpop_nonce with
// DPoP-Nonce), the client retries with it and passes, and every answer
// to a DPoP request carries the current nonce.
func TestDPoPNonceFlow(t *testing.T) {
	nonces, err := authz.NewNonceSource([]byte(strings.Repeat("k", 32)), time.Minute)
	require.NoError(t, err)
	g := newDPoPRig(t, authz.DPoPAllowed, authz.DPoPConfig{Nonces: nonces})
	url := g.srv + "/documents"
	tok := g.bound(t)

	req, err := http.NewRequest("GET", url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "DPoP "+tok)
	req.Header.Set("DPoP", g.proof(t, url, tok))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("WWW-Authenticate"), `DPoP realm="api", error="use_dpop_nonce"`)
	nonce := resp.Header.Get("DPoP-Nonce")
	require.NotEmpty(t, nonce)

	req, err = http.NewRequest("GET", url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "DPoP "+tok)
	req.Header.Set("DPoP", g.proof(t, url, tok, authztest.ProofClaim("nonce", nonce)))
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, nonce, resp.Header.Get("DPoP-Nonce"), "the current nonce, on success too")

	bearerResp := getDPoP(t, url, "Bearer "+must(t)(g.e.iss.APIToken(api, authztest.Scopes("read:documents"))))
	assert.Equal(t, http.StatusOK, bearerResp.status, "bearer tokens need no nonce")
}

// TestDPoPTokenAndAnotherCredential: a DPoP token in the header and a
// token in the query or a cookie is two credentials: 400.
func TestDPoPTokenAndAnotherCredential(t *testing.T) {
	g := newDPoPRig(t, authz.DPoPAllowed, authz.DPoPConfig{}, middleware.AllowCookieToken("at"), middleware.AllowQueryToken())
	tok := g.bound(t)
	for name, mod := range map[string]func(*http.Request){
		"query":  func(r *http.Request) { r.URL.RawQuery = "access_token=" + tok },
		"cookie": func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "at", Value: tok}) },
	} {
		url := g.srv + "/documents"
		req, err := http.NewRequest("GET", url, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "DPoP "+tok)
		req.Header.Set("DPoP", g.proof(t, url, tok))
		mod(req)
		got := sendDPoP(t, req)
		assert.Equal(t, http.StatusBadRequest, got.status, name)
		assert.Contains(t, got.challenges[0], `error="invalid_request"`, name)
	}
}
