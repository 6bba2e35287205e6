package authz_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
)

const resourceURL = "https://api.example.com/documents"

// dpopFixture is a validator with DPoP on, its issuer, and a client's key.
type dpopFixture struct {
	*fixture
	key *authztest.DPoPKey
}

func newDPoPFixture(t *testing.T, c authz.DPoPConfig, opts ...authz.Option) *dpopFixture {
	t.Helper()
	f := newFixture(t, []string{api}, nil, append([]authz.Option{authz.WithDPoP(c)}, opts...)...)
	key, err := authztest.NewDPoPKey("ES256", f.clock.Now)
	require.NoError(t, err)
	return &dpopFixture{fixture: f, key: key}
}

// request is a DPoP request for token with a proof by f.key, changed by opts.
func (f *dpopFixture) request(t *testing.T, token string, opts ...authztest.ProofOption) authz.DPoPRequest {
	t.Helper()
	p, err := f.key.Proof("GET", resourceURL, token, opts...)
	require.NoError(t, err)
	return authz.DPoPRequest{Proof: p, Method: "GET", URL: resourceURL}
}

func TestDPoPAcceptsABoundTokenWithItsProof(t *testing.T) {
	f := newDPoPFixture(t, authz.DPoPConfig{})
	tok := must(t)(f.iss.APIToken(api, authztest.BoundTo(f.key), authztest.Scopes("read:documents")))
	c, err := f.v.ValidateDPoP(context.Background(), tok, f.request(t, tok))
	require.NoError(t, err)
	assert.Equal(t, f.key.Thumbprint(), c.KeyThumbprint)
	assert.Equal(t, []string{"read:documents"}, c.Scopes)

	// Each request its own proof: the cached token validates again.
	c, err = f.v.ValidateDPoP(context.Background(), tok, f.request(t, tok))
	require.NoError(t, err)
	assert.Equal(t, f.key.Thumbprint(), c.KeyThumbprint)
}

// TestBoundTokensAreNotBearerTokens: a token with "cnf" is refused by
// Validate (the Bearer scheme), whether DPoP-bound or bound to a client
// certificate, from a fresh verification and from the cache alike, unless
// InsecureAcceptBoundTokensAsBearer.
func TestBoundTokensAreNotBearerTokens(t *testing.T) {
	f := newDPoPFixture(t, authz.DPoPConfig{})
	dpop := must(t)(f.iss.APIToken(api, authztest.BoundTo(f.key)))
	mtls := must(t)(f.iss.APIToken(api, authztest.Claim("cnf", map[string]any{"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"})))
	for name, tok := range map[string]string{"DPoP-bound": dpop, "certificate-bound": mtls} {
		for range 2 { // the second time, from the cache
			_, err := f.v.Validate(context.Background(), tok)
			require.ErrorIs(t, err, authz.ErrSenderConstrained, name)
			assert.Equal(t, 401, authz.OutcomeOf(err).HTTPStatus)
			assert.Equal(t, "invalid_token", authz.OutcomeOf(err).ErrorCode)
		}
	}
	_, err := f.v.ValidateDPoP(context.Background(), dpop, f.request(t, dpop))
	require.NoError(t, err, "the DPoP-bound token with its proof")
	_, err = f.v.ValidateDPoP(context.Background(), mtls, f.request(t, mtls))
	require.ErrorIs(t, err, authz.ErrDPoPProof, "a certificate-bound token has no DPoP key")

	lax := newFixture(t, []string{api}, nil, authz.InsecureAcceptBoundTokensAsBearer())
	tok := must(t)(lax.iss.APIToken(api, authztest.Claim("cnf", map[string]any{"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"})))
	_, err = lax.v.Validate(context.Background(), tok)
	assert.NoError(t, err)
}

func TestMalformedConfirmation(t *testing.T) {
	f := newDPoPFixture(t, authz.DPoPConfig{})
	for name, cnf := range map[string]any{
		"not an object":        "jkt",
		"jkt not a string":     map[string]any{"jkt": 7},
		"jkt not a thumbprint": map[string]any{"jkt": "abc"},
		"jkt with padding":     map[string]any{"jkt": strings.Repeat("A", 42) + "="},
	} {
		tok := must(t)(f.iss.APIToken(api, authztest.Claim("cnf", cnf)))
		_, err := f.v.Validate(context.Background(), tok)
		assert.ErrorIs(t, err, authz.ErrMalformed, name)
	}
}

