package authz

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/seed31d61d31/authz/internal/cache"
	"github.com/seed31d61d31/authz/internal/jwks"
	"github.com/seed31d61d31/authz/internal/options"
)

// Defaults of the options.
const (
	// DefaultLeeway is the clock skew allowed on "exp", "nbf" and "iat".
	DefaultLeeway = 30 * time.Second
	// DefaultMaxTokenBytes is the largest token accepted; larger ones are
	// refused before any decoding.
	DefaultMaxTokenBytes = 8 << 10
	// DefaultRefreshInterval is the longest time between two background JWKS
	// fetches.
	DefaultRefreshInterval = time.Hour
	// DefaultRefreshCooldown is the shortest time between two JWKS fetches
	// caused by tokens with an unknown "kid".
	DefaultRefreshCooldown = time.Minute
	// DefaultCacheEntries is the size of the verified-token cache.
	DefaultCacheEntries = 10_000
	// DefaultCacheTTL is the longest a verified token stays cached (never
	// past its "exp").
	DefaultCacheTTL = 10 * time.Minute
)

// defaultAlgorithms are the asymmetric JWS algorithms (RFC 7518, RFC 8037)
// accepted by default. "none" and HMAC are never accepted: a resource server
// holds no shared secret, and HMAC over a public key is the classic
// key-confusion attack (RFC 8725 section 2.1).
var defaultAlgorithms = []string{
	"ES256", "ES384", "ES512",
	"RS256", "RS384", "RS512",
	"PS256", "PS384", "PS512",
	"EdDSA",
}

// Validator validates access tokens issued by one or more trusted issuers for
// one or more audiences. Build it once with [New], share it, and [Validator.Close]
// it on shutdown. It is safe for concurrent use.
type Validator struct {
	issuers   map[string]*jwks.Set
	audiences []string
	anyOrg    bool
	// acceptsAPI and acceptsOrg report whether some audience is an API
	// resource indicator, and whether some is an organization.
	acceptsAPI, acceptsOrg bool
	// trusted and apiAudiences list the issuers and the API audiences, for
	// error messages (neither is a secret).
	trusted, apiAudiences string
	algs                  map[string]bool
	leeway                time.Duration
	maxBytes              int
	relaxTyp              bool
	boundAsBearer         bool
	dpop                  *dpopState // nil without WithDPoP
	resolved              *resolved  // nil without WithIssuerResolver
	insecureHTTP          bool
	setOptions            jwks.Options // the options of every key set, but Issuer and URL
	now                   func() time.Time
	log                   *slog.Logger
	parser                *jwt.Parser
	cache                 *cache.Cache[*cached] // nil when off
	cacheTTL              time.Duration
	flight                cache.Flight[*cached]
	observer              Observer
	// opaqueHint is the message for a token with no dots.
	opaqueHint string
}

