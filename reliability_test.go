package authz_test

// Reliability under faults, floods and churn (issue 4, parts 3 and 4):
//
//   - TestValidatorKeepsLastGoodKeysThroughJWKSFaults: the JWKS endpoint
//     fails in the main ways internal/jwks/faults_test.go injects (which
//     covers every fault at the key-set level), seen from Validate;
//   - TestUnknownKIDStampede: 10,000 concurrent validations with random
//     unknown kids cause at most one JWKS fetch per cooldown;
//   - TestValidationsSucceedWhileKeysRotate: keys rotate every few
//     milliseconds under concurrent validation, and the exact property
//     stated on the test holds for every single validation.
//
// Time is a fake clock shared by the issuer and the validator; nothing here
// waits for wall-clock time, except a JWKS request that hangs until the
// client's timeout, and goroutine counts polled after Close.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
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

// relTimeout bounds each JWKS request (through http.Client.Timeout, as a
// user would set it) of a validator whose JWKS endpoint will hang; the other
// validators keep the default (10 s), so that no good fetch can time out on
// a loaded machine.
const relTimeout = 200 * time.Millisecond

// relQuiet is a logger that drops everything: failed fetches are expected.
var relQuiet = authz.WithLogger(slog.New(slog.DiscardHandler))

// relRace reports whether the test binary was built with -race, whose
// detector allows at most 8128 live goroutines.
func relRace() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// relWithKID returns tok with its header's "kid" replaced by kid; the
// payload and signature are kept, so the signature no longer verifies.
func relWithKID(t testing.TB, tok, kid string) string {
	t.Helper()
	parts := strings.SplitN(tok, ".", 3)
	require.Len(t, parts, 3)
	raw, err := base64.RawURLEncoding.DecodeString(parts[0])
	require.NoError(t, err)
	var h map[string]any
	require.NoError(t, json.Unmarshal(raw, &h))
	h["kid"] = kid
	raw, err = json.Marshal(h)
	require.NoError(t, err)
	return base64.RawURLEncoding.EncodeToString(raw) + "." + parts[1] + "." + parts[2]
}

// relKIDOf returns the "kid" of tok's header.
func relKIDOf(tok string) string {
	head, _, _ := strings.Cut(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return ""
	}
	var h struct {
		KID string `json:"kid"`
	}
	_ = json.Unmarshal(raw, &h)
	return h.KID
}

// relKind returns the Kind of an *authz.Error, or nil.
func relKind(err error) error {
	var e *authz.Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return nil
}

// relWaitGoroutines polls by hand (assert.Eventually starts goroutines of
// its own) until at most base goroutines run, or a generous deadline.
func relWaitGoroutines(t *testing.T, base int) {
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

// relLoad validates tok, refreshing the keys (the clock past the cooldown)
// and trying again when they lack tok's key, at most five times. More than
// one try is needed only when a good fetch ran past a short client timeout
// on a loaded machine, or joined a fetch that started before the endpoint
// healed.
func relLoad(ctx context.Context, v *authz.Validator, c *clock, tok string) error {
	var err error
	for range 5 {
		if _, err = v.Validate(ctx, tok); err == nil {
			return nil
		}
		if k := relKind(err); k != authz.ErrKeysUnavailable && k != authz.ErrUnknownKey {
			return err
		}
		c.Add(authz.DefaultRefreshCooldown)
	}
	return err
}

// relProxy stands between a validator and an authztest issuer's JWKS: it
// forwards until a test gives it a fault to answer with.
type relProxy struct {
	srv      *httptest.Server
	upstream string
	client   *http.Client // to the issuer
	mu       sync.Mutex
	fault    http.HandlerFunc // nil: forward
	hits     atomic.Int64
	release  chan struct{}
	once     sync.Once
}

func newRelProxy(upstream string) *relProxy {
	p := &relProxy{upstream: upstream, client: &http.Client{Transport: &http.Transport{}}, release: make(chan struct{})}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.hits.Add(1)
		p.mu.Lock()
		fault := p.fault
		p.mu.Unlock()
		if fault != nil {
			fault(w, r)
			return
		}
		status, body, err := p.get()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status) // the issuer's, e.g. 503 during its outage
		_, _ = w.Write(body)
	}))
	return p
}

