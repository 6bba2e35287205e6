package authz

import (
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/seed31d61d31/authz/internal/options"
)

// config collects the options; New checks it once.
type config struct {
	issuers         []string
	jwksURLs        map[string]string
	algorithms      []string
	leeway          time.Duration
	maxTokenBytes   int
	refreshInterval time.Duration
	refreshCooldown time.Duration
	cacheEntries    int
	cacheTTL        time.Duration
	observer        Observer
	relaxTyp        bool
	boundAsBearer   bool
	dpop            *DPoPConfig
	resolver        IssuerResolver
	resolverConfig  ResolverConfig
	stdlibCrypto    bool
	insecureHTTP    bool
	now             func() time.Time
	client          *http.Client
	logger          *slog.Logger
	options.Failure
}

func (c *config) fail(format string, args ...any) { c.Fail("authz: ", format, args...) }

// Option configures a [Validator]. Options are made by the With… and
// Insecure… functions of this package; their zero values are never needed.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithIssuer trusts one more issuer, for instance the same Logto tenant
// reached through a custom domain (https://auth.example.com/oidc). Each
// issuer has its own key set: a token's key is looked up only in the set of
// the issuer it names.
func WithIssuer(issuer string) Option {
	return optionFunc(func(c *config) { c.issuers = append(c.issuers, issuer) })
}

// WithJWKSURL sets the JWKS URL of a configured issuer instead of finding it
// through OIDC discovery. For Logto it is <issuer>/jwks.
func WithJWKSURL(issuer, jwksURL string) Option {
	return optionFunc(func(c *config) { c.jwksURLs[issuer] = jwksURL })
}

// WithAlgorithms replaces the allowed signature algorithms. The default is
// ES256, ES384, ES512, RS256, RS384, RS512, PS256, PS384, PS512 and EdDSA;
// Logto signs with ES384 by default (RS256 after a rotation to RSA). Only
// those names are accepted: "none" and HMAC algorithms make New fail.
func WithAlgorithms(algs ...string) Option {
	return optionFunc(func(c *config) {
		if len(algs) == 0 {
			c.fail("WithAlgorithms needs at least one algorithm")
			return
		}
		for _, a := range algs {
			if !slices.Contains(defaultAlgorithms, a) {
				c.fail("algorithm %q is not allowed; choose from %s", a, strings.Join(defaultAlgorithms, ", "))
				return
			}
		}
		c.algorithms = slices.Clone(algs)
	})
}

// WithLeeway sets the clock skew tolerated on "exp", "nbf" and "iat".
// Default [DefaultLeeway] (30 s); it must be between 0 and 5 minutes.
func WithLeeway(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d < 0 || d > 5*time.Minute {
			c.fail("leeway %v is outside [0, 5m]", d)
			return
		}
		c.leeway = d
	})
}

// WithMaxTokenBytes sets the size of the largest token accepted. Default
// [DefaultMaxTokenBytes] (8 KiB); it must be at least 512.
func WithMaxTokenBytes(n int) Option {
	return optionFunc(func(c *config) {
		if n < 512 {
			c.fail("maximum token size %d is below 512 bytes", n)
			return
		}
		c.maxTokenBytes = n
	})
}

// WithHTTPClient sets the client used for discovery and JWKS requests.
// Default [http.DefaultClient]; every request is bounded by a 10 s timeout
// and the response by 1 MiB either way.
func WithHTTPClient(client *http.Client) Option {
	return optionFunc(func(c *config) {
		if client == nil {
			c.fail("WithHTTPClient(nil)")
			return
		}
		c.client = client
	})
}

// WithRefreshInterval sets the longest time between background JWKS
// fetches. Default [DefaultRefreshInterval] (1 h). A shorter Cache-Control
// max-age on the JWKS response is honoured down to 5 minutes (or d, if
// smaller). It must be at least 1 s.
func WithRefreshInterval(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d < time.Second {
			c.fail("refresh interval %v is below 1s", d)
			return
		}
		c.refreshInterval = d
	})
}

// WithRefreshCooldown sets the shortest time between two JWKS fetches caused
// by tokens with an unknown "kid". Default [DefaultRefreshCooldown] (1 min).
// Within the cooldown such a token fails at once with [ErrUnknownKey]; no
// request ever waits for the cooldown to pass. Concurrent requests with
// unknown kids share one fetch. It must not be negative.
func WithRefreshCooldown(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d < 0 {
			c.fail("refresh cooldown %v is negative", d)
			return
		}
		c.refreshCooldown = d
	})
}

