package jwks

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Fault injection: what a Set does when its JWKS endpoint misbehaves. Every
// fault is one row of TestJWKSFaultsKeepLastGoodKeys (after good keys were
// served) and, for a few, of TestJWKSFaultAtStart (before any were). The
// rows took over the cases of TestFailedRefreshKeepsLastGoodKeys and
// TestOneBadKeyDoesNotBlockTheOthers, formerly in jwks_test.go, and add a
// hang past the timeout, a body cut short, a closed connection, a gzip
// bomb, duplicate kids, the recovery afterwards, and goroutine leaks. TestJWKSRedirectToPlainHTTPIsRefused covers an https
// endpoint that redirects to plain http.

const (
	faultCooldown = time.Minute
	// faultTimeout is Options.Timeout of the Sets whose endpoint hangs;
	// the others keep DefaultTimeout, so that no good fetch can time out
	// on a loaded machine.
	faultTimeout  = 200 * time.Millisecond
	faultMaxBytes = 4096 // Options.MaxBytes of every Set here
)

// faultServer is a JWKS endpoint whose answer a test replaces at will.
type faultServer struct {
	srv     *httptest.Server
	mu      sync.Mutex
	answer  http.HandlerFunc
	hits    atomic.Int64
	release chan struct{} // closed by close: frees every hanging handler
	once    sync.Once
}

func newFaultServer(answer http.HandlerFunc) *faultServer {
	fs := &faultServer{answer: answer, release: make(chan struct{})}
	fs.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.hits.Add(1)
		fs.mu.Lock()
		answer := fs.answer
		fs.mu.Unlock()
		answer(w, r)
	}))
	return fs
}

func (fs *faultServer) set(answer http.HandlerFunc) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.answer = answer
}

// close frees hanging handlers and stops the server; it is idempotent.
func (fs *faultServer) close() {
	fs.once.Do(func() {
		close(fs.release)
		fs.srv.Close()
	})
}

// wait blocks a handler until its request ends (the client gave up) or the
// server closes.
func (fs *faultServer) wait(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-fs.release:
	}
}

// The answers a fault server can give.

func answerJSON(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache, max-age=0, must-revalidate") // as Logto
		_, _ = w.Write([]byte(body))
	}
}

func answerStatus(status int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

// answerGzip sends body gzip-compressed; Go's transport inflates it.
func answerGzip(t *testing.T, body string) http.HandlerFunc {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	require.NoError(t, err)
	_, err = zw.Write([]byte(body))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	compressed := buf.Bytes()
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(compressed)
	}
}

// faultKey is a signing key with its kid.
type faultKey struct {
	kid  string
	priv *ecdsa.PrivateKey
}

func newFaultKey(t *testing.T, kid string) faultKey {
	return faultKey{kid: kid, priv: ecKey(t, elliptic.P384())}
}

// jwk is the key's public JWK.
func (k faultKey) jwk(t *testing.T) string { return jwkJSON(t, &k.priv.PublicKey, k.kid, "ES384") }

// token is an ES384 JWT signed by k whose header names kid.
func (k faultKey) token(t *testing.T, kid string) string {
	tok := jwt.NewWithClaims(jwt.SigningMethodES384, jwt.MapClaims{"sub": "fault-test"})
	tok.Header["kid"] = kid
	s, err := tok.SignedString(k.priv)
	require.NoError(t, err)
	return s
}

// startFaultSet starts a Set on fs with the options every test here uses.
func startFaultSet(t *testing.T, fs *faultServer, transport *http.Transport, clock *fakeClock, timeout time.Duration) *Set {
	t.Helper()
	opts := Options{
		Issuer:          fs.srv.URL + "/oidc",
		URL:             fs.srv.URL + "/oidc/jwks",
		Client:          &http.Client{Transport: transport},
		RefreshInterval: time.Hour, // no background fetch during a test after a success
		Cooldown:        faultCooldown,
		Timeout:         timeout,
		MaxBytes:        faultMaxBytes,
		Now:             clock.Now,
	}
	attempted := afterFirstFetch(&opts)
	ks, err := New(opts)
	require.NoError(t, err, "New never fails because of the endpoint")
	<-attempted
	waitIdle(ks)
	return ks
}

