package authztest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
)

// jwksCacheControl is the Cache-Control value Logto sends with its JWK Set.
const jwksCacheControl = "no-cache, max-age=0, must-revalidate"

// Issuer is an in-process OAuth 2.0 / OpenID Connect issuer shaped like a
// Logto tenant. It serves discovery and a JWK Set over loopback HTTP and mints
// signed JWT access tokens. Create one with [NewIssuer] and stop it with
// [Issuer.Close]; the zero value is not usable.
//
// All methods are safe for concurrent use.
type Issuer struct {
	server *httptest.Server
	mux    *http.ServeMux // the server's routes; Handle adds to them
	url    string
	alg    string
	algo   algorithm
	now    func() time.Time

	jwksRequests atomic.Int64
	unavailable  atomic.Bool

	mu       sync.RWMutex // guards the three keys below
	current  *signingKey  // never nil
	next     *signingKey  // staged, published, not signing; may be nil
	previous *signingKey  // retired, still published; may be nil
}

// config collects the settings of [NewIssuer].
type config struct {
	alg string
	now func() time.Time

	listener    net.Listener // from WithListener; nil means a new 127.0.0.1 listener
	listenerSet bool         // WithListener was given, even with nil
	hosts       []string     // from WithHosts; nil answers every Host
	publicURL   string       // from WithPublicURL
	publicSet   bool         // WithPublicURL was given; otherwise the URL is the server's
}

// Option configures [NewIssuer]. Options are created by the With functions
// of this package; a nil Option is ignored.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithAlgorithm sets the algorithm the issuer signs with: "ES384" (the
// default, Logto's default P-384 key), "ES256" (P-256), "ES512" (P-521) or
// "RS256" (RSA 2048). Rotated keys use the same algorithm. [NewIssuer]
// returns an error for any other value, including "".
func WithAlgorithm(alg string) Option {
	return optionFunc(func(c *config) { c.alg = alg })
}

// WithClock sets the clock that gives the default "iat" (and so "exp") of
// minted tokens, and the reference time of [Expired]. The default is
// [time.Now]. [NewIssuer] returns an error for a nil function.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) { c.now = now })
}

// WithHosts makes the issuer answer only requests whose Host header is one
// of hosts ("127.0.0.1:7080", "localhost:7080"), compared case-insensitively,
// and refuse the others with 421 Misdirected Request. A local issuer that
// hands out tokens for fixed client secrets needs it: after a DNS
// rebinding, a web page the developer opens would otherwise be same-origin
// with the issuer and could read the tokens it mints. By default every
// Host is answered.
func WithHosts(hosts ...string) Option {
	return optionFunc(func(c *config) { c.hosts = append([]string(nil), hosts...) })
}

// WithPublicURL makes base ("https://auth.example.test",
// "http://localhost:8080") the URL clients reach the issuer at, when it is
// not the address it listens on: a port that Docker publishes under
// another number, a tunnel, a reverse proxy. [Issuer.URL] (every token's
// "iss", and the discovery document's URLs) is then base + "/oidc", and
// the issuer still serves on its own listener, under the same paths. With
// [WithHosts], base's host is answered too. base is an absolute http or
// https URL with a host and nothing after it (no path other than "/", no
// query, fragment or user information); [NewIssuer] returns an error
// otherwise. By default the URL is the server's.
func WithPublicURL(base string) Option {
	return optionFunc(func(c *config) { c.publicURL, c.publicSet = base, true })
}