func (p *relProxy) jwksURL() string { return p.srv.URL + "/oidc/jwks" }

func (p *relProxy) set(fault http.HandlerFunc) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fault = fault
}

// get fetches the issuer's JWKS.
func (p *relProxy) get() (status int, body []byte, err error) {
	resp, err := p.client.Get(p.upstream)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// withKeys answers with the issuer's keys, edited by edit.
func (p *relProxy) withKeys(edit func(keys []json.RawMessage) (map[string]any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		status, body, err := p.get()
		if err == nil && status != http.StatusOK {
			err = fmt.Errorf("the issuer answered %d", status)
		}
		var set struct {
			Keys []json.RawMessage `json:"keys"`
		}
		if err == nil {
			err = json.Unmarshal(body, &set)
		}
		var doc map[string]any
		if err == nil {
			doc, err = edit(set.Keys)
		}
		if err == nil {
			body, err = json.Marshal(doc)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}
}

func (p *relProxy) close() {
	p.once.Do(func() {
		close(p.release)
		p.srv.Close()
		p.client.CloseIdleConnections()
	})
}

// TestValidatorKeepsLastGoodKeysThroughJWKSFaults: for each fault of the
// JWKS endpoint, after the issuer rotated to a new key:
//
//   - a token of the new key fails with ErrUnknownKey (401), never
//     ErrKeysUnavailable (503), since keys are loaded; one fetch is made,
//     none more inside the cooldown;
//   - tokens of the last good keys keep validating, cached or not;
//   - a set with a bad key among good ones loads the good ones;
//   - once the endpoint heals, the next refresh loads the new key;
//   - after Close, no goroutine is left.
func TestValidatorKeepsLastGoodKeysThroughJWKSFaults(t *testing.T) {
	badKey := json.RawMessage(`{"kty":"EC","crv":"P-384","kid":"bad","x":"AAAA","y":"AAAA"}`)
	tests := []struct {
		name string
		// fault is the proxy's answer; nil means the issuer itself is down
		// (authztest's SetUnavailable: 503).
		fault func(p *relProxy) http.HandlerFunc
		// newKeyLoads: the faulty answer still carries the new key, which
		// must load.
		newKeyLoads bool
		// hangs: the fault is a request that never ends; the validator's
		// client gets the short relTimeout.
		hangs bool
	}{
		{name: "issuer down (503)"},
		{name: "500", fault: func(*relProxy) http.HandlerFunc {
			return func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "oops", 500) }
		}},
		{name: "hangs past the client timeout", hangs: true, fault: func(p *relProxy) http.HandlerFunc {
			return func(_ http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-p.release:
				}
			}
		}},
		{name: "HTML", fault: func(*relProxy) http.HandlerFunc {
			return func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				_, _ = io.WriteString(w, "<!DOCTYPE html><html><body>Maintenance</body></html>")
			}
		}},
		{name: "malformed JSON", fault: func(*relProxy) http.HandlerFunc {
			return func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, `{"keys":[{"kty":"EC"`) }
		}},
		{name: "empty set", fault: func(*relProxy) http.HandlerFunc {
			return func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, `{"keys":[]}`) }
		}},
		{name: "over the 1 MiB cap, with the new key in it", fault: func(p *relProxy) http.HandlerFunc {
			return p.withKeys(func(keys []json.RawMessage) (map[string]any, error) {
				return map[string]any{"keys": keys, "padding": strings.Repeat("A", 1<<20)}, nil
			})
		}},
		{name: "the issuer's keys with a bad key among them", newKeyLoads: true, fault: func(p *relProxy) http.HandlerFunc {
			return p.withKeys(func(keys []json.RawMessage) (map[string]any, error) {
				return map[string]any{"keys": append([]json.RawMessage{badKey, json.RawMessage(`{"kty":"XYZ","kid":"x"}`)}, keys...)}, nil
			})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := runtime.NumGoroutine()
			ctx := context.Background()
			c := newClock()
			iss, err := authztest.NewIssuer(authztest.WithClock(c.Now))
			require.NoError(t, err)
			defer iss.Close()
			p := newRelProxy(iss.JWKSURL())
			defer p.close()
			transport := &http.Transport{}
			defer transport.CloseIdleConnections()
			client := &http.Client{Transport: transport}
			if tt.hangs {
				client.Timeout = relTimeout
			}
			v, err := authz.New(iss.URL(), []string{api},
				authz.WithJWKSURL(iss.URL(), p.jwksURL()), authz.WithHTTPClient(client),
				authz.WithClock(c.Now), relQuiet)
			require.NoError(t, err)
			defer v.Close()
			m := must(t)

			cached := m(iss.APIToken(api, authztest.Subject("cached")))
			require.NoError(t, relLoad(ctx, v, c, cached), "keys load")
			fresh := m(iss.APIToken(api, authztest.Subject("fresh"))) // same key, never validated yet

			// The issuer rotates; the endpoint fails; a token of the new
			// key arrives after the cooldown.
			iss.RotateKeys()
			newTok := m(iss.APIToken(api, authztest.Subject("new")))
			if tt.fault == nil {
				iss.SetUnavailable(true)
			} else {
				p.set(tt.fault(p))
			}
			c.Add(authz.DefaultRefreshCooldown)
			hits := p.hits.Load()
			_, err = v.Validate(ctx, newTok)
			if tt.newKeyLoads {
				assert.NoError(t, err, "the good keys of the answer load")
			} else {
				assert.Equal(t, authz.ErrUnknownKey, relKind(err), "keys are loaded: a 401 for this token, not a 503; got %v", err)
			}
			// One fetch. One that times out may do so before its request
			// reaches the proxy, or reach it late: with a hang, count "at
			// most", below.
			if !tt.hangs {
				assert.Equal(t, hits+1, p.hits.Load(), "one fetch for the unknown kid")
			}

			// The last good keys keep validating: from the cache, and
			// through the key set for a token never seen.
			_, err = v.Validate(ctx, cached)
			assert.NoError(t, err, "a cached token")
			_, err = v.Validate(ctx, fresh)
			assert.NoError(t, err, "an uncached token of the last good key")
			_, err = v.Validate(ctx, newTok)
			if !tt.newKeyLoads {
				assert.Equal(t, authz.ErrUnknownKey, relKind(err), "inside the cooldown: fails at once; got %v", err)
			}
			if tt.hangs {
				assert.LessOrEqual(t, p.hits.Load(), hits+1, "one fetch at most, none more inside the cooldown")
			} else {
				assert.Equal(t, hits+1, p.hits.Load(), "the failing endpoint is not asked again inside the cooldown")
			}

			// The endpoint heals: the next refresh brings the new key.
			iss.SetUnavailable(false)
			p.set(nil)
			c.Add(authz.DefaultRefreshCooldown)
			assert.NoError(t, relLoad(ctx, v, c, newTok), "the new key, after the endpoint healed")
			_, err = v.Validate(ctx, fresh)
			assert.NoError(t, err, "the previous key is still published")

			v.Close()
			p.close()
			iss.Close()
			transport.CloseIdleConnections()
			relWaitGoroutines(t, base)
		})
	}
}