// refreshUntil makes refreshes (an unknown kid after the cooldown) until kid
// is in the set, at most five. More than one is needed only when a good
// fetch ran past a short Timeout on a loaded machine, or joined a fetch that
// started before the endpoint healed. It reports whether kid loaded.
func refreshUntil(ks *Set, clock *fakeClock, kid string) bool {
	for range 5 {
		if _, err := ks.KeyRead(context.Background(), kid); err == nil {
			return true
		}
		clock.Add(faultCooldown)
	}
	return false
}

// verify checks tok's signature with the key the Set gives keyfunc for its
// kid: the path every validation takes.
func verify(ks *Set, tok string) error {
	_, err := jwt.Parse(tok, ks.Keyfunc(context.Background()), jwt.WithValidMethods([]string{"ES384"}))
	return err
}

// waitGoroutines polls (assert.Eventually would start goroutines of its
// own) until at most base goroutines run, or a generous deadline passes.
func waitGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Errorf("%d goroutines after Close, %d before:\n%s", n, base, buf)
	}
}

func TestJWKSFaultsKeepLastGoodKeys(t *testing.T) {
	k1, k2, k3 := newFaultKey(t, "k1"), newFaultKey(t, "k2"), newFaultKey(t, "k3")
	other := newFaultKey(t, "k2") // another key published under k2's kid
	badEC := `{"kty":"EC","crv":"P-384","kid":"bad","x":"AAAA","y":"AAAA"}`
	unknownKty := `{"kty":"XYZ","kid":"k2","x":"AAAA"}`
	x25519 := `{"kty":"OKP","crv":"X25519","kid":"x25519","x":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"}`
	// padded is a key set with k2 that parses, but is over the size cap.
	padded := `{"keys":[` + k2.jwk(t) + `],"padding":"` + strings.Repeat("A", 2*faultMaxBytes) + `"}`
	good := answerJSON(set(k1.jwk(t)))
	hang := func(fs *faultServer) http.HandlerFunc {
		return func(_ http.ResponseWriter, r *http.Request) { fs.wait(r) }
	}

	type fault struct {
		name   string
		answer func(fs *faultServer) http.HandlerFunc
		// hangs: the fault is a request that never ends; the Set gets the
		// short faultTimeout.
		hangs bool
		// loads lists the kids the set holds after the faulty refresh;
		// nil: the refresh fails and the last good keys ({k1}) stay.
		loads []string
		// check, if set, makes further assertions after the faulty refresh.
		check func(t *testing.T, ks *Set)
		// requests is how many requests the one faulty fetch makes; 0
		// means 1.
		requests int64
	}
	fixed := func(h http.HandlerFunc) func(*faultServer) http.HandlerFunc {
		return func(*faultServer) http.HandlerFunc { return h }
	}
	faults := []fault{
		// The endpoint fails as a whole: nothing may change.
		{name: "500", answer: fixed(answerStatus(500, "text/plain", "internal error"))},
		{name: "404", answer: fixed(answerStatus(404, "text/plain", "not found"))},
		{name: "503 from a proxy, HTML body", answer: fixed(answerStatus(503, "text/html", "<html><body>Service Unavailable</body></html>"))},
		{name: "hangs past the client timeout", answer: hang, hangs: true},
		{name: "sends headers, then hangs in the body", hangs: true, answer: func(fs *faultServer) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"keys":[` + k2.jwk(t)))
				w.(http.Flusher).Flush()
				fs.wait(r)
			}
		}},
		{name: "body cut short (Content-Length not reached)", answer: fixed(func(w http.ResponseWriter, _ *http.Request) {
			body := set(k2.jwk(t))
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			_, _ = w.Write([]byte(body[:len(body)/2]))
		})},
		{
			name: "connection closed without an answer",
			answer: fixed(func(w http.ResponseWriter, _ *http.Request) {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					_ = conn.Close()
				}
			}),
			// Go's transport retries a GET once when a reused keep-alive
			// connection closes before any answer: one fetch, two requests.
			requests: 2,
		},
		{name: "malformed JSON", answer: fixed(answerJSON(`{"keys":[` + k2.jwk(t)))},
		{name: "empty body", answer: fixed(answerJSON(""))},
		{name: "JSON null", answer: fixed(answerJSON("null"))},
		{name: "JSON array instead of a set", answer: fixed(answerJSON("[" + k2.jwk(t) + "]"))},
		{name: "keys is not an array", answer: fixed(answerJSON(`{"keys":` + k2.jwk(t) + `}`))},
		{name: "HTML with status 200", answer: fixed(answerStatus(200, "text/html", "<!DOCTYPE html><html><body>Maintenance</body></html>"))},
		{name: "empty set", answer: fixed(answerJSON(`{"keys":[]}`))},
		{name: "only a key with an unknown kty", answer: fixed(answerJSON(set(unknownKty)))},
		{name: "only bad keys", answer: fixed(answerJSON(set(badEC, `{"kty":"oct","kid":"k2","k":"c2VjcmV0","alg":"HS256"}`)))},
		{name: "body over the size cap", answer: fixed(answerJSON(padded))},
		{name: "body over the size cap once inflated (gzip bomb)", answer: fixed(answerGzip(t,
			`{"keys":[`+k2.jwk(t)+`],"padding":"`+strings.Repeat("A", 8<<20)+`"}`))},

		// Some keys are bad: the good ones load, the bad ones are skipped.
		{name: "one bad key among good ones", answer: fixed(answerJSON(set(k1.jwk(t), badEC, k2.jwk(t)))), loads: []string{"k1", "k2"}},
		{name: "an X25519 (key agreement) key among good ones", answer: fixed(answerJSON(set(k1.jwk(t), x25519, k2.jwk(t)))), loads: []string{"k1", "k2"}},
		{name: "a key with an unknown kty among good ones", answer: fixed(answerJSON(set(`{"kty":"XYZ","kid":"x"}`, k1.jwk(t), k2.jwk(t)))), loads: []string{"k1", "k2"}},
		{name: "an encryption key among good ones", answer: fixed(answerJSON(set(k1.jwk(t), strings.Replace(k3.jwk(t), `"use":"sig"`, `"use":"enc"`, 1), k2.jwk(t)))), loads: []string{"k1", "k2"}},
		{name: "duplicate kid, the same key twice", answer: fixed(answerJSON(set(k1.jwk(t), k2.jwk(t), k2.jwk(t)))), loads: []string{"k1", "k2"}},
		{
			name:   "duplicate kid, two different keys: the first is used",
			answer: fixed(answerJSON(set(k1.jwk(t), k2.jwk(t), other.jwk(t)))),
			loads:  []string{"k1", "k2"},
			check: func(t *testing.T, ks *Set) {
				assert.NoError(t, verify(ks, k2.token(t, "k2")))
				assert.ErrorIs(t, verify(ks, other.token(t, "k2")), jwt.ErrTokenSignatureInvalid,
					"the second key under a kid never verifies")
			},
		},
		{
			name:   "duplicate kid, the first copy unusable: the usable one is used",
			answer: fixed(answerJSON(set(k1.jwk(t), strings.Replace(badEC, `"bad"`, `"k2"`, 1), k2.jwk(t)))),
			loads:  []string{"k1", "k2"},
		},
	}

	for _, tt := range faults {
		t.Run(tt.name, func(t *testing.T) {
			base := runtime.NumGoroutine()
			ctx := context.Background()
			fs := newFaultServer(good)
			defer fs.close() // on an early failure; close is idempotent
			transport := &http.Transport{}
			defer transport.CloseIdleConnections()
			clock := &fakeClock{now: time.Unix(1e9, 0)}
			timeout := DefaultTimeout
			if tt.hangs {
				timeout = faultTimeout
			}
			ks := startFaultSet(t, fs, transport, clock, timeout)
			defer ks.Close()
			require.True(t, refreshUntil(ks, clock, "k1"), "good keys at start")
			require.NoError(t, verify(ks, k1.token(t, "k1")))

			// The fault, and a refresh: an unknown kid after the cooldown.
			requests := max(tt.requests, 1)
			fs.set(tt.answer(fs))
			clock.Add(faultCooldown)
			hits := fs.hits.Load()
			_, err := ks.KeyRead(ctx, "k2")
			if tt.loads == nil {
				assert.ErrorIs(t, err, ErrNotFound, "a loaded set answers not found, never unavailable")
				assert.ElementsMatch(t, []string{"k1"}, keyIDs(ks), "the last good keys are kept whole")
			} else {
				assert.NoError(t, err, "the good keys of the new set are loaded")
				assert.ElementsMatch(t, tt.loads, keyIDs(ks))
			}
			// One fetch. A fetch that times out may do so before its request
			// reaches the handler, or reach it late: with a hang, count "at
			// most", at the end of (a).
			if !tt.hangs {
				assert.Equal(t, hits+requests, fs.hits.Load(), "the unknown kid caused exactly one fetch")
			}

			// (a) The last good keys keep validating, and the faulty
			// endpoint is not asked again inside the cooldown.
			assert.NoError(t, verify(ks, k1.token(t, "k1")), "the last good key still validates")
			_, err = ks.KeyRead(ctx, "k3")
			assert.ErrorIs(t, err, ErrNotFound)
			if tt.hangs {
				assert.LessOrEqual(t, fs.hits.Load(), hits+requests, "one fetch at most, none more inside the cooldown")
			} else {
				assert.Equal(t, hits+requests, fs.hits.Load(), "no second fetch inside the cooldown")
			}
			if tt.check != nil {
				tt.check(t, ks)
			}

			// (b) Recovery, with one bad key among the good ones: the good
			// ones load; k2 (no longer published) leaves the set.
			fs.set(answerJSON(set(k1.jwk(t), badEC, `{"kty":"XYZ","kid":"junk"}`, k3.jwk(t))))
			clock.Add(faultCooldown)
			hits = fs.hits.Load()
			require.True(t, refreshUntil(ks, clock, "k3"), "recovers at the next refresh")
			if !tt.hangs { // with DefaultTimeout, nothing can need a second try
				assert.Equal(t, hits+1, fs.hits.Load(), "one fetch for the recovery")
			}
			assert.ElementsMatch(t, []string{"k1", "k3"}, keyIDs(ks), "only the good keys load")
			assert.NoError(t, verify(ks, k3.token(t, "k3")))
			assert.NoError(t, verify(ks, k1.token(t, "k1")))
			assert.Error(t, verify(ks, k2.token(t, "k2")), "a key that left the set stops validating")

			// (c) Nothing leaks: back to the goroutines from before.
			ks.Close()
			fs.close()
			transport.CloseIdleConnections()
			waitGoroutines(t, base)
		})
	}
}

// TestJWKSFaultAtStart: a Set whose endpoint fails from the start answers
// unavailable (never "not found", which would read as a bad token), loads
// the keys once the endpoint heals, and leaks nothing.
func TestJWKSFaultAtStart(t *testing.T) {
	k1 := newFaultKey(t, "k1")
	faults := []struct {
		name   string
		answer func(fs *faultServer) http.HandlerFunc
		hangs  bool
	}{
		{name: "500", answer: func(*faultServer) http.HandlerFunc { return answerStatus(500, "text/plain", "oops") }},
		{name: "hangs past the client timeout", hangs: true, answer: func(fs *faultServer) http.HandlerFunc {
			return func(_ http.ResponseWriter, r *http.Request) { fs.wait(r) }
		}},
		{name: "HTML", answer: func(*faultServer) http.HandlerFunc {
			return answerStatus(200, "text/html", "<html>login</html>")
		}},
		{name: "empty set", answer: func(*faultServer) http.HandlerFunc { return answerJSON(`{"keys":[]}`) }},
	}
	for _, tt := range faults {
		t.Run(tt.name, func(t *testing.T) {
			base := runtime.NumGoroutine()
			ctx := context.Background()
			fs := newFaultServer(nil)
			defer fs.close()
			fs.set(tt.answer(fs))
			transport := &http.Transport{}
			defer transport.CloseIdleConnections()
			clock := &fakeClock{now: time.Unix(1e9, 0)}
			timeout := DefaultTimeout
			if tt.hangs {
				timeout = faultTimeout
			}
			// After the failed first fetch the background loop retries on
			// a real timer (1 s, then doubling); every retry fails too.
			ks := startFaultSet(t, fs, transport, clock, timeout)
			defer ks.Close()
			require.GreaterOrEqual(t, fs.hits.Load(), int64(1))

			_, err := ks.KeyRead(ctx, "k1")
			assert.ErrorIs(t, err, ErrUnavailable)
			assert.False(t, ks.Loaded())
			assert.ErrorIs(t, verify(ks, k1.token(t, "k1")), ErrUnavailable)

			fs.set(answerJSON(set(k1.jwk(t))))
			require.True(t, refreshUntil(ks, clock, "k1"), "loads once the endpoint heals")
			assert.NoError(t, verify(ks, k1.token(t, "k1")))

			ks.Close()
			fs.close()
			transport.CloseIdleConnections()
			waitGoroutines(t, base)
		})
	}
}

// TestJWKSRedirectToPlainHTTPIsRefused: an https JWKS endpoint that
// redirects to plain http is a fault, not a source of keys: anyone on the
// http leg could replace them, which is what Options.AllowHTTP (the
// validator's InsecureAllowHTTP) exists to permit knowingly. A redirect to
// another https URL is followed.
func TestJWKSRedirectToPlainHTTPIsRefused(t *testing.T) {
	k1, k2 := newFaultKey(t, "k1"), newFaultKey(t, "k2")
	plain := httptest.NewServer(answerJSON(set(k1.jwk(t), k2.jwk(t))))
	defer plain.Close()
	tlsAlso := httptest.NewTLSServer(answerJSON(set(k1.jwk(t), k2.jwk(t))))
	defer tlsAlso.Close()
	for _, tt := range []struct {
		name      string
		target    string
		allowHTTP bool
		loads     bool
	}{
		{name: "to http", target: plain.URL + "/jwks"},
		{name: "to http, AllowHTTP", target: plain.URL + "/jwks", allowHTTP: true, loads: true},
		{name: "to another https URL", target: tlsAlso.URL + "/jwks", loads: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var redirect atomic.Bool
			srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if redirect.Load() {
					http.Redirect(w, r, tt.target, http.StatusFound)
					return
				}
				answerJSON(set(k1.jwk(t)))(w, r)
			}))
			defer srv.Close()
			// One client trusts both test certificates (httptest uses the same one).
			client := srv.Client()
			defer client.CloseIdleConnections()
			clock := &fakeClock{now: time.Unix(1e9, 0)}
			ks, err := New(Options{
				Issuer: srv.URL + "/oidc", URL: srv.URL + "/oidc/jwks", Client: client,
				RefreshInterval: time.Hour, Cooldown: faultCooldown, AllowHTTP: tt.allowHTTP, Now: clock.Now,
			})
			require.NoError(t, err)
			defer ks.Close()
			require.True(t, refreshUntil(ks, clock, "k1"))

			redirect.Store(true)
			clock.Add(faultCooldown)
			_, err = ks.KeyRead(context.Background(), "k2")
			if tt.loads {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, ErrNotFound, "keys fetched over plain http are not loaded")
			assert.ElementsMatch(t, []string{"k1"}, keyIDs(ks), "the last good keys are kept")
		})
	}
}