// TestDPoPProofDefects: each defect of RFC 9449 section 4.3 is refused with
// ErrDPoPProof (401 invalid_dpop_proof), and nothing of the token leaks.
func TestDPoPProofDefects(t *testing.T) {
	f := newDPoPFixture(t, authz.DPoPConfig{})
	tok := must(t)(f.iss.APIToken(api, authztest.BoundTo(f.key)))
	other, err := authztest.NewDPoPKey("ES256", f.clock.Now)
	require.NoError(t, err)
	otherTok := must(t)(f.iss.APIToken(api, authztest.BoundTo(other)))
	now := f.clock.Now()
	proofBy := func(k *authztest.DPoPKey, method, url string, opts ...authztest.ProofOption) string {
		p, err := k.Proof(method, url, tok, opts...)
		require.NoError(t, err)
		return p
	}
	tests := []struct {
		name  string
		req   authz.DPoPRequest
		token string
		want  string // in the reason
	}{
		{name: "no proof", req: authz.DPoPRequest{Method: "GET", URL: resourceURL}, want: "no DPoP proof"},
		{name: "not a JWT", req: authz.DPoPRequest{Proof: "abc.def", Method: "GET", URL: resourceURL}, want: "not a JWT"},
		{name: "typ JWT", req: f.request(t, tok, authztest.ProofHeader("typ", "JWT")), want: `"typ"`},
		{name: "no typ", req: f.request(t, tok, authztest.ProofHeader("typ", nil)), want: `"typ"`},
		{name: "alg none", req: f.request(t, tok, authztest.ProofAlgorithm("none")), want: `"alg"`},
		{name: "alg HS256", req: f.request(t, tok, authztest.ProofAlgorithm("HS256")), want: `"alg"`},
		{name: "no jwk", req: f.request(t, tok, authztest.ProofHeader("jwk", nil)), want: `no "jwk"`},
		{name: "private key in jwk", req: f.request(t, tok, authztest.ProofWithPrivateKey()), want: "private key"},
		{name: "jwk not for alg", req: f.request(t, tok, authztest.ProofHeader("jwk", map[string]any{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})), want: "not a key for ES256"},
		{name: "crit", req: f.request(t, tok, authztest.ProofHeader("crit", []string{"exp"})), want: "crit"},
		{name: "signed by another key", req: f.request(t, tok, authztest.ProofSignedBy(other)), want: "signature"},
		{name: "wrong htm", req: authz.DPoPRequest{Proof: proofBy(f.key, "POST", resourceURL), Method: "GET", URL: resourceURL}, want: `"htm"`},
		{name: "htm in lower case", req: authz.DPoPRequest{Proof: proofBy(f.key, "get", resourceURL), Method: "GET", URL: resourceURL}, want: `"htm"`},
		{name: "wrong htu path", req: authz.DPoPRequest{Proof: proofBy(f.key, "GET", "https://api.example.com/other"), Method: "GET", URL: resourceURL}, want: `"htu"`},
		{name: "wrong htu host", req: authz.DPoPRequest{Proof: proofBy(f.key, "GET", "https://evil.example.com/documents"), Method: "GET", URL: resourceURL}, want: `"htu"`},
		{name: "wrong htu scheme", req: authz.DPoPRequest{Proof: proofBy(f.key, "GET", "http://api.example.com/documents"), Method: "GET", URL: resourceURL}, want: `"htu"`},
		{name: "stale iat", req: f.request(t, tok, authztest.ProofIssuedAt(now.Add(-authz.DefaultDPoPWindow-authz.DefaultLeeway-time.Second))), want: "old"},
		{name: "iat in the future", req: f.request(t, tok, authztest.ProofIssuedAt(now.Add(authz.DefaultLeeway+time.Minute))), want: "future"},
		{name: "no iat", req: f.request(t, tok, authztest.WithoutProofClaim("iat")), want: `no "iat"`},
		{name: "no jti", req: f.request(t, tok, authztest.WithoutProofClaim("jti")), want: `no "jti"`},
		{name: "no htm", req: f.request(t, tok, authztest.WithoutProofClaim("htm")), want: `no "htm"`},
		{name: "no htu", req: f.request(t, tok, authztest.WithoutProofClaim("htu")), want: `no "htu"`},
		{name: "no ath", req: f.request(t, tok, authztest.WithoutProofClaim("ath")), want: `no "ath"`},
		{name: "ath of another token", req: f.request(t, tok, authztest.ProofClaim("ath", strings.Repeat("A", 43))), want: `"ath"`},
		{name: "jti not a string", req: f.request(t, tok, authztest.ProofClaim("jti", 12)), want: `"jti" is not a string`},
		{name: "jti too long", req: f.request(t, tok, authztest.ProofClaim("jti", strings.Repeat("j", 300))), want: `"jti" is over`},
		{name: "proof by a key the token is not bound to", token: otherTok, req: func() authz.DPoPRequest {
			p, err := f.key.Proof("GET", resourceURL, otherTok)
			require.NoError(t, err)
			return authz.DPoPRequest{Proof: p, Method: "GET", URL: resourceURL}
		}(), want: "cnf.jkt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := tok
			if tt.token != "" {
				token = tt.token
			}
			_, err := f.v.ValidateDPoP(context.Background(), token, tt.req)
			require.ErrorIs(t, err, authz.ErrDPoPProof)
			o := authz.OutcomeOf(err)
			assert.Equal(t, 401, o.HTTPStatus)
			assert.Equal(t, "invalid_dpop_proof", o.ErrorCode)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), strings.Split(token, ".")[2], "never the token")
		})
	}
}

