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
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

var (
	// ErrUnavailable means no key set has been loaded yet (or ever).
	ErrUnavailable = errors.New("jwks: keys unavailable")
	// ErrNotFound means the set has no key with the requested kid.
	ErrNotFound = fmt.Errorf("jwks: %w", jwkset.ErrKeyNotFound)
	// errReadOnly is returned by the Storage methods that would write.
	errReadOnly = errors.New("jwks: the key set is read-only")
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
	Now             func() time.Time // clock for the cooldown
	Logger          *slog.Logger
	// OnRefresh is called after every fetch, successful or not, from the
	// fetching goroutine. May be nil.
	OnRefresh func(Event)
}

// Set is one issuer's key set. It is safe for concurrent use. Reads are a
// single atomic load; only an unknown kid takes the lock.
type Set struct {
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

	url    string // resolved JWKS URL; only the fetching goroutine touches it
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type keyMap struct {
	byKID map[string]jwkset.JWK
}

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
	s := &Set{opts: opts, url: opts.URL, loaded: make(chan struct{})}
	s.keys.Store(&keyMap{})
	kf, err := keyfunc.New(keyfunc.Options{Storage: s})
	if err != nil {
		return nil, err
	}
	s.kf = kf
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(1)
	go s.loop()
	return s, nil
}

// Close stops background work and waits for it to end.
func (s *Set) Close() {
	s.cancel()
	s.wg.Wait()
}

// Keyfunc returns keyfunc's jwt.Keyfunc over this set; ctx bounds the wait
// for an on-demand refresh.
func (s *Set) Keyfunc(ctx context.Context) jwt.Keyfunc {
	return s.kf.KeyfuncCtx(ctx)
}

// Issuer returns the issuer identifier the set was made for.
func (s *Set) Issuer() string { return s.opts.Issuer }

// Epoch counts the fetches that removed a key from the set. A verification
// that read the epoch before looking up its key is still good while the
// epoch is unchanged.
func (s *Set) Epoch() uint64 { return s.epoch.Load() }

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

// The writing half of jwkset.Storage: the set changes only by fetching.

// KeyDelete implements jwkset.Storage; the set is read-only.
func (s *Set) KeyDelete(context.Context, string) (bool, error) { return false, errReadOnly }

// KeyReplaceAll implements jwkset.Storage; the set is read-only.
func (s *Set) KeyReplaceAll(context.Context, []jwkset.JWK) error { return errReadOnly }

// KeyWrite implements jwkset.Storage; the set is read-only.
func (s *Set) KeyWrite(context.Context, jwkset.JWK) error { return errReadOnly }

// JSON implements jwkset.Storage (public keys only).
func (s *Set) JSON(ctx context.Context) (json.RawMessage, error) { return s.JSONPublic(ctx) }

