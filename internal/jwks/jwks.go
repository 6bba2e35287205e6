// Package jwks keeps one issuer's JSON Web Key Set (RFC 7517) fresh for the
// validator: it discovers the JWKS URL, fetches and parses the set, refreshes
// it in the background and on an unknown "kid", and serves keys to
// keyfunc/v3 through the jwkset.Storage interface.
//
// Why not jwkset.NewStorageFromHTTP: its refresh cannot be shared by
// concurrent callers without blocking them on a rate limiter (keyfunc's
// default makes a request wait up to a minute), it ignores Cache-Control, has
// no response size cap, drops the whole set when one key is bad, and
// replaces good keys with an empty set. Parsing, validation and conversion of
// each key are still jwkset's (NewJWKFromMarshal), and the kid → key step is
// keyfunc's.
package jwks

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"github.com/seed31d61d31/authz/internal/ecverify"
	"github.com/seed31d61d31/authz/internal/pkcs1"
)

var (
	// ErrUnavailable means no key set has been loaded yet (or ever).
	ErrUnavailable = errors.New("jwks: keys unavailable")
	// ErrNotFound means the set has no key with the requested kid.
	ErrNotFound = fmt.Errorf("jwks: %w", jwkset.ErrKeyNotFound)
)

// Defaults and bounds.
const (
	DefaultMaxBytes = 1 << 20 // cap on a JWKS or discovery response body
	DefaultTimeout  = 10 * time.Second
	// minRefresh is the floor under a Cache-Control max-age: Logto answers
	// "no-cache, max-age=0", which means "revalidate freely", not "fetch on
	// every request".
	minRefresh = 5 * time.Minute
	// firstRetry is the first back-off after a failed background fetch.
	firstRetry = time.Second
)

// Options configures a Set. Issuer is required; zero values take defaults.
type Options struct {
	Issuer          string           // the issuer identifier, exactly as in "iss"
	URL             string           // the JWKS URL; "" means discover it
	Client          *http.Client     // default http.DefaultClient
	RefreshInterval time.Duration    // upper bound between background fetches
	Cooldown        time.Duration    // minimum time between on-demand fetches
	Timeout         time.Duration    // per fetch, default DefaultTimeout
	MaxBytes        int64            // response body cap, default DefaultMaxBytes
	AllowHTTP       bool             // accept an http:// jwks_uri from discovery, and a redirect from https to http
	PrepareKeys     bool             // prepared verifiers for ES384, ES256 (on a key's first use) and RS* keys (when they load)
	Now             func() time.Time // clock for the cooldown
	Logger          *slog.Logger
	// OnRefresh is called after every fetch, successful or not, from the
	// fetching goroutine. May be nil.
	OnRefresh func(Event)
}

// Set is one issuer's key set. It is safe for concurrent use. Reads are a
// single atomic load; only an unknown kid takes the lock.
type Set struct {
	// Storage is nil: a Set is the jwkset.Storage that keyfunc reads, and
	// keyfunc calls only KeyRead and KeyReadAll, defined below. Any other
	// Storage method would panic; TestKeyfuncOnlyReads shows none is
	// called.
	jwkset.Storage

	opts       Options
	keys       atomic.Pointer[keyMap]
	epoch      atomic.Uint64 // counts fetches that removed a key
	kf         keyfunc.Keyfunc
	loaded     chan struct{} // closed when the first keys are stored
	loadedOnce sync.Once

	mu       sync.Mutex
	inflight *call
	last     time.Time // start of the last fetch (the clock's time)
	lastErr  error     // the last fetch's error; nil after a success

	url       string        // resolved JWKS URL; only the fetching goroutine touches it
	done      chan struct{} // closed by Close
	buildMu   sync.Mutex    // see build
	closeOnce sync.Once
	wg        sync.WaitGroup
}

type keyMap struct {
	byKID map[string]jwkset.JWK
	// ec and rsa hold the prepared verifiers of the ES384 and ES256 keys
	// and of the RS256/RS384/RS512 keys, by kid (Options.PrepareKeys).
	ec  map[string]*ecSlot
	rsa map[string]*pkcs1.Verifier
}