func TestDPoPReplayIsRefused(t *testing.T) {
	f := newDPoPFixture(t, authz.DPoPConfig{})
	tok := must(t)(f.iss.APIToken(api, authztest.BoundTo(f.key)))
	req := f.request(t, tok)
	_, err := f.v.ValidateDPoP(context.Background(), tok, req)
	require.NoError(t, err)
	_, err = f.v.ValidateDPoP(context.Background(), tok, req)
	require.ErrorIs(t, err, authz.ErrDPoPProof)
	assert.Contains(t, err.Error(), "replayed")

	// The same jti from another key is another proof.
	other, err := authztest.NewDPoPKey("ES256", f.clock.Now)
	require.NoError(t, err)
	otherTok := must(t)(f.iss.APIToken(api, authztest.BoundTo(other)))
	p, err := other.Proof("GET", resourceURL, otherTok, authztest.ProofClaim("jti", "shared-jti"))
	require.NoError(t, err)
	_, err = f.v.ValidateDPoP(context.Background(), otherTok, authz.DPoPRequest{Proof: p, Method: "GET", URL: resourceURL})
	require.NoError(t, err)
	_, err = f.v.ValidateDPoP(context.Background(), tok, f.request(t, tok, authztest.ProofClaim("jti", "shared-jti")))
	require.NoError(t, err, "a jti is scoped to its key")
}

// TestDPoPForgedProofUsesUpNoJTI: a proof that fails a check is not
// remembered, so a forger cannot block the real proof with its jti.
func TestDPoPForgedProofUsesUpNoJTI(t *testing.T) {
	f := newDPoPFixture(t, authz.DPoPConfig{})
	tok := must(t)(f.iss.APIToken(api, authztest.BoundTo(f.key)))
	other, err := authztest.NewDPoPKey("ES256", f.clock.Now)
	require.NoError(t, err)
	_, err = f.v.ValidateDPoP(context.Background(), tok, f.request(t, tok, authztest.ProofClaim("jti", "j-1"), authztest.ProofSignedBy(other)))
	require.ErrorIs(t, err, authz.ErrDPoPProof)
	_, err = f.v.ValidateDPoP(context.Background(), tok, f.request(t, tok, authztest.ProofClaim("jti", "j-1")))
	assert.NoError(t, err)
}

// TestDPoPHTUNormalization: "htu" and the request URL are compared as URIs.
func TestDPoPHTUNormalization(t *testing.T) {
	f := newDPoPFixture(t, authz.DPoPConfig{})
	tok := must(t)(f.iss.APIToken(api, authztest.BoundTo(f.key)))
	for _, tt := range []struct {
		htu, url string
		same     bool
	}{
		{"https://api.example.com/documents", "https://api.example.com/documents?page=2", true},
		{"https://api.example.com/documents#top", "https://api.example.com/documents", true},
		{"HTTPS://API.Example.COM/documents", "https://api.example.com/documents", true},
		{"https://api.example.com:443/documents", "https://api.example.com/documents", true},
		{"http://api.example.com:80/documents", "http://api.example.com/documents", true},
		{"https://api.example.com", "https://api.example.com/", true},
		{"https://api.example.com/a/./b/../documents", "https://api.example.com/a/documents", true},
		{"https://api.example.com/%7Euser/%2f", "https://api.example.com/~user/%2F", true},
		{"https://[::1]:8443/x", "https://[::1]:8443/x", true},
		{"https://api.example.com/Documents", "https://api.example.com/documents", false},
		{"https://api.example.com:8443/documents", "https://api.example.com/documents", false},
		{"https://api.example.com/documents/", "https://api.example.com/documents", false},
		{"https://user@api.example.com/documents", "https://api.example.com/documents", false},
		{"/documents", "https://api.example.com/documents", false},
		{"ftp://api.example.com/documents", "ftp://api.example.com/documents", false},
		{"https://api.example.com/%2Fdocuments", "https://api.example.com//documents", false},
	} {
		p, err := f.key.Proof("GET", tt.htu, tok)
		require.NoError(t, err)
		_, err = f.v.ValidateDPoP(context.Background(), tok, authz.DPoPRequest{Proof: p, Method: "GET", URL: tt.url})
		if tt.same {
			assert.NoError(t, err, "%s ~ %s", tt.htu, tt.url)
		} else {
			assert.ErrorIs(t, err, authz.ErrDPoPProof, "%s ≁ %s", tt.htu, tt.url)
		}
	}
}