// TestUnknownKIDStampede: 10,000 concurrent validations, each with a random
// kid the issuer never published (and 1 in 100 a valid token), cause at most
// one JWKS fetch per cooldown, counted at the issuer. Every unknown kid fails
// with ErrUnknownKey (never ErrKeysUnavailable: keys are loaded) and every
// valid token validates. Under -race (whose detector allows 8128 live
// goroutines, and makes each one costly) 2,500 goroutines validate four
// tokens each.
func TestUnknownKIDStampede(t *testing.T) {
	const total = 10_000
	goroutines := total
	if relRace() {
		goroutines = total / 4
	}
	f := newFixture(t, []string{api}, []authztest.Option{authztest.WithAlgorithm("ES256")}, relQuiet)
	ctx := context.Background()
	m := must(t)
	longLived := authztest.ExpiresAt(f.clock.Now().Add(24 * time.Hour))
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 4))

	_, err := f.v.Validate(ctx, m(f.iss.APIToken(api, longLived)))
	require.NoError(t, err, "keys load")
	fetches := f.iss.JWKSRequests() // the first load

	// An attacker's token: right issuer, audience and lifetime, a random
	// kid, any signature (it is never checked: the kid finds no key).
	claims := base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, `{"iss":%q,"aud":%q,"exp":%d}`,
		f.iss.URL(), api, f.clock.Now().Add(time.Hour).Unix()))
	sig := base64.RawURLEncoding.EncodeToString(make([]byte, 64))
	tokens := make([]string, total)
	valid := make(map[int]bool)
	for i := range tokens {
		if i%100 == 0 {
			tokens[i] = m(f.iss.APIToken(api, longLived))
			valid[i] = true
			continue
		}
		header := fmt.Appendf(nil, `{"alg":"ES256","typ":"at+jwt","kid":"%016x%016x"}`, rng.Uint64(), rng.Uint64())
		tokens[i] = base64.RawURLEncoding.EncodeToString(header) + "." + claims + "." + sig
	}

	// flood validates every token at once; tick(i), if set, runs before
	// token i. It returns how many outcomes were wrong, and the first one.
	flood := func(tick func(i int)) (wrong int64, first string) {
		var (
			wg      sync.WaitGroup
			start   = make(chan struct{})
			bad     atomic.Int64
			firstMu sync.Mutex
		)
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for i := g; i < total; i += goroutines {
					if tick != nil {
						tick(i)
					}
					_, err := f.v.Validate(ctx, tokens[i])
					ok := err == nil
					if !valid[i] {
						ok = relKind(err) == authz.ErrUnknownKey
					}
					if !ok && bad.Add(1) == 1 {
						firstMu.Lock()
						first = fmt.Sprintf("token %d (valid %t): %v", i, valid[i], err)
						firstMu.Unlock()
					}
				}
			}()
		}
		close(start)
		wg.Wait()
		return bad.Load(), first
	}

	wrong, first := flood(nil)
	assert.Zero(t, wrong, first)
	assert.Equal(t, fetches, f.iss.JWKSRequests(), "inside the cooldown of the first load: no fetch")

	f.clock.Add(authz.DefaultRefreshCooldown)
	wrong, first = flood(nil)
	assert.Zero(t, wrong, first)
	assert.Equal(t, fetches+1, f.iss.JWKSRequests(), "the cooldown has passed: exactly one fetch")

	// The clock moves during the flood: 12 steps of a quarter cooldown,
	// three cooldowns in all. Fetches start at least a cooldown apart, and
	// the last one was at the start: at most three. The validation after
	// the last step is allowed to fetch: at least one.
	fetches = f.iss.JWKSRequests()
	step := total / 12
	wrong, first = flood(func(i int) {
		if i > 0 && i%step == 0 && i/step <= 12 {
			f.clock.Add(authz.DefaultRefreshCooldown / 4)
		}
	})
	assert.Zero(t, wrong, first)
	got := f.iss.JWKSRequests() - fetches
	assert.GreaterOrEqual(t, got, 1)
	assert.LessOrEqual(t, got, 3, "at most one fetch per cooldown while the clock moved three cooldowns")
}

