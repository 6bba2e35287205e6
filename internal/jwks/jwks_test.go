package jwks

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"github.com/seed31d61d31/authz/internal/ecverify"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// server is a JWKS endpoint whose answer a test can change.
type server struct {
	*httptest.Server
	mu      sync.Mutex
	body    string
	status  int
	header  http.Header
	hits    atomic.Int64
	discovs atomic.Int64
	disco   string // discovery document; "" answers 404
	block   chan struct{}
}

func newServer(t *testing.T) *server {
	s := &server{status: http.StatusOK}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		body, status, header, disco, block := s.body, s.status, s.header, s.disco, s.block
		s.mu.Unlock()
		if strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration") {
			s.discovs.Add(1)
			if disco == "" {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(disco))
			return
		}
		s.hits.Add(1)
		if block != nil {
			select {
			case <-block:
			case <-r.Context().Done():
				return
			}
		}
		for k, v := range header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) set(status int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.body = status, body
}

func rsaKey(t *testing.T) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	return k
}

func ecKey(t *testing.T, c elliptic.Curve) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	require.NoError(t, err)
	return k
}

// jwkJSON marshals a public key as a JWK with the given metadata.
func jwkJSON(t *testing.T, pub any, kid, alg string) string {
	j, err := jwkset.NewJWKFromKey(pub, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: kid, ALG: jwkset.ALG(alg), USE: jwkset.UseSig}})
	require.NoError(t, err)
	b, err := json.Marshal(j.Marshal())
	require.NoError(t, err)
	return string(b)
}

func set(keys ...string) string { return `{"keys":[` + strings.Join(keys, ",") + `]}` }

// fakeClock is a clock a test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func start(t *testing.T, s *server, clock *fakeClock, mod ...func(*Options)) *Set {
	opts := Options{
		Issuer:          s.URL + "/oidc",
		URL:             s.URL + "/oidc/jwks",
		RefreshInterval: time.Hour,
		Cooldown:        time.Minute,
		Now:             clock.Now,
	}
	for _, m := range mod {
		m(&opts)
	}
	attempted := afterFirstFetch(&opts)
	ks, err := New(opts)
	require.NoError(t, err)
	t.Cleanup(ks.Close)
	<-attempted
	waitIdle(ks)
	return ks
}