func TestDPoPAlgorithms(t *testing.T) {
	for _, alg := range []string{"ES256", "ES384", "RS256", "PS256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			f := newDPoPFixture(t, authz.DPoPConfig{})
			key, err := authztest.NewDPoPKey(alg, f.clock.Now)
			require.NoError(t, err)
			tok := must(t)(f.iss.APIToken(api, authztest.BoundTo(key)))
			p, err := key.Proof("GET", resourceURL, tok)
			require.NoError(t, err)
			_, err = f.v.ValidateDPoP(context.Background(), tok, authz.DPoPRequest{Proof: p, Method: "GET", URL: resourceURL})
			assert.NoError(t, err)
		})
	}
	f := newDPoPFixture(t, authz.DPoPConfig{Algorithms: []string{"ES256"}})
	assert.Equal(t, []string{"ES256"}, f.v.DPoPAlgorithms())
	key, err := authztest.NewDPoPKey("EdDSA", f.clock.Now)
	require.NoError(t, err)
	tok := must(t)(f.iss.APIToken(api, authztest.BoundTo(key)))
	p, err := key.Proof("GET", resourceURL, tok)
	require.NoError(t, err)
	_, err = f.v.ValidateDPoP(context.Background(), tok, authz.DPoPRequest{Proof: p, Method: "GET", URL: resourceURL})
	assert.ErrorIs(t, err, authz.ErrDPoPProof, "an algorithm outside the list")
}

func TestDPoPConfig(t *testing.T) {
	iss, err := authztest.NewIssuer()
	require.NoError(t, err)
	defer iss.Close()
	for name, c := range map[string]authz.DPoPConfig{
		"HMAC":        {Algorithms: []string{"HS256"}},
		"none":        {Algorithms: []string{"none"}},
		"negative":    {Window: -time.Second},
		"over a hour": {Window: 2 * time.Hour},
	} {
		_, err := authz.New(iss.URL(), []string{api}, authz.WithDPoP(c))
		assert.Error(t, err, name)
	}
	v, err := authz.New(iss.URL(), []string{api})
	require.NoError(t, err)
	defer v.Close()
	assert.Nil(t, v.DPoPAlgorithms())
	_, err = v.ValidateDPoP(context.Background(), "a.b.c", authz.DPoPRequest{})
	assert.ErrorIs(t, err, authz.ErrInvalidRequest, "no DPoP without WithDPoP")
}

// errStoreDown is the error of failingCache.
var errStoreDown = errors.New("dial tcp 127.0.0.1:6379: connection refused")

// failingCache is a ReplayCache that cannot answer.
type failingCache struct{}

func (failingCache) Remember(context.Context, string, time.Time, time.Time) (bool, error) {
	return false, errStoreDown
}

// TestDPoPReplayCacheDownFailsClosed: a cache that cannot answer refuses
// the request with ErrReplayUnavailable (503), saying why.
func TestDPoPReplayCacheDownFailsClosed(t *testing.T) {
	f := newDPoPFixture(t, authz.DPoPConfig{Replay: failingCache{}})
	tok := must(t)(f.iss.APIToken(api, authztest.BoundTo(f.key)))
	_, err := f.v.ValidateDPoP(context.Background(), tok, f.request(t, tok))
	require.ErrorIs(t, err, authz.ErrReplayUnavailable)
	assert.Equal(t, 503, authz.OutcomeOf(err).HTTPStatus)
	assert.ErrorIs(t, err, errStoreDown, "the cause is kept, for the logs")
	assert.NotContains(t, err.Error(), "6379", "but not shown to the client")
}