// WithClock sets the clock used for "exp", "nbf", "iat" and the refresh
// cooldown. Default [time.Now]. Tests use it to make time exact.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) {
		if now == nil {
			c.fail("WithClock(nil)")
			return
		}
		c.now = now
	})
}

// WithLogger sets the logger for key refresh events (keys added and removed,
// failed fetches). Default [slog.Default]. Tokens are never logged.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if l == nil {
			c.fail("WithLogger(nil)")
			return
		}
		c.logger = l
	})
}

// WithCache sizes the verified-token cache: up to maxEntries tokens that
// passed every check are remembered, keyed by the SHA-256 of the whole token,
// each for at most ttl and never past its "exp". A token seen again skips
// the signature and JSON work; its time claims are checked again on every
// use, and it stops validating after a JWKS refresh removes any key of its
// issuer (it is then verified afresh). Default [DefaultCacheEntries] (10,000)
// for [DefaultCacheTTL] (10 min). WithCache(0, 0) turns the cache off.
func WithCache(maxEntries int, ttl time.Duration) Option {
	return optionFunc(func(c *config) {
		switch {
		case maxEntries < 0 || ttl < 0:
			c.fail("WithCache(%d, %v): negative size or TTL", maxEntries, ttl)
		case (maxEntries == 0) != (ttl == 0):
			c.fail("WithCache(%d, %v): give both a size and a TTL, or WithCache(0, 0) to turn the cache off", maxEntries, ttl)
		default:
			c.cacheEntries, c.cacheTTL = maxEntries, ttl
		}
	})
}

// WithStandardLibraryCrypto verifies every signature with the Go standard
// library (crypto/ecdsa, crypto/rsa, crypto/ed25519, through golang-jwt),
// for deployments that must use only the standard library's cryptography.
// By default keys get a prepared verifier, with the same verdicts as the
// standard library:
//   - an ES384 key (Logto's default) or ES256 key: tables of multiples of
//     the public key (about 360 KB and 2 ms per ES384 key, 165 KB and
//     0.6 ms per ES256 key, and once per process a table of the curve's
//     generator, about 1 MB and 5 ms for P-384, 0.4 MB and 2 ms for
//     P-256), after which a signature checks about 4.9 (ES384) or 1.9
//     (ES256) times faster than crypto/ecdsa
//     (filippo.io/nistec, the standard library's own arithmetic,
//     exported). Tables are built only for keys that tokens name, at most
//     8 per issuer, in the background on a key's first use (crypto/ecdsa
//     checks its signatures until then), and kept while the key stays in
//     the JWKS;
//   - an RS256, RS384 or RS512 key: its modulus, prepared when its key set
//     loads where crypto/rsa rebuilds it per signature, about 1.45 times
//     faster (filippo.io/bigmod, the standard library's own, exported).
func WithStandardLibraryCrypto() Option {
	return optionFunc(func(c *config) { c.stdlibCrypto = true })
}

// InsecureRelaxTokenType also accepts tokens whose "typ" header is missing or
// "JWT", for issuers that do not follow RFC 9068. What it gives up: an OIDC ID
// token whose "aud" names your API would then pass as an access token. Logto
// always sets "at+jwt", so Logto users never need this. By default "typ" must
// be "at+jwt" or "application/at+jwt".
func InsecureRelaxTokenType() Option {
	return optionFunc(func(c *config) { c.relaxTyp = true })
}

// InsecureAcceptBoundTokensAsBearer lets [Validator.Validate] accept a
// token bound to a key (one with a "cnf" claim, RFC 7800) as a bearer
// token, for a deployment that checks the binding itself before authz
// runs: a proxy that terminates mutual TLS and compares the client
// certificate with "cnf.x5t#S256" (RFC 8705), for one. What it gives up:
// without that check, whoever holds a stolen sender-constrained token can
// use it, the very thing the binding exists to stop (RFC 9449 section
// 7.2). By default Validate refuses such tokens with [ErrSenderConstrained].
func InsecureAcceptBoundTokensAsBearer() Option {
	return optionFunc(func(c *config) { c.boundAsBearer = true })
}

// InsecureAllowHTTP allows issuers and JWKS URLs over plain http on
// non-loopback hosts (a self-hosted Logto inside a private network). What it
// gives up: anyone on the path can replace the keys. Loopback addresses
// (localhost, 127.0.0.0/8, ::1) are always allowed over http, for tests and
// local development; everything else must be https by default.
func InsecureAllowHTTP() Option {
	return optionFunc(func(c *config) { c.insecureHTTP = true })
}
