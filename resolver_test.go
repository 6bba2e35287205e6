package authz_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
)

// tenants is a resolver's data: the issuers it trusts, with their JWKS
// URLs, editable while the validator runs, and the calls it got.
type tenants struct {
	mu      sync.Mutex
	trusted map[string]string // issuer -> JWKS URL ("" for discovery)
	calls   map[string]int
	down    bool
}

func newTenants() *tenants {
	return &tenants{trusted: map[string]string{}, calls: map[string]int{}}
}

func (d *tenants) resolve(_ context.Context, iss string) (authz.IssuerTrust, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls[iss]++
	if d.down {
		return authz.IssuerTrust{}, errTenantStore
	}
	u, ok := d.trusted[iss]
	return authz.IssuerTrust{Trusted: ok, JWKSURL: u}, nil
}

func (d *tenants) set(iss, jwksURL string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.trusted[iss] = jwksURL
}

func (d *tenants) remove(iss string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.trusted, iss)
}

func (d *tenants) callsOf(iss string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.calls[iss]
}

func (d *tenants) totalCalls() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, c := range d.calls {
		n += c
	}
	return n
}

// errTenantStore is the error of a resolver whose store is down.
var errTenantStore = errors.New("tenant store: connection refused")

// countingTransport counts the HTTP requests a validator makes.
type countingTransport struct {
	n  atomic.Int64
	rt http.Transport
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.rt.RoundTrip(r)
}

// resolverFixture is a validator with no static issuer and a resolver over
// d, on a fake clock, counting its HTTP requests.
type resolverFixture struct {
	v     *authz.Validator
	d     *tenants
	clock *clock
	http  *countingTransport
}

