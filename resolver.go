package authz

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed31d61d31/authz/internal/cache"
	"github.com/seed31d61d31/authz/internal/jwks"
)

// IssuerTrust is an [IssuerResolver]'s answer about one issuer.
type IssuerTrust struct {
	// Trusted says whether tokens of the issuer may be accepted.
	Trusted bool
	// JWKSURL is the issuer's JWKS URL; "" finds it by OIDC discovery from
	// the issuer, as for configured issuers.
	JWKSURL string
	// Audiences, when not nil, are the issuer's own API resource
	// indicators: they replace the validator's API audiences for its tokens
	// (a tenant whose API has an indicator of its own). Organization
	// audiences are always the validator's, so they may not appear here,
	// and the validator must accept API tokens. When a re-confirmation
	// answers another JWKSURL or other Audiences, the issuer starts again
	// from the new answer, and its tokens accepted on the old one are void.
	Audiences []string
}

// IssuerResolver decides at run time whether an issuer that [New] was not
// given is trusted: for a product that gives each customer a Logto tenant
// of its own, or adds customers' custom domains while it runs.
//
// It is called with the "iss" of a token, unverified, before any network
// I/O for that issuer, so its answer must come from your own data: a
// table of your customers' tenants, never the issuer's name alone. "Trust
// every https://*.logto.app/oidc" trusts an attacker's own Logto tenant,
// where they can register an API with your resource indicator and mint
// tokens with your audience.
//
// An error means the resolver could not answer (its store is down): the
// token is refused with [ErrKeysUnavailable], 503, not 401.
type IssuerResolver func(ctx context.Context, issuer string) (IssuerTrust, error)

// ResolverConfig bounds what a resolver's issuers cost ([WithIssuerResolver]).
// The zero value is the defaults.
type ResolverConfig struct {
	// MaxIssuers is how many resolved issuers keep a key set at once
	// (default 100). The least recently used one is dropped, its
	// background refresh stopped, to make room; it is resolved again on
	// its next token.
	MaxIssuers int
	// IdleTimeout drops a resolved issuer no token has named for that long
	// (default an hour).
	IdleTimeout time.Duration
	// Reconfirm is how often a resolved issuer's trust is asked of the
	// resolver again (default a minute). When the resolver no longer
	// trusts it, its tokens stop validating at once, those in the
	// verified-token cache included.
	Reconfirm time.Duration
	// NegativeTTL is how long an issuer the resolver did not trust is
	// refused without asking again (default a second), and NegativeEntries
	// how many such issuers are remembered (default 65,536).
	NegativeTTL     time.Duration
	NegativeEntries int
}

// Defaults of [ResolverConfig].
const (
	DefaultMaxIssuers      = 100
	DefaultIdleTimeout     = time.Hour
	DefaultReconfirm       = time.Minute
	DefaultNegativeTTL     = time.Second
	DefaultNegativeEntries = 1 << 16
)

// maxIssuerBytes bounds an "iss" given to the resolver.
const maxIssuerBytes = 512

// WithIssuerResolver trusts, besides the issuers given to [New] (which are
// looked at first), those r trusts, with their state bounded by c. With a
// resolver, New's issuer may be "" (no static issuer). An "iss" over 512
// bytes, or not an https URL (http on loopback aside, or with
// [InsecureAllowHTTP]), is refused without calling r.
func WithIssuerResolver(r IssuerResolver, c ResolverConfig) Option {
	return optionFunc(func(cfg *config) {
		if r == nil {
			cfg.fail("WithIssuerResolver(nil)")
			return
		}
		cfg.resolver, cfg.resolverConfig = r, c
	})
}

// resolved is a validator's resolved issuers.
type resolved struct {
	fn  IssuerResolver
	cfg ResolverConfig
	v   *Validator

	mu      sync.Mutex
	tenants map[string]*tenant
	lru     *list.List // of *tenant, most recently used first
	closed  bool

	creating cache.Flight[*tenant] // one resolution per issuer at a time
	negative *cache.Cache[struct{}]
}

// tenant is one resolved issuer and its key set.
type tenant struct {
	issuer    string
	set       *jwks.Set
	elem      *list.Element
	audiences []string // IssuerTrust.Audiences; nil for the validator's
	jwksURL   string   // IssuerTrust.JWKSURL

	lastUsed    atomic.Int64 // Unix nanoseconds
	confirmedAt atomic.Int64 // Unix nanoseconds
	gone        atomic.Bool  // dropped: untrusted, evicted or idle
	confirming  cache.Flight[*tenant]
}