// waitIdle waits until no fetch is in flight: OnRefresh runs inside the
// fetch, before the fetch is marked done, and a refresh started before
// that would join the fetch that just ended.
func waitIdle(ks *Set) {
	for {
		ks.mu.Lock()
		idle := ks.inflight == nil
		ks.mu.Unlock()
		if idle {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// afterFirstFetch makes opts report the end of the first fetch, successful
// or not, on the channel it returns.
func afterFirstFetch(opts *Options) <-chan struct{} {
	done := make(chan struct{})
	var once sync.Once
	next := opts.OnRefresh
	opts.OnRefresh = func(e Event) {
		if next != nil {
			next(e)
		}
		once.Do(func() { close(done) })
	}
	return done
}

// keyIDs returns the kids in the set.
func keyIDs(ks *Set) []string {
	all, _ := ks.KeyReadAll(context.Background())
	ids := make([]string, 0, len(all))
	for _, jwk := range all {
		ids = append(ids, jwk.Marshal().KID)
	}
	return ids
}

func TestKeyInference(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	shortRSA, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	p256, p384 := ecKey(t, elliptic.P256()), ecKey(t, elliptic.P384())
	tests := []struct {
		name    string
		jwk     string
		wantAlg string // "" means the key is skipped
	}{
		{name: "RSA without alg is RS256", jwk: jwkJSON(t, &rsaKey.PublicKey, "rsa", ""), wantAlg: "RS256"},
		{name: "RSA with PS256 keeps it", jwk: jwkJSON(t, &rsaKey.PublicKey, "rsa", "PS256"), wantAlg: "PS256"},
		{name: "RSA declared ES384 is skipped", jwk: jwkJSON(t, &rsaKey.PublicKey, "rsa", "ES384")},
		{name: "RSA under 2048 bits is skipped", jwk: jwkJSON(t, &shortRSA.PublicKey, "rsa", "")},
		{name: "P-384 without alg is ES384", jwk: jwkJSON(t, &p384.PublicKey, "ec", ""), wantAlg: "ES384"},
		{name: "P-256 with ES256", jwk: jwkJSON(t, &p256.PublicKey, "ec", "ES256"), wantAlg: "ES256"},
		{name: "P-256 declared ES384 is skipped", jwk: jwkJSON(t, &p256.PublicKey, "ec", "ES384")},
		{name: "encryption key is skipped", jwk: strings.Replace(jwkJSON(t, &p256.PublicKey, "ec", "ES256"), `"use":"sig"`, `"use":"enc"`, 1)},
		{name: "key without kid is skipped", jwk: jwkJSON(t, &p256.PublicKey, "", "ES256")},
		{name: "symmetric key is skipped", jwk: `{"kty":"oct","kid":"ec","k":"c2VjcmV0","alg":"HS256"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m jwkset.JWKMarshal
			require.NoError(t, json.Unmarshal([]byte(tt.jwk), &m))
			jwk, err := usable(m)
			if tt.wantAlg == "" {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantAlg, jwk.Marshal().ALG.String())
		})
	}
}

func TestFetchAndLookup(t *testing.T) {
	s := newServer(t)
	k1 := ecKey(t, elliptic.P384())
	s.set(200, set(jwkJSON(t, &k1.PublicKey, "k1", "ES384")))
	ks := start(t, s, &fakeClock{now: time.Unix(1e9, 0)})

	jwk, err := ks.KeyRead(context.Background(), "k1")
	require.NoError(t, err)
	assert.Equal(t, "ES384", jwk.Marshal().ALG.String())
	assert.Equal(t, int64(1), s.hits.Load())
	assert.True(t, ks.Loaded())
	assert.Equal(t, []string{"k1"}, keyIDs(ks))
}

func TestDiscovery(t *testing.T) {
	k1 := ecKey(t, elliptic.P384())
	t.Run("jwks_uri from the discovery document", func(t *testing.T) {
		s := newServer(t)
		s.disco = `{"issuer":"` + s.URL + `/oidc","jwks_uri":"` + s.URL + `/keys"}`
		s.set(200, set(jwkJSON(t, &k1.PublicKey, "k1", "ES384")))
		ks := start(t, s, &fakeClock{}, func(o *Options) { o.URL = ""; o.AllowHTTP = true })
		_, err := ks.KeyRead(context.Background(), "k1")
		require.NoError(t, err)
		assert.Equal(t, s.URL+"/keys", ks.url)
	})
	t.Run("no discovery document falls back to issuer/jwks", func(t *testing.T) {
		s := newServer(t)
		s.set(200, set(jwkJSON(t, &k1.PublicKey, "k1", "ES384")))
		ks := start(t, s, &fakeClock{}, func(o *Options) { o.URL = "" })
		_, err := ks.KeyRead(context.Background(), "k1")
		require.NoError(t, err)
		assert.Equal(t, s.URL+"/oidc/jwks", ks.url)
	})
	t.Run("document for another issuer is refused", func(t *testing.T) {
		s := newServer(t)
		s.disco = `{"issuer":"https://evil.example/oidc","jwks_uri":"` + s.URL + `/keys"}`
		s.set(200, set(jwkJSON(t, &k1.PublicKey, "k1", "ES384")))
		ks := start(t, s, &fakeClock{}, func(o *Options) { o.URL = ""; o.AllowHTTP = true })
		_, err := ks.KeyRead(context.Background(), "k1")
		assert.ErrorIs(t, err, ErrUnavailable)
		assert.Equal(t, int64(0), s.hits.Load())
	})
	t.Run("http jwks_uri is refused unless allowed", func(t *testing.T) {
		s := newServer(t)
		s.disco = `{"issuer":"` + s.URL + `/oidc","jwks_uri":"` + s.URL + `/keys"}`
		s.set(200, set(jwkJSON(t, &k1.PublicKey, "k1", "ES384")))
		ks := start(t, s, &fakeClock{}, func(o *Options) { o.URL = "" })
		_, err := ks.KeyRead(context.Background(), "k1")
		assert.ErrorIs(t, err, ErrUnavailable)
	})
}

func TestRemovedKeyStopsAfterRefresh(t *testing.T) {
	s := newServer(t)
	k1, k2 := ecKey(t, elliptic.P384()), ecKey(t, elliptic.P384())
	s.set(200, set(jwkJSON(t, &k1.PublicKey, "k1", "ES384"), jwkJSON(t, &k2.PublicKey, "k2", "ES384")))
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	var removed []string
	var events []Event
	ks := start(t, s, clock, func(o *Options) {
		o.OnRefresh = func(e Event) {
			events = append(events, e)
			removed = e.Removed
		}
	})
	_, err := ks.KeyRead(context.Background(), "k1")
	require.NoError(t, err)

	s.set(200, set(jwkJSON(t, &k2.PublicKey, "k2", "ES384"), jwkJSON(t, &k2.PublicKey, "k3", "ES384")))
	clock.Add(2 * time.Minute)
	_, err = ks.KeyRead(context.Background(), "k3") // unknown kid: refresh
	require.NoError(t, err)
	_, err = ks.KeyRead(context.Background(), "k1")
	assert.ErrorIs(t, err, ErrNotFound)
	assert.Equal(t, []string{"k1"}, removed)
	require.Len(t, events, 2)
	assert.True(t, events[0].Initial)
	assert.ElementsMatch(t, []string{"k1", "k2"}, events[0].Added)
	assert.False(t, events[1].Initial)
	assert.Equal(t, []string{"k3"}, events[1].Added)
	assert.Equal(t, 2, events[1].Keys)
	assert.Equal(t, s.URL+"/oidc/jwks", events[1].URL)
	assert.NoError(t, events[1].Err)
}

// TestReplacedKeyCountsAsRemoved: other key material, or another "alg",
// published under a kid already in the set is a removal (the epoch moves,
// so cached tokens of the old key stop counting) and an addition.
func TestReplacedKeyCountsAsRemoved(t *testing.T) {
	k1, k2 := ecKey(t, elliptic.P384()), ecKey(t, elliptic.P384())
	r1, r2 := rsaKey(t), rsaKey(t)
	tests := []struct {
		name          string
		before, after string
		replaced      bool
	}{
		{name: "same key, same alg", before: jwkJSON(t, &k1.PublicKey, "k", "ES384"), after: jwkJSON(t, &k1.PublicKey, "k", "ES384")},
		{name: "same RSA key, alg made explicit", before: jwkJSON(t, &r1.PublicKey, "k", ""), after: jwkJSON(t, &r1.PublicKey, "k", "RS256")},
		{name: "other EC key", before: jwkJSON(t, &k1.PublicKey, "k", "ES384"), after: jwkJSON(t, &k2.PublicKey, "k", "ES384"), replaced: true},
		{name: "other RSA key", before: jwkJSON(t, &r1.PublicKey, "k", "RS256"), after: jwkJSON(t, &r2.PublicKey, "k", "RS256"), replaced: true},
		{name: "same RSA key, other alg", before: jwkJSON(t, &r1.PublicKey, "k", "RS256"), after: jwkJSON(t, &r1.PublicKey, "k", "PS256"), replaced: true},
		{name: "EC key replaced by an RSA key", before: jwkJSON(t, &k1.PublicKey, "k", "ES384"), after: jwkJSON(t, &r1.PublicKey, "k", "RS256"), replaced: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			s.set(200, set(tt.before))
			clock := &fakeClock{now: time.Unix(1e9, 0)}
			var last Event
			ks := start(t, s, clock, func(o *Options) { o.OnRefresh = func(e Event) { last = e } })
			epoch := ks.Epoch()

			s.set(200, set(tt.after))
			clock.Add(2 * time.Minute)
			_, err := ks.KeyRead(context.Background(), "unknown") // a refresh
			require.ErrorIs(t, err, ErrNotFound)
			if tt.replaced {
				assert.Equal(t, []string{"k"}, last.Removed)
				assert.Equal(t, []string{"k"}, last.Added)
				assert.Equal(t, epoch+1, ks.Epoch())
			} else {
				assert.Empty(t, last.Removed)
				assert.Empty(t, last.Added)
				assert.Equal(t, epoch, ks.Epoch())
			}
		})
	}
}

func TestUnknownKIDStampedeCausesOneFetchPerCooldown(t *testing.T) {
	s := newServer(t)
	k1 := ecKey(t, elliptic.P384())
	s.set(200, set(jwkJSON(t, &k1.PublicKey, "k1", "ES384")))
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	ks := start(t, s, clock)
	require.Equal(t, int64(1), s.hits.Load())

	stampede := func() {
		var wg sync.WaitGroup
		for i := range 1000 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := ks.KeyRead(context.Background(), "unknown-"+string(rune('a'+i%26)))
				assert.ErrorIs(t, err, ErrNotFound)
			}()
		}
		wg.Wait()
	}
	stampede() // inside the cooldown of the initial fetch: no fetch at all
	assert.Equal(t, int64(1), s.hits.Load())

	clock.Add(time.Minute)
	s.mu.Lock()
	s.block = make(chan struct{}) // hold the fetch so that every caller joins it
	s.mu.Unlock()
	go func() {
		for s.hits.Load() < 2 {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond)
		s.mu.Lock()
		close(s.block)
		s.block = nil
		s.mu.Unlock()
	}()
	stampede()
	assert.Equal(t, int64(2), s.hits.Load(), "one shared fetch after the cooldown")
}

func TestWaiterGivesUpWithItsContext(t *testing.T) {
	s := newServer(t)
	k1 := ecKey(t, elliptic.P384())
	s.set(200, set(jwkJSON(t, &k1.PublicKey, "k1", "ES384")))
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	ks := start(t, s, clock)
	s.mu.Lock()
	s.block = make(chan struct{})
	s.mu.Unlock()
	clock.Add(time.Hour)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := ks.KeyRead(ctx, "k2")
	assert.ErrorIs(t, err, ErrNotFound, "a loaded set answers not found even when the wait ended")
	s.mu.Lock()
	close(s.block)
	s.block = nil
	s.mu.Unlock()
}

func TestUnavailableThenRecovers(t *testing.T) {
	s := newServer(t)
	k1 := ecKey(t, elliptic.P384())
	s.set(503, "down")
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	ks := start(t, s, clock)

	_, err := ks.KeyRead(context.Background(), "k1")
	assert.ErrorIs(t, err, ErrUnavailable)
	assert.False(t, ks.Loaded())

	s.set(200, set(jwkJSON(t, &k1.PublicKey, "k1", "ES384")))
	clock.Add(time.Minute)
	_, err = ks.KeyRead(context.Background(), "k1")
	assert.NoError(t, err)
}

// TestUnavailableSaysWhy: while no keys could be loaded, a lookup inside
// the cooldown reports the last fetch's error (here a 503), not the
// cooldown that kept it from trying again.
func TestUnavailableSaysWhy(t *testing.T) {
	s := newServer(t)
	s.set(503, "down")
	ks := start(t, s, &fakeClock{now: time.Unix(1e9, 0)})
	_, err := ks.KeyRead(context.Background(), "k1") // inside the cooldown
	require.ErrorIs(t, err, ErrUnavailable)
	assert.ErrorIs(t, err, statusError(503))
	assert.NotErrorIs(t, err, errCooldown)
	assert.Contains(t, err.Error(), "unexpected HTTP status 503")
}

// TestReady: Ready returns once keys are loaded, and otherwise, when its
// context ends, why there are none.
func TestReady(t *testing.T) {
	s := newServer(t)
	s.set(503, "down")
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	ks := start(t, s, clock)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := ks.Ready(ctx)
	require.ErrorIs(t, err, ErrUnavailable)
	assert.ErrorIs(t, err, statusError(503))

	k1 := ecKey(t, elliptic.P384())
	s.set(200, set(jwkJSON(t, &k1.PublicKey, "k1", "ES384")))
	clock.Add(time.Minute)
	_, err = ks.KeyRead(context.Background(), "k1") // a refresh loads the keys
	require.NoError(t, err)
	assert.NoError(t, ks.Ready(context.Background()))
}

// TestCloseBeforeTheFirstFetchLogsNothing: a Set closed while its first
// fetch is in flight reports no failed fetch: nothing failed.
func TestCloseBeforeTheFirstFetchLogsNothing(t *testing.T) {
	s := newServer(t)
	s.mu.Lock()
	s.block = make(chan struct{}) // the fetch hangs until Close
	s.mu.Unlock()
	var logs strings.Builder
	var mu sync.Mutex
	var events int
	ks, err := New(Options{Issuer: s.URL + "/oidc", URL: s.URL + "/oidc/jwks", RefreshInterval: time.Hour,
		Logger: slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, nil)),
		OnRefresh: func(Event) {
			mu.Lock()
			events++
			mu.Unlock()
		}})
	require.NoError(t, err)
	for s.hits.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	ks.Close()
	mu.Lock()
	defer mu.Unlock()
	assert.Empty(t, logs.String())
	assert.Zero(t, events)
}

// lockedWriter serializes writes to w.
type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestCacheControl(t *testing.T) {
	tests := []struct {
		header   string
		interval time.Duration
		want     time.Duration
	}{
		{header: "", interval: time.Hour, want: time.Hour},
		{header: "no-cache, max-age=0, must-revalidate", interval: time.Hour, want: 5 * time.Minute},
		{header: "max-age=900", interval: time.Hour, want: 15 * time.Minute},
		{header: "public, max-age=86400", interval: time.Hour, want: time.Hour},
		{header: "max-age=0", interval: time.Minute, want: time.Minute},
		{header: "max-age=oops", interval: time.Hour, want: time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			s := &Set{opts: Options{RefreshInterval: tt.interval}}
			assert.Equal(t, tt.want, s.nextRefresh(http.Header{"Cache-Control": {tt.header}}))
		})
	}
}

func TestCloseStopsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	s := newServer(t)
	s.mu.Lock()
	s.block = make(chan struct{}) // a fetch hangs
	s.mu.Unlock()
	ks, err := New(Options{Issuer: s.URL + "/oidc", URL: s.URL + "/oidc/jwks", RefreshInterval: time.Hour, Timeout: time.Minute})
	require.NoError(t, err)
	for s.hits.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	ks.Close()
	s.Close()
	http.DefaultClient.CloseIdleConnections()
	// Polled by hand: assert.Eventually runs its own goroutines.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), before, "goroutines left after Close")
}

// TestKeyfuncOnlyReads: keyfunc, given the Set as its jwkset.Storage,
// calls only the reading methods the Set defines, with a kid and without
// one; the embedded nil Storage, which would panic, is never reached.
func TestKeyfuncOnlyReads(t *testing.T) {
	s := newServer(t)
	k1 := ecKey(t, elliptic.P384())
	s.set(200, set(jwkJSON(t, &k1.PublicKey, "k1", "ES384")))
	ks := start(t, s, &fakeClock{})
	for _, header := range []map[string]any{
		{"kid": "k1", "alg": "ES384"},
		{"kid": "k1", "alg": "ES256"},
		{"kid": "unknown", "alg": "ES384"},
		{"alg": "ES384"},
	} {
		assert.NotPanics(t, func() { _, _ = ks.Keyfunc(context.Background())(&jwt.Token{Header: header}) }, "%v", header)
	}
	key, err := ks.Keyfunc(context.Background())(&jwt.Token{Header: map[string]any{"kid": "k1", "alg": "ES384"}})
	require.NoError(t, err)
	assert.True(t, k1.PublicKey.Equal(key))
}

// TestPreparedKeys: with PrepareKeys, every ES384, ES256 and RS* key (and
// only those) gets a prepared verifier: an RSA key when its set loads, an
// EC key in the background after its first use, until which the caller
// gets nil (the standard library); a refresh that keeps a key keeps its
// table; a verifier is handed out only for the very key keyfunc returned.
func TestPreparedKeys(t *testing.T) {
	s := newServer(t)
	p384a, p384b, p256, p521 := ecKey(t, elliptic.P384()), ecKey(t, elliptic.P384()), ecKey(t, elliptic.P256()), ecKey(t, elliptic.P521())
	r := rsaKey(t)
	s.set(200, set(jwkJSON(t, &p384a.PublicKey, "a", "ES384"), jwkJSON(t, &p256.PublicKey, "c", "ES256"), jwkJSON(t, &p521.PublicKey, "e", "ES512"), jwkJSON(t, &r.PublicKey, "r", "")))
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	ks := start(t, s, clock, func(o *Options) { o.PrepareKeys = true })
	keyOf := func(kid string) any {
		key, err := ks.Keyfunc(context.Background())(&jwt.Token{Header: map[string]any{"kid": kid, "alg": map[string]string{"a": "ES384", "b": "ES384", "c": "ES256", "e": "ES512", "r": "RS256"}[kid]}})
		require.NoError(t, err)
		return key
	}
	assert.Nil(t, ks.ECDSA("a", keyOf("a")), "the first use only starts the build")
	a := waitPrepared(t, ks, "a", keyOf("a"))
	assert.Nil(t, ks.ECDSA("c", keyOf("c")))
	waitPrepared(t, ks, "c", keyOf("c")) // ES256 keys are prepared too
	assert.Nil(t, ks.ECDSA("e", keyOf("e")), "ES512 keys use the standard library")
	assert.Nil(t, ks.ECDSA("r", keyOf("r")))
	assert.NotNil(t, ks.RSA("r", keyOf("r")), "an RSA key without alg is RS256: prepared when it loads")
	assert.Nil(t, ks.RSA("a", keyOf("a")))
	assert.Nil(t, ks.ECDSA("a", &p384a.PublicKey), "only for the key object keyfunc returns")
	assert.Nil(t, ks.ECDSA("unknown", keyOf("a")))

	s.set(200, set(jwkJSON(t, &p384a.PublicKey, "a", "ES384"), jwkJSON(t, &p384b.PublicKey, "b", "ES384")))
	clock.Add(2 * time.Minute)
	_, err := ks.KeyRead(context.Background(), "b") // a refresh
	require.NoError(t, err)
	again := ks.ECDSA("a", keyOf("a"))
	require.NotNil(t, again, "an unchanged key keeps its table across a refresh, ready at once")
	assert.NotSame(t, a, again, "a new verifier for the new copy of the key")
	assert.Nil(t, ks.ECDSA("b", keyOf("b")), "a new key is built on its first use")
	waitPrepared(t, ks, "b", keyOf("b"))
}

// waitPrepared waits for the background build of kid's verifier, started
// by an earlier ECDSA call, and returns it.
func waitPrepared(t *testing.T, ks *Set, kid string, key any) *ecverify.Verifier {
	t.Helper()
	var v *ecverify.Verifier
	require.Eventually(t, func() bool { v = ks.ECDSA(kid, key); return v != nil }, 10*time.Second, time.Millisecond, "verifier of %s", kid)
	return v
}

// TestTablesOnlyForKeysInUse: an EC key that no token names never gets a
// table, and a set closed before a build could start builds nothing.
func TestTablesOnlyForKeysInUse(t *testing.T) {
	s := newServer(t)
	used, idle := ecKey(t, elliptic.P384()), ecKey(t, elliptic.P384())
	s.set(200, set(jwkJSON(t, &used.PublicKey, "used", "ES384"), jwkJSON(t, &idle.PublicKey, "idle", "ES384")))
	ks := start(t, s, &fakeClock{now: time.Unix(1e9, 0)}, func(o *Options) { o.PrepareKeys = true })
	key, err := ks.Keyfunc(context.Background())(&jwt.Token{Header: map[string]any{"kid": "used", "alg": "ES384"}})
	require.NoError(t, err)
	ks.ECDSA("used", key)
	waitPrepared(t, ks, "used", key)
	m := ks.keys.Load()
	require.Len(t, m.ec, 2)
	assert.Nil(t, m.ec["idle"].v.Load(), "no table for a key no token named")
	assert.False(t, m.ec["idle"].started.Load())

	ks.Close()
	idleKey := m.ec["idle"].pub
	assert.Nil(t, ks.ECDSA("idle", idleKey))
	ks.wg.Wait() // a build started after all would end before this returns
	assert.Nil(t, m.ec["idle"].v.Load(), "a closed set starts no build")
}

// TestPSSKeysStayOnTheStandardLibrary: an RSA key published for PS256 gets
// no PKCS #1 v1.5 verifier.
func TestPSSKeysStayOnTheStandardLibrary(t *testing.T) {
	s := newServer(t)
	r := rsaKey(t)
	s.set(200, set(jwkJSON(t, &r.PublicKey, "p", "PS256")))
	ks := start(t, s, &fakeClock{now: time.Unix(1e9, 0)}, func(o *Options) { o.PrepareKeys = true })
	key, err := ks.Keyfunc(context.Background())(&jwt.Token{Header: map[string]any{"kid": "p", "alg": "PS256"}})
	require.NoError(t, err)
	assert.Nil(t, ks.RSA("p", key))
}

func TestPreparedKeysOff(t *testing.T) {
	s := newServer(t)
	k := ecKey(t, elliptic.P384())
	s.set(200, set(jwkJSON(t, &k.PublicKey, "a", "ES384")))
	ks := start(t, s, &fakeClock{now: time.Unix(1e9, 0)})
	key, err := ks.Keyfunc(context.Background())(&jwt.Token{Header: map[string]any{"kid": "a", "alg": "ES384"}})
	require.NoError(t, err)
	assert.Nil(t, ks.ECDSA("a", key))
}