// New returns a Validator that accepts tokens whose "iss" is issuer and
// whose "aud" contains one of audiences. For Logto, issuer is the tenant's
// endpoint plus "/oidc" (https://<tenant>.logto.app/oidc) and an audience is
// an API resource indicator (https://api.example.com). Accept organization
// tokens with [OrganizationAudience](id) for one organization, or
// [AnyOrganization] for every one.
//
// New checks every input and returns an error naming the bad one. It does no
// I/O in the caller's goroutine: the first fetch of each issuer's keys starts
// in the background. A [Validator.Validate] call that needs keys while a
// fetch is in flight waits for it, bounded by its own context; once a fetch
// has failed and no keys are loaded, it returns [ErrKeysUnavailable] at
// once (until the next fetch, at most one per refresh cooldown).
// [Validator.Ready] waits for the first keys, for a readiness probe. The
// JWKS URL is found through the issuer's OIDC discovery document
// (<issuer>/.well-known/openid-configuration), falling back to <issuer>/jwks;
// [WithJWKSURL] sets it explicitly.
func New(issuer string, audiences []string, opts ...Option) (*Validator, error) {
	c := config{
		issuers:         []string{issuer},
		jwksURLs:        map[string]string{},
		algorithms:      defaultAlgorithms,
		leeway:          DefaultLeeway,
		maxTokenBytes:   DefaultMaxTokenBytes,
		refreshInterval: DefaultRefreshInterval,
		refreshCooldown: DefaultRefreshCooldown,
		cacheEntries:    DefaultCacheEntries,
		cacheTTL:        DefaultCacheTTL,
		now:             time.Now,
		client:          http.DefaultClient,
	}
	if err := options.Apply("authz: ", opts, &c.Failure, func(o Option) { o.apply(&c) }); err != nil {
		return nil, err
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	v := &Validator{
		issuers:  make(map[string]*jwks.Set, len(c.issuers)),
		algs:     make(map[string]bool, len(c.algorithms)),
		leeway:   c.leeway,
		maxBytes: c.maxTokenBytes,
		relaxTyp: c.relaxTyp,

		boundAsBearer: c.boundAsBearer,
		now:           c.now,
		log:           c.logger,
		cacheTTL:      c.cacheTTL,
		observer:      c.observer,
	}
	v.insecureHTTP = c.insecureHTTP
	v.setOptions = jwks.Options{
		Client:          c.client,
		RefreshInterval: c.refreshInterval,
		Cooldown:        c.refreshCooldown,
		Now:             c.now,
		Logger:          c.logger,
		OnRefresh:       v.refreshed,
		PrepareKeys:     !c.stdlibCrypto,
	}
	if c.resolver != nil {
		r, err := newResolved(c.resolver, c.resolverConfig, v)
		if err != nil {
			return nil, err
		}
		v.resolved = r
		if issuer == "" { // no static issuer: the resolver decides them all
			c.issuers = c.issuers[1:]
		}
	}
	if c.dpop != nil {
		d, err := newDPoPState(c.dpop)
		if err != nil {
			return nil, err
		}
		v.dpop = d
	}
	if c.cacheEntries > 0 {
		v.cache = cache.New[*cached](c.cacheEntries)
	}
	for _, a := range c.algorithms {
		v.algs[a] = true
	}
	// Claims are checked by claims(), in our order and with our errors.
	// Strict base64: a token has one spelling, not several that differ in
	// unused padding bits.
	v.parser = jwt.NewParser(jwt.WithoutClaimsValidation(), jwt.WithStrictDecoding())
	if len(audiences) == 0 {
		return nil, errors.New("authz: no audience: give the API's resource indicator, OrganizationAudience(id) or AnyOrganization")
	}
	for _, a := range audiences {
		switch {
		case a == AnyOrganization:
			v.anyOrg, v.acceptsOrg = true, true
		case strings.TrimSpace(a) != a || a == "":
			return nil, fmt.Errorf("authz: audience %q is empty or has surrounding spaces", a)
		case strings.HasPrefix(a, organizationPrefix) && !validOrgID(a[len(organizationPrefix):]):
			return nil, fmt.Errorf("authz: audience %q has an invalid organization id", a)
		default:
			isOrg := strings.HasPrefix(a, organizationPrefix)
			v.acceptsOrg = v.acceptsOrg || isOrg
			if !isOrg && !v.acceptsAPI {
				v.acceptsAPI = true
				v.opaqueHint = "token is not a JWT: most likely a Logto opaque access token; request the token with resource=" + a
			}
			if !slices.Contains(v.audiences, a) {
				v.audiences = append(v.audiences, a)
			}
		}
	}
	if v.opaqueHint == "" {
		v.opaqueHint = "token is not a JWT: most likely a Logto opaque access token; request the token with resource=<your API indicator>"
	}
	for u := range c.jwksURLs {
		if !slices.Contains(c.issuers, u) {
			return nil, fmt.Errorf("authz: WithJWKSURL names issuer %q, which is not configured", u)
		}
	}
	seen := map[string]bool{}
	for _, iss := range c.issuers {
		if seen[iss] {
			return nil, fmt.Errorf("authz: issuer %q given twice", iss)
		}
		seen[iss] = true
		if err := checkURL("issuer", iss, c.insecureHTTP); err != nil {
			return nil, err
		}
		if u := c.jwksURLs[iss]; u != "" {
			if err := checkURL("JWKS URL", u, c.insecureHTTP); err != nil {
				return nil, err
			}
		}
	}
	v.trusted = strings.Join(slices.Sorted(slices.Values(c.issuers)), ", ")
	var apis []string
	for _, a := range v.audiences {
		if !strings.HasPrefix(a, organizationPrefix) {
			apis = append(apis, a)
		}
	}
	v.apiAudiences = strings.Join(apis, ", ")
	// Every input is checked: start a key set per issuer.
	for _, iss := range c.issuers {
		set, err := v.newSet(iss, c.jwksURLs[iss])
		if err != nil {
			v.Close()
			return nil, fmt.Errorf("authz: key set for %q: %w", iss, err)
		}
		v.issuers[iss] = set
	}
	return v, nil
}

// newSet starts the key set of issuer, whose JWKS URL is jwksURL ("" for
// OIDC discovery).
func (v *Validator) newSet(issuer, jwksURL string) (*jwks.Set, error) {
	o := v.setOptions
	o.Issuer, o.URL = issuer, jwksURL
	o.AllowHTTP = v.insecureHTTP || isLoopback(issuer)
	return jwks.New(o)
}

// Ready waits until the keys of every configured issuer are loaded, or ctx
// ends. It returns nil once the validator can judge the tokens of every
// issuer, and otherwise an error matching [ErrKeysUnavailable] whose cause
// says why (the last fetch's error). Use it in a readiness probe
// (/readyz); Validate does not need it.
func (v *Validator) Ready(ctx context.Context) error {
	for _, iss := range slices.Sorted(maps.Keys(v.issuers)) {
		if err := v.issuers[iss].Ready(ctx); err != nil {
			return wrapError(ErrKeysUnavailable, fmt.Sprintf("the keys of issuer %q are not loaded", iss), err)
		}
	}
	return nil
}

// Close stops the background key refresh. Validate must not be called after
// Close. It is safe to call more than once.
func (v *Validator) Close() {
	for _, s := range v.issuers {
		s.Close()
	}
	if v.resolved != nil {
		v.resolved.close()
	}
}

func checkURL(what, raw string, allowHTTP bool) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("authz: %s %q is not an absolute URL without query or fragment", what, raw)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && (allowHTTP || isLoopback(raw)):
	default:
		return fmt.Errorf("authz: %s %q must use https (InsecureAllowHTTP allows http)", what, raw)
	}
	if what == "issuer" && strings.HasSuffix(raw, "/") {
		return fmt.Errorf("authz: issuer %q ends with a slash; Logto's has none (https://<tenant>.logto.app/oidc)", raw)
	}
	return nil
}