func newResolverFixture(t *testing.T, c *clock, cfg authz.ResolverConfig, opts ...authz.Option) *resolverFixture {
	t.Helper()
	f := &resolverFixture{d: newTenants(), clock: c, http: &countingTransport{}}
	v, err := authz.New("", []string{api}, append([]authz.Option{
		authz.WithClock(c.Now), authz.WithIssuerResolver(f.d.resolve, cfg),
		authz.WithHTTPClient(&http.Client{Transport: f.http}),
	}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(v.Close)
	f.v = v
	return f
}

func newTenantIssuer(t *testing.T, c *clock) *authztest.Issuer {
	t.Helper()
	iss, err := authztest.NewIssuer(authztest.WithClock(c.Now))
	require.NoError(t, err)
	t.Cleanup(iss.Close)
	return iss
}

func TestResolverTrustsWhatItSays(t *testing.T) {
	c := newClock()
	f := newResolverFixture(t, c, authz.ResolverConfig{})
	a, b := newTenantIssuer(t, c), newTenantIssuer(t, c)
	f.d.set(a.URL(), "")
	tok := must(t)(a.APIToken(api, authztest.Scopes("read:documents")))
	claims, err := f.v.Validate(context.Background(), tok)
	require.NoError(t, err)
	assert.Equal(t, a.URL(), claims.Issuer)
	assert.True(t, claims.ValidatedBy(f.v))
	assert.Equal(t, 1, f.d.callsOf(a.URL()))

	// b is not a tenant: refused (401), without a fetch from it.
	_, err = f.v.Validate(context.Background(), must(t)(b.APIToken(api)))
	require.ErrorIs(t, err, authz.ErrIssuer)
	assert.Equal(t, 401, authz.OutcomeOf(err).HTTPStatus)
	assert.Zero(t, b.JWKSRequests())

	// Tenant b added at run time: its tokens work once the negative entry
	// expires (a second by default), with no restart.
	f.d.set(b.URL(), "")
	c.Add(authz.DefaultNegativeTTL)
	_, err = f.v.Validate(context.Background(), must(t)(b.APIToken(api)))
	require.NoError(t, err)
}

// TestAttackerTenantIsRefused: an issuer that serves a real JWKS and whose
// token carries our audience is refused when the resolver does not trust
// it, with no request to it at all.
func TestAttackerTenantIsRefused(t *testing.T) {
	c := newClock()
	f := newResolverFixture(t, c, authz.ResolverConfig{})
	attacker := newTenantIssuer(t, c)
	tok := must(t)(attacker.APIToken(api, authztest.Scopes("admin:everything")))
	for range 3 {
		_, err := f.v.Validate(context.Background(), tok)
		require.ErrorIs(t, err, authz.ErrIssuer)
	}
	assert.Zero(t, attacker.JWKSRequests(), "no request to the attacker's issuer")
	assert.Zero(t, f.http.n.Load())
	assert.Equal(t, 1, f.d.callsOf(attacker.URL()), "one resolver call per negative period")
}

// TestInventedIssuersCostNothing: 10,000 tokens with invented "iss" values
// (each sent twice) make no HTTP request and at most one resolver call per
// distinct value; implausible ones none at all.
func TestInventedIssuersCostNothing(t *testing.T) {
	c := newClock()
	f := newResolverFixture(t, c, authz.ResolverConfig{})
	signer := newTenantIssuer(t, c)
	const n = 10_000
	toks := make([]string, n)
	for i := range toks {
		toks[i] = must(t)(signer.APIToken(api, authztest.IssuerClaim(fmt.Sprintf("https://tenant-%d.logto.app/oidc", i))))
	}
	for range 2 {
		for _, tok := range toks {
			_, err := f.v.Validate(context.Background(), tok)
			require.ErrorIs(t, err, authz.ErrIssuer)
		}
	}
	assert.Zero(t, f.http.n.Load(), "no HTTP request")
	assert.Zero(t, signer.JWKSRequests())
	assert.Equal(t, n, f.d.totalCalls(), "one resolver call per distinct issuer")
	assert.Zero(t, authz.ResolvedIssuers(f.v))

	for _, iss := range []string{"ftp://tenant.example/oidc", "https://tenant.example/oidc?x=1", "https://u@tenant.example/oidc",
		"https://tenant.example/oidc/", "http://tenant.example/oidc", "https://" + strings.Repeat("a", 600) + ".example/oidc", "tenant"} {
		_, err := f.v.Validate(context.Background(), must(t)(signer.APIToken(api, authztest.IssuerClaim(iss))))
		require.ErrorIs(t, err, authz.ErrIssuer, iss)
	}
	assert.Equal(t, n, f.d.totalCalls(), "implausible issuers never reach the resolver")
}

// TestResolverErrorIs503: a resolver that cannot answer makes the token
// unjudgeable (503), not invalid, and is not remembered.
func TestResolverErrorIs503(t *testing.T) {
	c := newClock()
	f := newResolverFixture(t, c, authz.ResolverConfig{})
	a := newTenantIssuer(t, c)
	f.d.set(a.URL(), "")
	f.d.down = true
	tok := must(t)(a.APIToken(api))
	_, err := f.v.Validate(context.Background(), tok)
	require.ErrorIs(t, err, authz.ErrKeysUnavailable)
	assert.Equal(t, 503, authz.OutcomeOf(err).HTTPStatus)
	assert.ErrorIs(t, err, errTenantStore, "the cause is kept, for the logs")
	f.d.mu.Lock()
	f.d.down = false
	f.d.mu.Unlock()
	_, err = f.v.Validate(context.Background(), tok)
	assert.NoError(t, err, "the store is back: no negative entry was kept")
}

// TestReconfirmation: a resolved issuer is asked about again after
// Reconfirm; once the resolver stops trusting it, its tokens fail at once,
// cached ones too, and its key set stops.
func TestReconfirmation(t *testing.T) {
	c := newClock()
	f := newResolverFixture(t, c, authz.ResolverConfig{Reconfirm: time.Minute})
	a := newTenantIssuer(t, c)
	f.d.set(a.URL(), "")
	tok := must(t)(a.APIToken(api))
	_, err := f.v.Validate(context.Background(), tok)
	require.NoError(t, err)
	_, err = f.v.Validate(context.Background(), tok) // a cache hit
	require.NoError(t, err)
	assert.Equal(t, 1, f.d.callsOf(a.URL()), "within Reconfirm: no call")

	c.Add(time.Minute)
	_, err = f.v.Validate(context.Background(), tok)
	require.NoError(t, err, "still trusted")
	assert.Equal(t, 2, f.d.callsOf(a.URL()), "re-confirmed once the period ended")

	f.d.remove(a.URL())
	c.Add(30 * time.Second)
	_, err = f.v.Validate(context.Background(), tok)
	require.NoError(t, err, "within the period, the removal is not known yet")
	c.Add(30 * time.Second)
	_, err = f.v.Validate(context.Background(), tok)
	require.ErrorIs(t, err, authz.ErrIssuer, "a removed tenant's cached token stops at the next re-confirmation")
	assert.Zero(t, authz.ResolvedIssuers(f.v), "its key set is dropped")
	_, err = f.v.Validate(context.Background(), must(t)(a.APIToken(api)))
	require.ErrorIs(t, err, authz.ErrIssuer)
}

// TestStaticIssuersFirst: a configured issuer never reaches the resolver.
func TestStaticIssuersFirst(t *testing.T) {
	c := newClock()
	static := newTenantIssuer(t, c)
	d := newTenants()
	v, err := authz.New(static.URL(), []string{api}, authz.WithClock(c.Now), authz.WithIssuerResolver(d.resolve, authz.ResolverConfig{}))
	require.NoError(t, err)
	defer v.Close()
	_, err = v.Validate(context.Background(), must(t)(static.APIToken(api)))
	require.NoError(t, err)
	assert.Zero(t, d.totalCalls())
}

// TestResolvedIssuersAreBounded: 1,000 resolved issuers, with at most 10
// key sets at once (least recently used out); the evicted sets'
// goroutines end; an evicted issuer's token is resolved again and works.
func TestResolvedIssuersAreBounded(t *testing.T) {
	c := newClock()
	signer := newTenantIssuer(t, c)
	before := runtime.NumGoroutine()
	f := newResolverFixture(t, c, authz.ResolverConfig{MaxIssuers: 10})
	const n = 1000
	issuers := make([]string, n)
	for i := range issuers {
		// Every tenant's keys are the signer's: one real JWKS for 1,000
		// issuers.
		issuers[i] = fmt.Sprintf("%s/tenant-%d", signer.URL(), i)
		f.d.set(issuers[i], signer.JWKSURL())
	}
	for i, iss := range issuers {
		_, err := f.v.Validate(context.Background(), must(t)(signer.APIToken(api, authztest.IssuerClaim(iss))))
		require.NoError(t, err, iss)
		require.LessOrEqual(t, authz.ResolvedIssuers(f.v), 10, "after %d issuers", i+1)
	}
	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= before+10*3+5 }, 10*time.Second, 10*time.Millisecond,
		"the goroutines of evicted sets end: %d running, %d before", runtime.NumGoroutine(), before)

	_, err := f.v.Validate(context.Background(), must(t)(signer.APIToken(api, authztest.IssuerClaim(issuers[0]))))
	require.NoError(t, err, "an evicted issuer is resolved again")
	assert.Equal(t, 2, f.d.callsOf(issuers[0]))

	f.v.Close()
	f.http.rt.CloseIdleConnections() // keep-alive connections have goroutines of their own
	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= before+5 }, 10*time.Second, 10*time.Millisecond,
		"Close stops every set: %d running, %d before", runtime.NumGoroutine(), before)
}

