package authz

// Tests of the verified-token cache. They count full verifications, which
// is how a hit is told from a miss, through the Observer: a validation
// that is neither a cache hit nor shared with another caller verified.

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz/authztest"
)

const cacheAPI = "https://api.example.com"

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func cacheFixture(t *testing.T, opts ...Option) (*authztest.Issuer, *Validator, *testClock) {
	t.Helper()
	clock := &testClock{now: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
	iss, err := authztest.NewIssuer(authztest.WithClock(clock.Now))
	require.NoError(t, err)
	t.Cleanup(iss.Close)
	v := countedValidator(t, iss.URL(), append([]Option{WithClock(clock.Now)}, opts...)...)
	return iss, v, clock
}

// counts holds the number of verifications of each counted validator.
var counts sync.Map // *Validator -> *atomic.Uint64

// countedValidator is New(issuer, cacheAPI, opts...) whose verifications
// verifications(v) counts.
func countedValidator(t *testing.T, issuer string, opts ...Option) *Validator {
	t.Helper()
	n := new(atomic.Uint64)
	v, err := New(issuer, []string{cacheAPI}, append(opts, WithObserver(Observer{Decision: func(_ context.Context, d Decision) {
		if d.Stage == StageValidate && !d.CacheHit && !d.Shared {
			n.Add(1)
		}
	}}))...)
	require.NoError(t, err)
	t.Cleanup(v.Close)
	counts.Store(v, n)
	return v
}

// verifications is the number of validations v answered by a verification
// of their own.
func verifications(v *Validator) uint64 {
	n, _ := counts.Load(v)
	return n.(*atomic.Uint64).Load()
}

func mint(t *testing.T) func(string, error) string {
	return func(tok string, err error) string {
		t.Helper()
		require.NoError(t, err)
		return tok
	}
}

func TestCacheHitSkipsVerification(t *testing.T) {
	iss, v, _ := cacheFixture(t)
	tok := mint(t)(iss.APIToken(cacheAPI, authztest.Scopes("read")))
	ctx := context.Background()

	first, err := v.Validate(ctx, tok)
	require.NoError(t, err)
	for range 10 {
		c, err := v.Validate(ctx, tok)
		require.NoError(t, err)
		assert.Equal(t, first.Scopes, c.Scopes)
		assert.Equal(t, tok, string(c.Token()), "a hit still carries the raw token")
	}
	assert.Equal(t, uint64(1), verifications(v))

	other := mint(t)(iss.APIToken(cacheAPI, authztest.Scopes("read")))
	_, err = v.Validate(ctx, other)
	require.NoError(t, err)
	assert.Equal(t, uint64(2), verifications(v), "a different token is a miss")
}

func TestCacheHitRechecksTime(t *testing.T) {
	iss, v, clock := cacheFixture(t)
	tok := mint(t)(iss.APIToken(cacheAPI, authztest.ExpiresAt(clock.Now().Add(5*time.Minute))))
	_, err := v.Validate(context.Background(), tok)
	require.NoError(t, err)

	clock.Add(5*time.Minute + DefaultLeeway)
	_, err = v.Validate(context.Background(), tok)
	assert.ErrorIs(t, err, ErrExpired)
}

func TestCacheEntryLivesNoLongerThanTTL(t *testing.T) {
	iss, v, clock := cacheFixture(t, WithCache(100, time.Minute))
	tok := mint(t)(iss.APIToken(cacheAPI))
	ctx := context.Background()
	_, err := v.Validate(ctx, tok)
	require.NoError(t, err)
	clock.Add(59 * time.Second)
	_, err = v.Validate(ctx, tok)
	require.NoError(t, err)
	assert.Equal(t, uint64(1), verifications(v))

	clock.Add(time.Second)
	_, err = v.Validate(ctx, tok)
	require.NoError(t, err)
	assert.Equal(t, uint64(2), verifications(v), "past the TTL the token is verified again")
}

func TestCacheDropsTokensOfARemovedKey(t *testing.T) {
	iss, v, clock := cacheFixture(t)
	ctx := context.Background()
	oldTok := mint(t)(iss.APIToken(cacheAPI))
	_, err := v.Validate(ctx, oldTok)
	require.NoError(t, err)

	iss.RotateKeys()
	clock.Add(DefaultRefreshCooldown)
	newTok := mint(t)(iss.APIToken(cacheAPI))
	_, err = v.Validate(ctx, newTok) // unknown kid: fetches the rotated set
	require.NoError(t, err)
	_, err = v.Validate(ctx, oldTok)
	require.NoError(t, err, "the previous key is still published")
	before := verifications(v)

	iss.DropPreviousKey()
	clock.Add(DefaultRefreshCooldown)
	_, err = v.Validate(ctx, mint(t)(iss.APIToken(cacheAPI, authztest.SignedByUnknownKey()))) // triggers the refresh
	require.ErrorIs(t, err, ErrUnknownKey)

	_, err = v.Validate(ctx, oldTok)
	assert.ErrorIs(t, err, ErrUnknownKey, "a cached token stops validating once its key leaves the JWKS")
	_, err = v.Validate(ctx, newTok)
	assert.NoError(t, err, "tokens of the remaining key validate again (verified afresh)")
	assert.Equal(t, before+3, verifications(v))
	_, err = v.Validate(ctx, newTok)
	assert.NoError(t, err)
	assert.Equal(t, before+3, verifications(v), "and are cached again")
}

func TestCacheVerifiesConcurrentFirstSightingsOnce(t *testing.T) {
	clock := &testClock{now: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
	iss, err := authztest.NewIssuer(authztest.WithClock(clock.Now))
	require.NoError(t, err)
	t.Cleanup(iss.Close)
	// A JWKS endpoint that holds the first fetch until released.
	release := make(chan struct{})
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		resp, err := http.Get(iss.JWKSURL())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(proxy.Close)
	v := countedValidator(t, iss.URL(), WithJWKSURL(iss.URL(), proxy.URL+"/jwks"), WithClock(clock.Now))

	tok := mint(t)(iss.APIToken(cacheAPI))
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := v.Validate(context.Background(), tok)
			if assert.NoError(t, err) {
				assert.Equal(t, "test-user", c.Subject)
			}
		}()
	}
	time.Sleep(100 * time.Millisecond) // every caller is now waiting
	close(release)
	wg.Wait()
	assert.Equal(t, uint64(1), verifications(v))
}