// JSONPublic implements jwkset.Storage.
func (s *Set) JSONPublic(ctx context.Context) (json.RawMessage, error) {
	return s.JSONWithOptions(ctx, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
}

// JSONPrivate implements jwkset.Storage; the set holds no private keys.
func (s *Set) JSONPrivate(ctx context.Context) (json.RawMessage, error) { return s.JSONPublic(ctx) }

// JSONWithOptions implements jwkset.Storage.
func (s *Set) JSONWithOptions(ctx context.Context, mo jwkset.JWKMarshalOptions, vo jwkset.JWKValidateOptions) (json.RawMessage, error) {
	m, err := s.MarshalWithOptions(ctx, mo, vo)
	if err != nil {
		return nil, err
	}
	return json.Marshal(m)
}

// Marshal implements jwkset.Storage.
func (s *Set) Marshal(ctx context.Context) (jwkset.JWKSMarshal, error) {
	return s.MarshalWithOptions(ctx, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
}

// MarshalWithOptions implements jwkset.Storage.
func (s *Set) MarshalWithOptions(ctx context.Context, mo jwkset.JWKMarshalOptions, vo jwkset.JWKValidateOptions) (jwkset.JWKSMarshal, error) {
	mem := jwkset.NewMemoryStorage()
	all, _ := s.KeyReadAll(ctx)
	for _, jwk := range all {
		_ = mem.KeyWrite(ctx, jwk)
	}
	return mem.MarshalWithOptions(ctx, mo, vo)
}

// refresh runs one fetch, or joins the one in flight, and returns its
// result. With onDemand, a fetch is refused while the cooldown since the last
// one runs. The fetch is bound to the Set's lifetime, not to ctx, so one
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
		next, err := s.refresh(s.ctx, false)
		if s.ctx.Err() != nil {
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
	case <-s.ctx.Done():
		return false
	}
}

// Event reports one fetch of the key set, successful or not.
type Event struct {
	Issuer  string
	URL     string   // the JWKS URL; "" if discovery failed
	Err     error    // nil on success; the previous keys are kept on failure
	Added   []string // kids that joined the set
	Removed []string // kids that left it
	Keys    int      // kids in the set after the fetch
	Initial bool     // the first successful fetch
}

// fetch loads the set once, swaps it in if it holds at least one usable key,
// logs what happened and reports it to OnRefresh. It returns how long the
// response may be used before the next fetch.
func (s *Set) fetch() (time.Duration, error) {
	next, ev := s.load()
	if ev.Err != nil && s.ctx.Err() != nil {
		return 0, ev.Err // Close ended the fetch: nothing failed
	}
	log := s.opts.Logger.With("issuer", s.opts.Issuer)
	switch {
	case ev.Err != nil && !s.Loaded():
		log.Warn("authz: JWKS fetch failed; no keys yet", "url", ev.URL, "error", ev.Err)
	case ev.Err != nil:
		log.Warn("authz: JWKS fetch failed; keeping the previous keys", "url", ev.URL, "error", ev.Err)
	case ev.Initial:
		log.Debug("authz: JWKS loaded", "url", ev.URL, "keys", ev.Added)
	case len(ev.Added) > 0 || len(ev.Removed) > 0:
		log.Info("authz: JWKS keys changed", "added", ev.Added, "removed", ev.Removed, "keys", ev.Keys)
	}
	if s.opts.OnRefresh != nil {
		s.opts.OnRefresh(ev)
	}
	return next, ev.Err
}

// load does the work of fetch.
func (s *Set) load() (time.Duration, Event) {
	ev := Event{Issuer: s.opts.Issuer, Keys: len(s.keys.Load().byKID)}
	ctx, cancel := context.WithTimeout(s.ctx, s.opts.Timeout)
	defer cancel()
	if s.url == "" {
		u, err := s.discover(ctx)
		if err != nil {
			ev.Err = fmt.Errorf("OIDC discovery: %w", err)
			return 0, ev
		}
		s.url = u
	}
	ev.URL = s.url
	body, header, err := s.get(ctx, s.url)
	if err != nil {
		ev.Err = err
		return 0, ev
	}
	var raw jwkset.JWKSMarshal
	if err := json.Unmarshal(body, &raw); err != nil {
		ev.Err = fmt.Errorf("JWKS is not a JSON key set: %w", err)
		return 0, ev
	}
	keys := make(map[string]jwkset.JWK, len(raw.Keys))
	for i, m := range raw.Keys {
		jwk, err := usable(m)
		if err == nil {
			if _, dup := keys[m.KID]; dup {
				err = errors.New("duplicate kid")
			}
		}
		if err != nil {
			s.opts.Logger.Warn("authz: JWKS key skipped", "issuer", s.opts.Issuer, "index", i, "kid", m.KID, "reason", err)
			continue
		}
		keys[m.KID] = jwk
	}
	if len(keys) == 0 {
		ev.Err = errors.New("JWKS has no usable signing key")
		return 0, ev
	}
	old := s.keys.Load().byKID
	ev.Initial = old == nil
	// A key replaced under its kid (other key material, or another "alg")
	// counts as removed, and its successor as added: tokens of the old key
	// must stop validating, from the cache too.
	for kid, jwk := range keys {
		if prev, ok := old[kid]; !ok || !sameKey(prev, jwk) {
			ev.Added = append(ev.Added, kid)
		}
	}
	for kid, prev := range old {
		if jwk, ok := keys[kid]; !ok || !sameKey(prev, jwk) {
			ev.Removed = append(ev.Removed, kid)
		}
	}
	// Swap, then bump the epoch. A verification reads the epoch before it
	// looks up its key: if it read the new epoch, its lookup came after the
	// swap and cannot find a removed key; if it found a removed key, it read
	// the old epoch, and its cache entry is void.
	s.keys.Store(&keyMap{byKID: keys})
	if len(ev.Removed) > 0 {
		s.epoch.Add(1)
	}
	s.loadedOnce.Do(func() { close(s.loaded) })
	ev.Keys = len(keys)
	return s.nextRefresh(header), ev
}

func (s *Set) nextRefresh(h http.Header) time.Duration {
	upper := s.opts.RefreshInterval
	maxAge, ok := parseMaxAge(h.Get("Cache-Control"))
	if !ok {
		return upper
	}
	return min(max(maxAge, min(minRefresh, upper)), upper)
}

func parseMaxAge(cc string) (time.Duration, bool) {
	for _, d := range strings.Split(cc, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(d), "=")
		if !ok || !strings.EqualFold(name, "max-age") {
			continue
		}
		n, err := strconv.ParseInt(strings.Trim(val, `"`), 10, 64)
		if err != nil || n < 0 {
			return 0, false
		}
		return time.Duration(min(n, int64(365*24*3600))) * time.Second, true
	}
	return 0, false
}