func isLoopback(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Validate validates one access token and returns its claims. ctx bounds the
// wait for a JWKS fetch caused by an unknown "kid"; Validate never waits for a
// rate limit. The checks, in order (cheapest rejection first):
//
//  1. size and shape: at most the maximum size, three base64url segments;
//  2. header: "alg" in the allow-list, no "crit"; "jku", "x5u", "jwk" and "x5c" are ignored;
//  3. "typ" is "at+jwt" (RFC 9068);
//  4. "iss" is a configured issuer: it selects the key set;
//  5. key: by "kid" from that issuer's JWKS, fitting "alg";
//  6. signature;
//  7. "aud" names a configured audience;
//  8. "exp" (required), "nbf", "iat" against the clock, with leeway;
//  9. no "cnf": a token bound to a key is not a bearer token
//     ([ErrSenderConstrained]; see [Validator.ValidateDPoP]).
//
// Every failure is an [*Error] matching one of the sentinel errors. An
// untrusted issuer fails before any key lookup.
func (v *Validator) Validate(ctx context.Context, token string) (*Claims, error) {
	// "iss" is checked before the key (the first design had the key
	// first) because the issuer chooses which key set to look in.
	return v.validateAs(ctx, token, nil)
}

// validateAs is Validate when proof is nil, and ValidateDPoP with proof
// otherwise, observed when there is an observer.
func (v *Validator) validateAs(ctx context.Context, token string, proof *DPoPRequest) (*Claims, error) {
	if v.observer.Decision != nil {
		return v.observeValidate(ctx, token, proof)
	}
	c, _, err := v.validateScheme(ctx, token, proof)
	return c, err
}

// validateScheme is validate, then the rule of the scheme the token came
// with: a bearer token (proof nil) must not be bound to a key; a DPoP
// token must be bound to the key of its valid proof.
func (v *Validator) validateScheme(ctx context.Context, token string, proof *DPoPRequest) (*Claims, answer, error) {
	if proof != nil {
		// The token's SHA-256 is both its cache key and the proof's "ath".
		digest := cache.KeyOf(token)
		c, how, err := v.validateHashed(ctx, token, &digest)
		if err != nil {
			return nil, how, err
		}
		if err := v.checkProof(ctx, &digest, c, proof); err != nil {
			return nil, how, err
		}
		return c, how, nil
	}
	c, how, err := v.validate(ctx, token)
	switch {
	case err != nil:
		return nil, how, err
	case c.bound && !v.boundAsBearer:
		if c.KeyThumbprint != "" {
			return nil, how, newError(ErrSenderConstrained, "token is bound to a DPoP key (cnf.jkt): send it with the DPoP scheme and a proof")
		}
		return nil, how, newError(ErrSenderConstrained, `token is bound to a key ("cnf") by a method this API does not support`)
	}
	return c, how, nil
}