// publicBase checks a WithPublicURL value and returns it without a
// trailing slash, with its host.
func publicBase(base string) (string, string, error) {
	u, err := url.Parse(base)
	switch {
	case err != nil:
		return "", "", fmt.Errorf("authztest: WithPublicURL: %w", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return "", "", fmt.Errorf("authztest: WithPublicURL: %q is not an http or https URL", base)
	case u.Host == "" || u.Opaque != "":
		return "", "", fmt.Errorf("authztest: WithPublicURL: %q has no host", base)
	case u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(base, "#"):
		return "", "", fmt.Errorf("authztest: WithPublicURL: %q must have no user information, query or fragment", base)
	case u.Path != "" && u.Path != "/":
		return "", "", fmt.Errorf("authztest: WithPublicURL: %q has a path; give the base URL only (the issuer is <base>/oidc)", base)
	}
	return u.Scheme + "://" + u.Host, u.Host, nil
}

// NewIssuer generates a signing key and starts an issuer on a new
// [httptest.Server] listening on 127.0.0.1 (or on the listener of
// [WithListener]). It returns an error if an option is invalid. The caller
// must call [Issuer.Close] when done.
func NewIssuer(opts ...Option) (*Issuer, error) {
	cfg := config{alg: "ES384", now: time.Now}
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if cfg.listenerSet && cfg.listener == nil {
		return nil, errors.New("authztest: WithListener: nil listener")
	}
	i, err := newIssuer(cfg)
	if err != nil && cfg.listener != nil {
		_ = cfg.listener.Close() // the issuer owns it, also when it fails
	}
	return i, err
}

// newIssuer is NewIssuer once the options are applied.
func newIssuer(cfg config) (*Issuer, error) {
	algo, ok := algorithms[cfg.alg]
	if !ok {
		return nil, fmt.Errorf("authztest: WithAlgorithm: unsupported algorithm %q (want one of %s)", cfg.alg, supportedAlgorithms)
	}
	if cfg.now == nil {
		return nil, errors.New("authztest: WithClock: nil clock")
	}
	base, publicHost := "", ""
	if cfg.publicSet {
		var err error
		if base, publicHost, err = publicBase(cfg.publicURL); err != nil {
			return nil, err
		}
		if cfg.hosts != nil {
			cfg.hosts = append(cfg.hosts, publicHost)
		}
	}
	key, err := newSigningKey(cfg.alg)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	i := &Issuer{mux: mux, alg: cfg.alg, algo: algo, now: cfg.now, current: key}
	mux.HandleFunc("GET /oidc/.well-known/openid-configuration", i.serveDiscovery)
	mux.HandleFunc("GET /oidc/jwks", i.serveJWKS)
	var handler http.Handler = mux
	if cfg.hosts != nil {
		handler = onlyHosts(cfg.hosts, mux)
	}
	if cfg.listener != nil {
		i.server = httptest.NewUnstartedServer(handler)
		_ = i.server.Listener.Close() // the 127.0.0.1 listener it made
		i.server.Listener = cfg.listener
		i.server.Start()
	} else {
		i.server = httptest.NewServer(handler)
	}
	if base == "" {
		base = i.server.URL
	}
	i.url = base + "/oidc"
	return i, nil
}

// URL returns the issuer identifier: the server's base URL (or that of
// [WithPublicURL]) followed by "/oidc", with no trailing slash, as in a
// Logto tenant ("http://127.0.0.1:PORT/oidc"). It is the value of the "iss" claim and of
// "issuer" in the discovery document.
func (i *Issuer) URL() string { return i.url }

// JWKSURL returns the URL of the JWK Set: [Issuer.URL] followed by "/jwks".
func (i *Issuer) JWKSURL() string { return i.url + "/jwks" }

// Close shuts the server down and blocks until all requests have finished.
// Minting still works after Close; fetching discovery or keys does not.
func (i *Issuer) Close() { i.server.Close() }

// JWKSRequests returns how many GET requests the JWK Set endpoint has
// received since [NewIssuer], including those answered 503 while
// [Issuer.SetUnavailable] is on.
func (i *Issuer) JWKSRequests() int { return int(i.jwksRequests.Load()) }

// SetUnavailable switches a simulated outage on (true) or off (false). While
// it is on, discovery and the JWK Set answer 503 Service Unavailable. Minting
// is not affected. It is off by default.
func (i *Issuer) SetUnavailable(down bool) { i.unavailable.Store(down) }

// KeyID returns the "kid" of the current signing key: its RFC 7638 SHA-256
// JWK thumbprint.
func (i *Issuer) KeyID() string {
	i.mu.RLock()
	defer i.mu.RUnlock()
	return i.current.kid
}

// StageNextKey generates a next key with the issuer's algorithm and publishes
// it in the JWK Set without signing with it, as Logto does ahead of a
// rotation. It returns the next key's "kid". If a next key is already staged,
// it returns that key's "kid" and changes nothing.
func (i *Issuer) StageNextKey() string {
	i.mu.RLock()
	staged := i.next
	i.mu.RUnlock()
	if staged != nil {
		return staged.kid
	}
	// Generate outside the lock: RSA key generation is slow.
	fresh := mustNewSigningKey(i.alg)
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.next == nil {
		i.next = fresh
	}
	return i.next.kid
}

// RotateKeys makes the staged next key current, staging one first if none is
// staged. The old current key becomes the previous key and stays published;
// a key that was previous before is dropped from the JWK Set. Tokens minted
// afterwards are signed with the new current key. It returns the new current
// key's "kid".
func (i *Issuer) RotateKeys() string {
	i.StageNextKey()
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.next == nil {
		// Another goroutine rotated between staging and locking.
		i.next = mustNewSigningKey(i.alg)
	}
	i.previous, i.current, i.next = i.current, i.next, nil
	return i.current.kid
}

// DropPreviousKey removes the previous key from the JWK Set, as deleting a
// rotated-out key in Logto does. Tokens it signed must stop validating once
// a validator refreshes its keys. It does nothing if there is no previous
// key.
func (i *Issuer) DropPreviousKey() {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.previous = nil
}

// publishedKeys returns the public JWKs in Logto's order: current, next,
// previous.
func (i *Issuer) publishedKeys() []jwkset.JWKMarshal {
	i.mu.RLock()
	defer i.mu.RUnlock()
	keys := []jwkset.JWKMarshal{i.current.jwk}
	if i.next != nil {
		keys = append(keys, i.next.jwk)
	}
	if i.previous != nil {
		keys = append(keys, i.previous.jwk)
	}
	return keys
}

// discovery is the subset of OpenID Provider Metadata a validator needs.
type discovery struct {
	Issuer                           string   `json:"issuer"`
	JWKSURI                          string   `json:"jwks_uri"`
	TokenEndpoint                    string   `json:"token_endpoint"`
	ResponseTypesSupported           []string `json:"response_types_supported"`
	SubjectTypesSupported            []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported"`
}

func (i *Issuer) serveDiscovery(w http.ResponseWriter, _ *http.Request) {
	if i.unavailable.Load() {
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, discovery{
		Issuer:                           i.URL(),
		JWKSURI:                          i.JWKSURL(),
		TokenEndpoint:                    i.URL() + "/token",
		ResponseTypesSupported:           []string{"code"},
		SubjectTypesSupported:            []string{"public"},
		IDTokenSigningAlgValuesSupported: []string{i.alg},
	})
}

func (i *Issuer) serveJWKS(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet { // the pattern also routes HEAD here
		i.jwksRequests.Add(1)
	}
	if i.unavailable.Load() {
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Cache-Control", jwksCacheControl)
	writeJSON(w, jwkset.JWKSMarshal{Keys: i.publishedKeys()})
}

func writeJSON(w http.ResponseWriter, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "authztest: encoding response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// onlyHosts answers the requests for one of hosts with next, and the
// others with 421 Misdirected Request (RFC 9110 section 15.5.20).
func onlyHosts(hosts []string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, h := range hosts {
			if strings.EqualFold(r.Host, h) {
				next.ServeHTTP(w, r)
				return
			}
		}
		http.Error(w, "this issuer does not serve that host", http.StatusMisdirectedRequest)
	})
}
