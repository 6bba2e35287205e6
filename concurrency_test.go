package authz_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
)

// slowJWKS serves an issuer's JWKS through a proxy that holds every
// response for delay, so that verifications waiting on a fetch overlap.
func slowJWKS(t *testing.T, iss *authztest.Issuer, delay time.Duration) string {
	t.Helper()
	target, err := url.Parse(iss.URL())
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + target.Path + "/jwks"
}

// TestSharedVerificationOutlivesItsStarter: concurrent first sightings of
// a token share one verification; when the request that started it gives
// up (its context ends while the key is being fetched), the others do not
// take its failure.
func TestSharedVerificationOutlivesItsStarter(t *testing.T) {
	iss, err := authztest.NewIssuer()
	require.NoError(t, err)
	t.Cleanup(iss.Close)
	v, err := authz.New(iss.URL(), []string{api},
		authz.WithJWKSURL(iss.URL(), slowJWKS(t, iss, 300*time.Millisecond)), authz.WithRefreshCooldown(0))
	require.NoError(t, err)
	t.Cleanup(v.Close)
	_, err = v.Validate(context.Background(), must(t)(iss.APIToken(api))) // the first keys are loaded
	require.NoError(t, err)

	iss.RotateKeys() // a token of the new key needs a fetch, which takes 300 ms
	raw := must(t)(iss.APIToken(api, authztest.Scopes("read")))

	starter, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	starterErr := make(chan error, 1)
	go func() {
		_, err := v.Validate(starter, raw)
		starterErr <- err
	}()
	time.Sleep(10 * time.Millisecond) // the starter leads the shared verification

	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = v.Validate(context.Background(), raw)
		}()
	}
	wg.Wait()
	assert.Error(t, <-starterErr, "the starter gave up")
	for i, err := range errs {
		assert.NoError(t, err, "follower %d", i)
	}
}

// TestConcurrentFirstSightingsGetTheirOwnClaims: many goroutines validate
// the same fresh token at once, some with contexts cancelled at random;
// every one that succeeds gets claims of its own, which it edits without
// any other seeing it. Run it under -race.
func TestConcurrentFirstSightingsGetTheirOwnClaims(t *testing.T) {
	iss, err := authztest.NewIssuer()
	require.NoError(t, err)
	t.Cleanup(iss.Close)
	v, err := authz.New(iss.URL(), []string{api},
		authz.WithJWKSURL(iss.URL(), slowJWKS(t, iss, 20*time.Millisecond)), authz.WithRefreshCooldown(0))
	require.NoError(t, err)
	t.Cleanup(v.Close)
	_, err = v.Validate(context.Background(), must(t)(iss.APIToken(api)))
	require.NoError(t, err)

	for round := range 5 {
		iss.RotateKeys() // every round's token needs a fetch
		raw := must(t)(iss.APIToken(api, authztest.Scopes("read", "write"), authztest.Audiences(api)))
		const n = 64
		var (
			start   = make(chan struct{})
			wg      sync.WaitGroup
			claims  = make([]*authz.Claims, n)
			ok      atomic.Int32
			refused atomic.Int32
		)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				if i%2 == 1 {
					time.AfterFunc(time.Duration(rand.IntN(40))*time.Millisecond, cancel)
				}
				<-start
				c, err := v.Validate(ctx, raw)
				if err != nil {
					assert.ErrorIs(t, err, authz.ErrKeysUnavailable, "only a cancelled wait may fail")
					assert.Error(t, ctx.Err(), "a caller whose context is alive never fails")
					refused.Add(1)
					return
				}
				assert.Equal(t, []string{"read", "write"}, c.Scopes, "round %d, caller %d: as signed", round, i)
				assert.Equal(t, []string{api}, c.Audience)
				mark := fmt.Sprintf("caller-%d", i)
				c.Scopes[0], c.Audience[0], c.Subject = mark, mark, mark
				claims[i] = c
				ok.Add(1)
			}()
		}
		close(start)
		wg.Wait()
		require.Positive(t, ok.Load(), "round %d", round)
		for i, c := range claims {
			if c == nil {
				continue
			}
			mark := fmt.Sprintf("caller-%d", i)
			assert.Equal(t, []string{mark, "write"}, c.Scopes, "round %d: caller %d's claims are its own", round, i)
			assert.Equal(t, mark, c.Subject)
		}
		again, err := v.Validate(context.Background(), raw)
		require.NoError(t, err)
		assert.Equal(t, []string{"read", "write"}, again.Scopes, "the cached claims are untouched")
		assert.Equal(t, "test-user", again.Subject)
		t.Logf("round %d: %d validated, %d gave up", round, ok.Load(), refused.Load())
	}
}