// ecSlot is where the prepared verifier of one ES384 or ES256 key goes. A
// table costs hundreds of kilobytes (ecverify.P384TableBytes), so it is
// built only for a key that tokens name: in the background, the first time
// one does. Until it is ready, that key's signatures go to crypto/ecdsa.
type ecSlot struct {
	pub     *ecdsa.PublicKey
	v       atomic.Pointer[ecverify.Verifier]
	started atomic.Bool // a build was started, or v was carried over
}

// maxPrepared bounds the keys of one set that get a prepared verifier of
// one kind (an ES384 table is about ecverify.P384TableBytes). Logto publishes at
// most three.
const maxPrepared = 8

type call struct {
	done chan struct{}
	next time.Duration // when to fetch again, after success
	err  error
}

// New starts a Set: the first fetch begins at once in the background, so New
// never blocks on, or fails because of, an unreachable issuer.
func New(opts Options) (*Set, error) {
	if opts.Client == nil {
		opts.Client = http.DefaultClient
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.Client = guardRedirects(opts.Client, opts.AllowHTTP)
	s := &Set{opts: opts, url: opts.URL, loaded: make(chan struct{}), done: make(chan struct{})}
	s.keys.Store(&keyMap{})
	kf, err := keyfunc.New(keyfunc.Options{Storage: s})
	if err != nil {
		return nil, err
	}
	s.kf = kf
	s.wg.Add(1)
	go s.loop()
	return s, nil
}

// Close stops background work and waits for it to end.
func (s *Set) Close() {
	s.closeOnce.Do(func() {
		s.buildMu.Lock()
		close(s.done)
		s.buildMu.Unlock()
	})
	s.wg.Wait()
}

// closed reports whether Close has been called.
func (s *Set) closed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// fetchContext bounds one fetch by the timeout and by Close.
func (s *Set) fetchContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// Keyfunc returns keyfunc's jwt.Keyfunc over this set; ctx bounds the wait
// for an on-demand refresh.
func (s *Set) Keyfunc(ctx context.Context) jwt.Keyfunc {
	return s.kf.KeyfuncCtx(ctx)
}

// ECDSA returns the prepared verifier of the ES384 or ES256 key under kid,
// if there is one for key, the key keyfunc returned for that kid (a refresh
// in between may have replaced it), and nil otherwise. The first call for
// a key starts building its verifier in the background and returns nil:
// the caller verifies with the standard library meanwhile, and no request
// ever waits for a table.
func (s *Set) ECDSA(kid string, key any) *ecverify.Verifier {
	slot := s.keys.Load().ec[kid]
	if slot == nil || any(slot.pub) != key {
		return nil
	}
	if v := slot.v.Load(); v != nil {
		return v
	}
	if slot.started.CompareAndSwap(false, true) {
		s.build(slot)
	}
	return nil
}

// build computes slot's verifier in a goroutine of its own, unless the set
// is closed. buildMu orders the WaitGroup's Add before Close's Wait.
func (s *Set) build(slot *ecSlot) {
	s.buildMu.Lock()
	defer s.buildMu.Unlock()
	if s.closed() {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if v, err := ecverify.New(slot.pub); err == nil { // else the standard library decides
			slot.v.Store(v)
		}
	}()
}

// RSA returns the prepared PKCS #1 v1.5 verifier of the RSA key under kid,
// if there is one for key, the key keyfunc returned for that kid, and nil
// otherwise.
func (s *Set) RSA(kid string, key any) *pkcs1.Verifier {
	v := s.keys.Load().rsa[kid]
	if v == nil || any(v.Key()) != key {
		return nil
	}
	return v
}

// Issuer returns the issuer identifier the set was made for.
func (s *Set) Issuer() string { return s.opts.Issuer }

// Epoch counts the fetches that removed a key from the set. A verification
// that read the epoch before looking up its key is still good while the
// epoch is unchanged.
func (s *Set) Epoch() uint64 { return s.epoch.Load() }

// Void advances the epoch: every verification that read the epoch before
// is void, as after a refresh that removed a key. The validator voids the
// set of an issuer it stops trusting.
func (s *Set) Void() { s.epoch.Add(1) }

// Loaded reports whether a key set has been loaded.
func (s *Set) Loaded() bool {
	return s.keys.Load().byKID != nil
}

// Ready waits until the set has keys, or ctx ends; then it returns an
// error wrapping ErrUnavailable and the last fetch's error, if any.
func (s *Set) Ready(ctx context.Context) error {
	select {
	case <-s.loaded:
		return nil
	case <-ctx.Done():
		if err := s.lastError(); err != nil {
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
	}
}

// lastError is the error of the last fetch, nil after a success.
func (s *Set) lastError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr
}

// KeyRead implements jwkset.Storage for keyfunc. A kid not in the set starts
// (or joins) one on-demand fetch, unless a fetch started less than Cooldown
// ago: then it fails at once. No caller ever waits on a rate limiter.
func (s *Set) KeyRead(ctx context.Context, kid string) (jwkset.JWK, error) {
	if jwk, ok := s.keys.Load().byKID[kid]; ok {
		return jwk, nil
	}
	if _, err := s.refresh(ctx, true); err != nil && !s.Loaded() {
		if errors.Is(err, errCooldown) {
			// Say why there are no keys, not why there was no new
			// attempt.
			if last := s.lastError(); last != nil {
				err = last
			}
		}
		return jwkset.JWK{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	m := s.keys.Load()
	if jwk, ok := m.byKID[kid]; ok {
		return jwk, nil
	}
	if m.byKID == nil {
		return jwkset.JWK{}, ErrUnavailable
	}
	return jwkset.JWK{}, ErrNotFound
}

// KeyReadAll implements jwkset.Storage.
func (s *Set) KeyReadAll(context.Context) ([]jwkset.JWK, error) {
	m := s.keys.Load().byKID
	all := make([]jwkset.JWK, 0, len(m))
	for _, jwk := range m {
		all = append(all, jwk)
	}
	return all, nil
}

// refresh runs one fetch, or joins the one in flight, and returns its
// result. With onDemand, a fetch is refused while the cooldown since the last
// one runs. The fetch is bound to the Set's lifetime (Close), not to ctx, so one
// caller giving up does not cancel it for the others; ctx bounds this
// caller's wait only.
func (s *Set) refresh(ctx context.Context, onDemand bool) (time.Duration, error) {
	s.mu.Lock()
	c := s.inflight
	if c == nil {
		now := s.opts.Now()
		if onDemand && !s.last.IsZero() && now.Sub(s.last) < s.opts.Cooldown {
			s.mu.Unlock()
			return 0, errCooldown
		}
		c = &call{done: make(chan struct{})}
		s.inflight = c
		s.last = now
		s.wg.Add(1)
		go s.run(c)
	}
	s.mu.Unlock()
	select {
	case <-c.done:
		return c.next, c.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

var errCooldown = errors.New("jwks: refresh cooldown in effect")

func (s *Set) run(c *call) {
	defer s.wg.Done()
	c.next, c.err = s.fetch()
	s.mu.Lock()
	s.inflight, s.lastErr = nil, c.err
	s.mu.Unlock()
	close(c.done)
}

// loop fetches at start, then on schedule: the Cache-Control max-age clamped
// to [minRefresh, RefreshInterval], with exponential back-off after a failure.
func (s *Set) loop() {
	defer s.wg.Done()
	backoff := firstRetry
	for {
		// The fetch ends at Close, and so does the wait for it.
		next, err := s.refresh(context.Background(), false)
		if s.closed() {
			return
		}
		if err != nil {
			next = min(backoff, s.opts.RefreshInterval)
			backoff *= 2
		} else {
			backoff = firstRetry
		}
		if !s.sleep(next) {
			return
		}
	}
}

func (s *Set) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.done:
		return false
	}
}