func newResolved(fn IssuerResolver, c ResolverConfig, v *Validator) (*resolved, error) {
	switch {
	case c.MaxIssuers < 0, c.IdleTimeout < 0, c.Reconfirm < 0, c.NegativeTTL < 0, c.NegativeEntries < 0:
		return nil, fmt.Errorf("authz: WithIssuerResolver: negative bound in %+v", c)
	}
	if c.MaxIssuers == 0 {
		c.MaxIssuers = DefaultMaxIssuers
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.Reconfirm == 0 {
		c.Reconfirm = DefaultReconfirm
	}
	if c.NegativeTTL == 0 {
		c.NegativeTTL = DefaultNegativeTTL
	}
	if c.NegativeEntries == 0 {
		c.NegativeEntries = DefaultNegativeEntries
	}
	return &resolved{fn: fn, cfg: c, v: v, tenants: map[string]*tenant{}, lru: list.New(), negative: cache.New[struct{}](c.NegativeEntries)}, nil
}

// plausibleIssuer reports whether iss may be given to the resolver: short,
// an absolute https URL (or http on loopback, or anywhere with
// InsecureAllowHTTP), without query, fragment or user information.
func (v *Validator) plausibleIssuer(iss string) bool {
	if len(iss) > maxIssuerBytes || strings.HasSuffix(iss, "/") {
		return false
	}
	u, err := url.Parse(iss)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(iss, "#") {
		return false
	}
	return u.Scheme == "https" || u.Scheme == "http" && (v.insecureHTTP || isLoopback(iss))
}

// set returns the key set of the resolved issuer iss, resolving it first
// if needed: nil and ErrIssuer when it is not trusted, ErrKeysUnavailable
// when the resolver fails.
func (r *resolved) set(ctx context.Context, iss string) (*tenant, *Error) {
	now := r.v.now()
	untrusted := newError(ErrIssuer, fmt.Sprintf("issuer %s is not trusted", quoteSafe(iss)))
	if !r.v.plausibleIssuer(iss) {
		return nil, untrusted
	}
	key := cache.KeyOf(iss)
	if _, ok := r.negative.Get(key, now.UnixNano()); ok {
		return nil, untrusted
	}
	r.mu.Lock()
	t := r.tenants[iss]
	if t != nil {
		r.lru.MoveToFront(t.elem)
	}
	r.mu.Unlock()
	if t != nil {
		t.lastUsed.Store(now.UnixNano())
		return r.confirm(ctx, t, now)
	}
	t, err, _ := r.creating.Do(key, ctx.Done(), func() error { return ctx.Err() }, func() (*tenant, error) {
		return r.create(ctx, iss, key)
	})
	if err != nil {
		return nil, AsError(err, ErrKeysUnavailable)
	}
	return t, nil
}

// create asks the resolver about iss and, when it trusts it, starts its key
// set.
func (r *resolved) create(ctx context.Context, iss string, key cache.Key) (*tenant, error) {
	r.mu.Lock()
	if t := r.tenants[iss]; t != nil { // created while this call waited
		r.mu.Unlock()
		return t, nil
	}
	r.mu.Unlock()
	trust, err := r.fn(ctx, iss)
	now := r.v.now()
	switch {
	case err != nil:
		return nil, wrapError(ErrKeysUnavailable, "the issuer resolver could not say whether the token's issuer is trusted", err)
	case !trust.Trusted:
		r.negative.Put(key, struct{}{}, now.Add(r.cfg.NegativeTTL).UnixNano(), now.UnixNano())
		return nil, newError(ErrIssuer, fmt.Sprintf("issuer %s is not trusted", quoteSafe(iss)))
	}
	if trust.JWKSURL != "" {
		if err := checkURL("JWKS URL", trust.JWKSURL, r.v.insecureHTTP); err != nil {
			return nil, wrapError(ErrKeysUnavailable, "the issuer resolver gave an invalid JWKS URL", err)
		}
	}
	if err := r.v.checkIssuerAudiences(trust.Audiences); err != nil {
		return nil, wrapError(ErrKeysUnavailable, "the issuer resolver gave invalid audiences", err)
	}
	set, err := r.v.newSet(iss, trust.JWKSURL)
	if err != nil {
		return nil, wrapError(ErrKeysUnavailable, "the key set of a resolved issuer could not be started", err)
	}
	t := &tenant{issuer: iss, set: set, audiences: slices.Clone(trust.Audiences), jwksURL: trust.JWKSURL}
	if trust.Audiences != nil && t.audiences == nil {
		t.audiences = []string{} // given but empty: no API audience at all
	}
	t.lastUsed.Store(now.UnixNano())
	t.confirmedAt.Store(now.UnixNano())
	var drop []*tenant
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		set.Close()
		return nil, newError(ErrKeysUnavailable, "the validator is closed")
	}
	t.elem = r.lru.PushFront(t)
	r.tenants[iss] = t
	drop = r.evictLocked(now)
	r.mu.Unlock()
	for _, d := range drop {
		d.drop()
	}
	return t, nil
}