// TestMemoryReplayCache: a proof is a replay until it expires; a full cache
// refuses new proofs (fails closed) until old ones expire.
func TestMemoryReplayCache(t *testing.T) {
	ctx := context.Background()
	c := authz.NewMemoryReplayCache(2)
	t0 := time.Unix(1_700_000_000, 0)
	remember := func(key string, now time.Time) (bool, error) { return c.Remember(ctx, key, now, now.Add(time.Minute)) }
	for _, step := range []struct {
		key      string
		at       time.Duration
		replayed bool
		full     bool
	}{
		{key: "a", at: 0},
		{key: "a", at: time.Second, replayed: true},
		{key: "b", at: 2 * time.Second},
		{key: "c", at: 3 * time.Second, full: true},
		{key: "a", at: 59 * time.Second, replayed: true},
		{key: "c", at: 61 * time.Second},                     // a expired: room for c
		{key: "a", at: 61500 * time.Millisecond, full: true}, // b and c live
		{key: "a", at: 63 * time.Second},                     // b expired
	} {
		replayed, err := remember(step.key, t0.Add(step.at))
		if step.full {
			assert.ErrorIs(t, err, authz.ErrReplayCacheFull, "%s at %v", step.key, step.at)
			continue
		}
		require.NoError(t, err, "%s at %v", step.key, step.at)
		assert.Equal(t, step.replayed, replayed, "%s at %v", step.key, step.at)
	}
}

// TestMemoryReplayCacheConcurrent is for -race: of many concurrent uses of
// one proof, exactly one is not a replay.
func TestMemoryReplayCacheConcurrent(t *testing.T) {
	c := authz.NewMemoryReplayCache(1 << 12)
	now := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	fresh := map[string]int{}
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				key := fmt.Sprint(i)
				replayed, err := c.Remember(context.Background(), key, now, now.Add(time.Minute))
				if err != nil {
					t.Error(err)
					return
				}
				if !replayed {
					mu.Lock()
					fresh[key]++
					mu.Unlock()
				}
				_ = g
			}
		})
	}
	wg.Wait()
	assert.Len(t, fresh, 200)
	for k, n := range fresh {
		assert.Equal(t, 1, n, k)
	}
}

// TestDPoPNonces: with server nonces, a proof without one, or with one
// older than a rotation, is refused with ErrDPoPNonce (401
// use_dpop_nonce); the current and the previous nonce pass; replicas that
// share the secret accept each other's nonces.
func TestDPoPNonces(t *testing.T) {
	secret := []byte(strings.Repeat("s", 32))
	nonces, err := authz.NewNonceSource(secret, time.Minute)
	require.NoError(t, err)
	f := newDPoPFixture(t, authz.DPoPConfig{Nonces: nonces})
	tok := must(t)(f.iss.APIToken(api, authztest.BoundTo(f.key)))

	_, err = f.v.ValidateDPoP(context.Background(), tok, f.request(t, tok))
	require.ErrorIs(t, err, authz.ErrDPoPNonce)
	assert.Equal(t, "use_dpop_nonce", authz.OutcomeOf(err).ErrorCode)
	assert.Equal(t, 401, authz.OutcomeOf(err).HTTPStatus)

	nonce := f.v.DPoPNonce()
	require.NotEmpty(t, nonce)
	_, err = f.v.ValidateDPoP(context.Background(), tok, f.request(t, tok, authztest.ProofClaim("nonce", nonce)))
	require.NoError(t, err)

	f.clock.Add(time.Minute) // one rotation: the old nonce is still good
	assert.NotEqual(t, nonce, f.v.DPoPNonce(), "the nonce rotates")
	_, err = f.v.ValidateDPoP(context.Background(), tok, f.request(t, tok, authztest.ProofClaim("nonce", nonce)))
	require.NoError(t, err)
	f.clock.Add(time.Minute) // two: it is not
	_, err = f.v.ValidateDPoP(context.Background(), tok, f.request(t, tok, authztest.ProofClaim("nonce", nonce)))
	require.ErrorIs(t, err, authz.ErrDPoPNonce)
	_, err = f.v.ValidateDPoP(context.Background(), tok, f.request(t, tok, authztest.ProofClaim("nonce", "made-up")))
	require.ErrorIs(t, err, authz.ErrDPoPNonce)

	same, err := authz.NewNonceSource(secret, time.Minute)
	require.NoError(t, err)
	other, err := authz.NewNonceSource([]byte(strings.Repeat("o", 32)), time.Minute)
	require.NoError(t, err)
	now := f.clock.Now()
	assert.True(t, same.Valid(nonces.Nonce(now), now), "replicas with one secret share nonces")
	assert.False(t, other.Valid(nonces.Nonce(now), now))

	_, err = authz.NewNonceSource([]byte("short"), time.Minute)
	assert.Error(t, err)
	_, err = authz.NewNonceSource(secret, time.Millisecond)
	assert.Error(t, err)

	plain := newDPoPFixture(t, authz.DPoPConfig{})
	assert.Empty(t, plain.v.DPoPNonce(), "no nonces unless configured")
}