// discover reads the OIDC discovery document (OpenID Connect Discovery 1.0
// section 4). A 404 falls back to "<issuer>/jwks", where Logto serves it.
func (s *Set) discover(ctx context.Context) (string, error) {
	body, _, err := s.get(ctx, s.opts.Issuer+"/.well-known/openid-configuration")
	var status statusError
	if errors.As(err, &status) && (status == http.StatusNotFound || status == http.StatusGone) {
		return s.opts.Issuer + "/jwks", nil
	}
	if err != nil {
		return "", err
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", fmt.Errorf("discovery document is not JSON: %w", err)
	}
	if doc.Issuer != s.opts.Issuer {
		return "", fmt.Errorf("discovery document names issuer %q, want %q", doc.Issuer, s.opts.Issuer)
	}
	if doc.JWKSURI == "" {
		return s.opts.Issuer + "/jwks", nil
	}
	u, err := url.Parse(doc.JWKSURI)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return "", fmt.Errorf("discovery document has an invalid jwks_uri %q", doc.JWKSURI)
	}
	if u.Scheme != "https" && (u.Scheme != "http" || !s.opts.AllowHTTP) {
		return "", fmt.Errorf("discovery document has a jwks_uri that is not https: %q", doc.JWKSURI)
	}
	return doc.JWKSURI, nil
}

type statusError int

func (e statusError) Error() string { return "unexpected HTTP status " + strconv.Itoa(int(e)) }

func (s *Set) get(ctx context.Context, u string) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/json, application/jwk-set+json")
	resp, err := s.opts.Client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, nil, statusError(resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, s.opts.MaxBytes+1))
	if err != nil {
		return nil, nil, err
	}
	if int64(len(body)) > s.opts.MaxBytes {
		return nil, nil, fmt.Errorf("response larger than %d bytes", s.opts.MaxBytes)
	}
	return body, resp.Header, nil
}