// TestIdleIssuersAreDropped: an issuer no token named for IdleTimeout
// loses its key set when another one is resolved.
func TestIdleIssuersAreDropped(t *testing.T) {
	c := newClock()
	f := newResolverFixture(t, c, authz.ResolverConfig{IdleTimeout: time.Hour, Reconfirm: 2 * time.Hour})
	a, b := newTenantIssuer(t, c), newTenantIssuer(t, c)
	f.d.set(a.URL(), "")
	f.d.set(b.URL(), "")
	_, err := f.v.Validate(context.Background(), must(t)(a.APIToken(api)))
	require.NoError(t, err)
	c.Add(time.Hour)
	_, err = f.v.Validate(context.Background(), must(t)(b.APIToken(api)))
	require.NoError(t, err)
	assert.Equal(t, 1, authz.ResolvedIssuers(f.v), "a was idle for an hour")
}

// TestOneResolutionPerIssuer: concurrent first tokens of a new issuer make
// one resolver call and one key set (one JWKS fetch).
func TestOneResolutionPerIssuer(t *testing.T) {
	c := newClock()
	f := newResolverFixture(t, c, authz.ResolverConfig{})
	a := newTenantIssuer(t, c)
	f.d.set(a.URL(), "")
	var wg sync.WaitGroup
	for range 32 {
		tok := must(t)(a.APIToken(api))
		wg.Go(func() {
			if _, err := f.v.Validate(context.Background(), tok); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 1, f.d.callsOf(a.URL()))
	assert.Equal(t, 1, authz.ResolvedIssuers(f.v))
	assert.Equal(t, 1, a.JWKSRequests())
}

func TestResolverConfigErrors(t *testing.T) {
	_, err := authz.New("", []string{api})
	assert.Error(t, err, "no issuer and no resolver")
	_, err = authz.New("", []string{api}, authz.WithIssuerResolver(nil, authz.ResolverConfig{}))
	assert.Error(t, err)
	d := newTenants()
	_, err = authz.New("", []string{api}, authz.WithIssuerResolver(d.resolve, authz.ResolverConfig{MaxIssuers: -1}))
	assert.Error(t, err)
}

// BenchmarkResolvedHit: a verified-token cache hit for a token of a
// resolved issuer against one of a configured issuer, on one validator.
// What the resolver adds to a hit is a check that the issuer's trust was
// confirmed within Reconfirm.
//
//	go test -run '^$' -bench BenchmarkResolvedHit -benchmem -count 6 .
func BenchmarkResolvedHit(b *testing.B) {
	static, err := authztest.NewIssuer()
	if err != nil {
		b.Fatal(err)
	}
	defer static.Close()
	tenant, err := authztest.NewIssuer()
	if err != nil {
		b.Fatal(err)
	}
	defer tenant.Close()
	d := newTenants()
	d.set(tenant.URL(), "")
	v, err := authz.New(static.URL(), []string{api}, authz.WithIssuerResolver(d.resolve, authz.ResolverConfig{}))
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	for _, c := range []struct {
		name string
		iss  *authztest.Issuer
	}{{"issuer=static", static}, {"issuer=resolved", tenant}} {
		tok, err := c.iss.APIToken(api, authztest.Scopes("read:documents"))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := v.Validate(context.Background(), tok); err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Validate(context.Background(), tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestIssuerAudiences: a resolved issuer's own API audiences replace the
// validator's for its tokens; new terms at re-confirmation void the tokens
// accepted on the old ones; organization audiences are refused there.
func TestIssuerAudiences(t *testing.T) {
	c := newClock()
	d := newTenants()
	terms := map[string][]string{}
	resolve := func(ctx context.Context, iss string) (authz.IssuerTrust, error) {
		trust, err := d.resolve(ctx, iss)
		d.mu.Lock()
		trust.Audiences = terms[iss]
		d.mu.Unlock()
		return trust, err
	}
	v, err := authz.New("", []string{api}, authz.WithClock(c.Now), authz.WithIssuerResolver(resolve, authz.ResolverConfig{Reconfirm: time.Minute}))
	require.NoError(t, err)
	defer v.Close()
	a, b := newTenantIssuer(t, c), newTenantIssuer(t, c)
	d.set(a.URL(), "")
	d.set(b.URL(), "")
	terms[a.URL()] = []string{"https://acme.api.example.com"}
	terms[b.URL()] = []string{"urn:logto:organization:o1"}

	own := must(t)(a.APIToken("https://acme.api.example.com"))
	claims, err := v.Validate(context.Background(), own)
	require.NoError(t, err, "the issuer's own audience")
	assert.Equal(t, []string{"https://acme.api.example.com"}, claims.Audience)
	_, err = v.Validate(context.Background(), must(t)(a.APIToken(api)))
	require.ErrorIs(t, err, authz.ErrAudience, "the validator's audience is not this issuer's")

	_, err = v.Validate(context.Background(), must(t)(b.APIToken(api)))
	require.ErrorIs(t, err, authz.ErrKeysUnavailable, "an organization audience is the resolver's mistake: 503")

	d.mu.Lock()
	terms[a.URL()] = []string{"https://acme-v2.api.example.com"}
	d.mu.Unlock()
	c.Add(time.Minute)
	_, err = v.Validate(context.Background(), own)
	require.ErrorIs(t, err, authz.ErrAudience, "re-confirmed on new terms: the old audience no longer passes, cached or not")
	_, err = v.Validate(context.Background(), must(t)(a.APIToken("https://acme-v2.api.example.com")))
	require.NoError(t, err)
}

// TestCacheHitsKeepATenantInUse: a tenant whose token is served from the
// verified-token cache is not idle: each re-confirmation refreshes its
// recency, and it outlives IdleTimeout while in use.
func TestCacheHitsKeepATenantInUse(t *testing.T) {
	c := newClock()
	f := newResolverFixture(t, c, authz.ResolverConfig{IdleTimeout: 90 * time.Second, Reconfirm: time.Minute})
	a, b := newTenantIssuer(t, c), newTenantIssuer(t, c)
	f.d.set(a.URL(), "")
	f.d.set(b.URL(), "")
	tok := must(t)(a.APIToken(api))
	_, err := f.v.Validate(context.Background(), tok)
	require.NoError(t, err)
	for range 3 { // 3 minutes of cache hits, each minute re-confirmed
		c.Add(time.Minute)
		_, err = f.v.Validate(context.Background(), tok)
		require.NoError(t, err)
	}
	_, err = f.v.Validate(context.Background(), must(t)(b.APIToken(api))) // a creation evicts the idle
	require.NoError(t, err)
	assert.Equal(t, 2, authz.ResolvedIssuers(f.v), "a, in use through the cache, is not idle")
}