func TestCacheOff(t *testing.T) {
	iss, v, _ := cacheFixture(t, WithCache(0, 0))
	tok := mint(t)(iss.APIToken(cacheAPI))
	for range 3 {
		_, err := v.Validate(context.Background(), tok)
		require.NoError(t, err)
	}
	assert.Nil(t, v.cache)
	assert.Equal(t, uint64(3), verifications(v))
}

func TestCacheKeepsNoFailures(t *testing.T) {
	iss, v, _ := cacheFixture(t)
	forged := mint(t)(iss.APIToken(cacheAPI, authztest.SignedByUnknownKey(), authztest.KeyID(iss.KeyID())))
	for range 3 {
		_, err := v.Validate(context.Background(), forged)
		require.ErrorIs(t, err, ErrSignature)
	}
	assert.Equal(t, uint64(3), verifications(v))
	assert.Equal(t, 0, v.cache.Len())
}

func TestCachedClaimsAreCopies(t *testing.T) {
	iss, v, _ := cacheFixture(t)
	tok := mint(t)(iss.APIToken(cacheAPI, authztest.Subject("user-1")))
	c1, err := v.Validate(context.Background(), tok)
	require.NoError(t, err)
	c1.Subject = "mallory"
	c2, err := v.Validate(context.Background(), tok)
	require.NoError(t, err)
	assert.Equal(t, "user-1", c2.Subject)
}

func TestWithCacheChecksItsArguments(t *testing.T) {
	for _, tt := range []struct {
		name    string
		entries int
		ttl     time.Duration
	}{
		{name: "negative size", entries: -1, ttl: time.Minute},
		{name: "negative TTL", entries: 10, ttl: -time.Minute},
		{name: "size without TTL", entries: 10},
		{name: "TTL without size", ttl: time.Minute},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New("https://tenant.logto.app/oidc", []string{cacheAPI}, WithCache(tt.entries, tt.ttl))
			assert.ErrorContains(t, err, "WithCache")
		})
	}
}