// relKeys records, for the churn test, which kids the validator is known to
// hold and which kids have left (or are about to leave) the issuer's JWKS.
type relKeys struct {
	mu      sync.RWMutex
	known   map[string]bool
	dropped map[string]bool
}

func (k *relKeys) isKnown(kid string) bool {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.known[kid]
}

func (k *relKeys) isDropped(kid string) bool {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.dropped[kid]
}

func (k *relKeys) markKnown(kid string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.known[kid] = true
}

func (k *relKeys) markDropped(kid string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if kid != "" {
		k.dropped[kid] = true
	}
}

// TestValidationsSucceedWhileKeysRotate rotates the issuer's keys every few
// milliseconds while workers mint tokens with the current key and validate
// them at once. Rotations are staged (StageNextKey, then RotateKeys, as
// Logto does) or immediate (RotateKeys alone), chosen at random, and every
// third round drops the previous key. The fake clock is advanced by the
// rotator, so unknown kids trigger refreshes.
//
// The property, for every validation of a token signed by key K:
//
//  1. it returns the token's own claims, or fails with ErrUnknownKey;
//     nothing else (no ErrSignature, no ErrKeysUnavailable, no panic);
//  2. once the validator has completed a fetch that included K, it must
//     succeed for as long as K stays in the JWKS. A fetch that starts after
//     K is published includes it, and one starts at the first unknown kid
//     after the cooldown: ErrUnknownKey for a published K is possible only
//     inside the cooldown after the previous fetch (or while a fetch that
//     started before K was published is in flight).
//
// Here "completed a fetch that included K" is observed by the rotator: it
// probes the validator with a token naming K whose signature is wrong, and
// ErrSignature (rather than ErrUnknownKey) proves K is in the key set; only
// then does it mark K known. A worker reads the mark before it validates: a
// token of a known key that fails, while the key was not dropped, breaks
// the property. With staged rotation every key is known before it signs, so
// staged rounds have no failures at all. And the other way round: once a
// fetch after a key's removal completes, a token of that key fails, even
// one that sits in the verified-token cache.
func TestValidationsSucceedWhileKeysRotate(t *testing.T) {
	rounds, workers := 400, 4
	if relRace() {
		rounds = 200
	}
	// ES256: P-256 has assembly on amd64, so the race detector slows it
	// less than Logto's default P-384; the algorithm plays no part here.
	f := newFixture(t, []string{api}, []authztest.Option{authztest.WithAlgorithm("ES256")}, relQuiet)
	ctx := context.Background()
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 9))
	// Tokens outlive every clock step the rotator makes (under a day in
	// all), so that no validation fails for time.
	lifetime := func() authztest.TokenOption {
		return authztest.ExpiresAt(f.clock.Now().Add(30 * 24 * time.Hour))
	}
	mint := func(opts ...authztest.TokenOption) (string, error) {
		return f.iss.APIToken(api, append(opts, lifetime())...)
	}

	keys := &relKeys{known: map[string]bool{}, dropped: map[string]bool{}}
	first, err := mint()
	require.NoError(t, err)
	_, err = f.v.Validate(ctx, first)
	require.NoError(t, err)
	keys.markKnown(f.iss.KeyID())

	// probe makes the validator hold kid: a token naming kid, signed by the
	// current key, fails with ErrSignature (or validates, when kid is the
	// current key) once kid is in the key set, and with ErrUnknownKey
	// before (after a refresh, if the cooldown allows).
	probe := func(kid string) error {
		for attempt := 0; attempt < 10; attempt++ {
			tok, err := mint()
			if err != nil {
				return err
			}
			_, err = f.v.Validate(ctx, relWithKID(t, tok, kid))
			switch relKind(err) {
			case nil, authz.ErrSignature: // nil: kid is the key tok is signed with
				return nil
			case authz.ErrUnknownKey:
				f.clock.Add(authz.DefaultRefreshCooldown) // let the next miss fetch
			default:
				return fmt.Errorf("probe of %s: %v", kid, err)
			}
		}
		return fmt.Errorf("kid %s still unknown after 10 refreshes", kid)
	}

	var (
		done       = make(chan struct{})
		stopOnce   sync.Once
		permits    = make(chan struct{}, 64) // validations the rotator allows
		completed  atomic.Int64              // validations done
		tick       = make(chan struct{}, 1)  // a validation was done
		wg         sync.WaitGroup
		successes  atomic.Int64
		unknowns   atomic.Int64
		violations atomic.Int64
		reportMu   sync.Mutex
		reports    []string
	)
	violate := func(format string, args ...any) {
		if violations.Add(1) <= 10 {
			reportMu.Lock()
			reports = append(reports, fmt.Sprintf(format, args...))
			reportMu.Unlock()
		}
	}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := 0; ; it++ {
				select {
				case <-done:
					return
				case <-permits:
				}
				jti := fmt.Sprintf("w%d-%d", w, it)
				tok, err := mint(authztest.Claim("jti", jti))
				if err != nil {
					violate("mint: %v", err)
					return
				}
				kid := relKIDOf(tok)
				wasKnown := keys.isKnown(kid)
				c, err := f.v.Validate(ctx, tok)
				switch {
				case err == nil && c.TokenID == jti:
					successes.Add(1)
				case err == nil:
					violate("token %s validated with the claims of %s", jti, c.TokenID)
				case relKind(err) != authz.ErrUnknownKey:
					violate("token %s (kid %s): %v", jti, kid, err)
				case wasKnown && !keys.isDropped(kid):
					violate("token %s: kid %s was in the key set and is still published, yet: %v", jti, kid, err)
				default:
					unknowns.Add(1)
				}
				completed.Add(1)
				select {
				case tick <- struct{}{}:
				default:
				}
			}
		}()
	}
	workersDone := make(chan struct{})
	go func() { wg.Wait(); close(workersDone) }()
	stop := func() {
		stopOnce.Do(func() { close(done) })
		<-workersDone
	}
	defer stop() // also when a require below ends the test early

	// The rotator. prev is the previous key, still published; prevTok a
	// token it signed, validated (so cached) while it was current.
	var prev, prevTok string
	cur, curTok := f.iss.KeyID(), first
	staged, revoked, permitted := 0, 0, 0
	for round := 0; round < rounds; round++ {
		// Let the workers validate a few tokens under the current keys;
		// wait for half of them: the others overlap the rotation.
		for range 4 * workers {
			select {
			case permits <- struct{}{}: // the buffer holds four rounds' worth
			case <-workersDone:
			}
		}
		permitted += 4 * workers
	wait:
		for completed.Load() < int64(permitted-2*workers) {
			select {
			case <-tick:
			case <-workersDone:
				break wait
			}
		}
		if rng.IntN(2) == 0 { // staged, as Logto: published before it signs
			next := f.iss.StageNextKey()
			require.NoError(t, probe(next))
			keys.markKnown(next)
			staged++
		}
		keys.markDropped(prev) // RotateKeys drops the previous key
		prev, prevTok = cur, curTok
		cur = f.iss.RotateKeys()
		require.NoError(t, probe(cur))
		keys.markKnown(cur)
		curTok, err = mint()
		require.NoError(t, err)
		_, err = f.v.Validate(ctx, curTok)
		require.NoError(t, err, "a token of the key just rotated in")

		if round%3 == 2 { // delete the previous key, as an admin may
			_, err = f.v.Validate(ctx, prevTok)
			require.NoError(t, err, "the previous key validates while published (cached)")
			keys.markDropped(prev)
			f.iss.DropPreviousKey()
			revokedOK := false
			for attempt := 0; attempt < 10 && !revokedOK; attempt++ {
				f.clock.Add(authz.DefaultRefreshCooldown)
				_, _ = f.v.Validate(ctx, relWithKID(t, curTok, fmt.Sprintf("refresh-%d-%d", round, attempt)))
				_, err = f.v.Validate(ctx, prevTok)
				revokedOK = relKind(err) == authz.ErrUnknownKey
			}
			require.True(t, revokedOK, "a cached token of a deleted key stops validating after a refresh: %v", err)
			prev, prevTok = "", ""
			revoked++
		}
	}
	stop()

	reportMu.Lock()
	for _, r := range reports {
		t.Error(r)
	}
	reportMu.Unlock()
	assert.Zero(t, violations.Load(), "validations that broke the property")
	assert.Greater(t, successes.Load(), int64(rounds), "validations kept succeeding")
	t.Logf("%d rounds (%d staged, %d keys deleted), %d validations: %d succeeded, %d failed with ErrUnknownKey while allowed; %d JWKS fetches",
		rounds, staged, revoked, successes.Load()+unknowns.Load(), successes.Load(), unknowns.Load(), f.iss.JWKSRequests())

	// Quiet again: a token of the current key validates.
	f.clock.Add(authz.DefaultRefreshCooldown)
	tok, err := mint()
	require.NoError(t, err)
	_, err = f.v.Validate(ctx, tok)
	assert.NoError(t, err)
}