// evictLocked removes the idle tenants and those over the bound, least
// recently used first, and returns them to be dropped outside the lock.
func (r *resolved) evictLocked(now time.Time) []*tenant {
	var out []*tenant
	for e := r.lru.Back(); e != nil; {
		t := e.Value.(*tenant)
		prev := e.Prev()
		if r.lru.Len() > r.cfg.MaxIssuers || now.Sub(time.Unix(0, t.lastUsed.Load())) >= r.cfg.IdleTimeout {
			r.lru.Remove(e)
			delete(r.tenants, t.issuer)
			out = append(out, t)
		} else {
			break
		}
		e = prev
	}
	return out
}

// confirm returns t when its trust was confirmed less than Reconfirm ago,
// else asks the resolver again: a tenant it no longer trusts is dropped,
// and its tokens, cached ones included, stop validating.
func (r *resolved) confirm(ctx context.Context, t *tenant, now time.Time) (*tenant, *Error) {
	if t.gone.Load() {
		// Dropped meanwhile (evicted, idle, or no longer trusted): resolve
		// the issuer afresh, which a negative entry answers at once.
		return r.set(ctx, t.issuer)
	}
	if now.Sub(time.Unix(0, t.confirmedAt.Load())) < r.cfg.Reconfirm {
		return t, nil
	}
	_, err, _ := t.confirming.Do(cache.Key{}, ctx.Done(), func() error { return ctx.Err() }, func() (*tenant, error) {
		if now.Sub(time.Unix(0, t.confirmedAt.Load())) < r.cfg.Reconfirm { // another caller just did
			return t, nil
		}
		trust, err := r.fn(ctx, t.issuer)
		switch {
		case err != nil:
			return nil, wrapError(ErrKeysUnavailable, "the issuer resolver could not confirm that the token's issuer is still trusted", err)
		case !trust.Trusted:
			r.remove(t)
			n := r.v.now()
			r.negative.Put(cache.KeyOf(t.issuer), struct{}{}, n.Add(r.cfg.NegativeTTL).UnixNano(), n.UnixNano())
			return nil, newError(ErrIssuer, fmt.Sprintf("issuer %s is no longer trusted", quoteSafe(t.issuer)))
		case trust.JWKSURL != t.jwksURL || !slices.Equal(trust.Audiences, t.audiences) || (trust.Audiences == nil) != (t.audiences == nil):
			// Trusted on other terms: start again from this answer, and
			// void the tokens accepted on the old ones.
			r.remove(t)
			return nil, errRetry
		}
		n := r.v.now()
		t.confirmedAt.Store(n.UnixNano())
		// A tenant whose tokens all come from the verified-token cache is
		// in use too: its recency is refreshed here, once a period.
		t.lastUsed.Store(n.UnixNano())
		r.mu.Lock()
		if r.tenants[t.issuer] == t {
			r.lru.MoveToFront(t.elem)
		}
		r.mu.Unlock()
		return t, nil
	})
	if errors.Is(err, errRetry) {
		return r.set(ctx, t.issuer)
	}
	if err != nil {
		return nil, AsError(err, ErrKeysUnavailable)
	}
	return t, nil
}

// errRetry is confirm's signal that the issuer was dropped to be resolved
// again.
var errRetry = errors.New("resolve the issuer again")

// remove takes t out of the tenants and drops it.
func (r *resolved) remove(t *tenant) {
	r.mu.Lock()
	if r.tenants[t.issuer] == t {
		r.lru.Remove(t.elem)
		delete(r.tenants, t.issuer)
	}
	r.mu.Unlock()
	t.drop()
}

// drop voids t: its tokens in the verified-token cache fail their next
// hit, and its key set's background refresh stops.
func (t *tenant) drop() {
	if t.gone.Swap(true) {
		return
	}
	t.set.Void()
	t.set.Close()
}

// fresh reports whether a cache hit of t's token may be answered without
// asking the resolver: t is still held and was confirmed within Reconfirm.
func (r *resolved) fresh(t *tenant, now int64) bool {
	return !t.gone.Load() && now-t.confirmedAt.Load() < int64(r.cfg.Reconfirm)
}

// len is how many resolved issuers hold a key set.
func (r *resolved) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.tenants)
}

// close drops every tenant.
func (r *resolved) close() {
	r.mu.Lock()
	r.closed = true
	var all []*tenant
	for _, t := range r.tenants {
		all = append(all, t)
	}
	r.tenants = map[string]*tenant{}
	r.lru.Init()
	r.mu.Unlock()
	for _, t := range all {
		t.drop()
	}
}

// checkIssuerAudiences checks a resolver's IssuerTrust.Audiences.
func (v *Validator) checkIssuerAudiences(apis []string) error {
	if apis == nil {
		return nil
	}
	if !v.acceptsAPI {
		return errors.New("the validator accepts no API tokens, so an issuer cannot have API audiences")
	}
	for _, a := range apis {
		switch {
		case a == "" || strings.TrimSpace(a) != a:
			return fmt.Errorf("audience %q is empty or has surrounding spaces", a)
		case strings.HasPrefix(a, organizationPrefix):
			return fmt.Errorf("audience %q is an organization: organization audiences are the validator's", a)
		}
	}
	return nil
}