// guardRedirects returns a copy of client whose redirects must each stay
// on https (http only when allowHTTP) and on the host of the first
// request: a plain-http hop anywhere in a chain would let anyone on its
// path choose the next hop, and so the keys. go-oidc and x/oauth2 follow
// the client's policy unchanged; this is stricter. The client's own
// CheckRedirect, if any, still runs after these checks (net/http's default
// stops after 10 redirects).
func guardRedirects(client *http.Client, allowHTTP bool) *http.Client {
	c := *client
	next := client.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		u, first := req.URL, via[0].URL
		switch {
		case u.Scheme != "https" && (u.Scheme != "http" || !allowHTTP):
			return fmt.Errorf("refused a redirect to %s://%s, which is not https", u.Scheme, u.Host)
		case u.Hostname() != first.Hostname():
			return fmt.Errorf("refused a redirect from host %s to another host, %s", first.Hostname(), u.Hostname())
		case next != nil:
			return next(req, via)
		case len(via) >= 10:
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &c
}

// usable turns one JWK into a verification key, or says why it cannot be
// one. The key's "alg" is made explicit: Logto's RSA keys carry none, so it
// is inferred from "kty" (and "crv"), never from a token; a declared "alg"
// must fit the key's type. keyfunc then refuses any token whose "alg" differs.
func usable(m jwkset.JWKMarshal) (jwkset.JWK, error) {
	if m.KID == "" {
		return jwkset.JWK{}, errors.New(`no "kid"`)
	}
	if m.USE != "" && m.USE != jwkset.UseSig {
		return jwkset.JWK{}, fmt.Errorf(`"use" is %q, not "sig"`, m.USE)
	}
	if len(m.KEYOPS) > 0 && !hasVerify(m.KEYOPS) {
		return jwkset.JWK{}, errors.New(`"key_ops" lacks "verify"`)
	}
	// JWKMarshalOptions{} loads public material only: a private or symmetric
	// member of a published key is never used.
	jwk, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
	if err != nil {
		return jwkset.JWK{}, err
	}
	alg, err := fitAlg(jwk.Key(), string(m.ALG))
	if err != nil {
		return jwkset.JWK{}, err
	}
	if string(m.ALG) == alg {
		return jwk, nil
	}
	return jwkset.NewJWKFromKey(jwk.Key(), jwkset.JWKOptions{
		Metadata: jwkset.JWKMetadataOptions{ALG: jwkset.ALG(alg), KID: m.KID, USE: m.USE},
	})
}

// sameKey reports whether a and b are the same public key for the same
// algorithm.
func sameKey(a, b jwkset.JWK) bool {
	if a.Marshal().ALG != b.Marshal().ALG {
		return false
	}
	k, ok := a.Key().(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b.Key())
}

func hasVerify(ops []jwkset.KEYOPS) bool {
	for _, op := range ops {
		if op == jwkset.KeyOpsVerify {
			return true
		}
	}
	return false
}

// fitAlg returns the algorithm the key is for: declared, if it fits the
// key's type, or inferred (EC by curve, RSA → RS256, Ed25519 → EdDSA).
func fitAlg(key any, declared string) (string, error) {
	var fits func(string) bool
	var inferred string
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		inferred = map[string]string{"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}[k.Curve.Params().Name]
		fits = func(a string) bool { return a == inferred }
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return "", fmt.Errorf("RSA key of %d bits is too short", k.N.BitLen())
		}
		inferred = "RS256"
		fits = func(a string) bool {
			switch a {
			case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
				return true
			}
			return false
		}
	case ed25519.PublicKey:
		inferred = "EdDSA"
		fits = func(a string) bool { return a == "EdDSA" }
	default:
		return "", fmt.Errorf("key type %T cannot verify signatures", key)
	}
	if inferred == "" {
		return "", errors.New("unsupported curve")
	}
	if declared == "" {
		return inferred, nil
	}
	if !fits(declared) {
		return "", fmt.Errorf(`"alg" %q does not fit the key type`, declared)
	}
	return declared, nil
}
