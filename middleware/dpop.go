package middleware

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/internal/baseurl"
	"github.com/seed31d61d31/authz/internal/bearer"
)

// WithDPoP sets which schemes the Middleware accepts (default
// [authz.BearerOnly]). [authz.DPoPAllowed] and [authz.DPoPRequired] need a
// validator made with [authz.WithDPoP]; New fails otherwise. A DPoP request carries its token
// as "Authorization: DPoP <token>" and exactly one "DPoP" header, its
// proof, whose "htu" must be the URL the client used: by default the
// request's scheme (https when it came over TLS), its Host header and its
// path as received; see [WithExternalURL] and [WithForwardedHeaders] for
// an API behind a proxy.
func WithDPoP(mode authz.DPoPMode) Option {
	return optionFunc(func(c *config) {
		if !mode.Valid() {
			c.Fail("middleware: ", "WithDPoP: unknown mode %d", mode)
			return
		}
		c.dpop = mode
	})
}

// WithExternalURL sets the URL clients reach the API at, for the "htu" of
// DPoP proofs: base ("https://api.example.com", or with a path prefix that
// a proxy strips, "https://example.com/api") followed by the request's
// path. Every replica behind one load balancer then checks proofs against
// the same URL, whatever Host or scheme the balancer forwards. base is an
// absolute http or https URL without query, fragment, user information or
// trailing slash; New fails otherwise.
func WithExternalURL(base string) Option {
	return optionFunc(func(c *config) {
		if !baseurl.Valid(base, true) {
			c.Fail("middleware: ", "WithExternalURL(%q): want an absolute http or https URL with no query, fragment, user information or trailing slash", base)
			return
		}
		c.externalURL = base
	})
}

// WithForwardedHeaders takes the scheme and host of the URL for DPoP's
// "htu" from the request's X-Forwarded-Proto and X-Forwarded-Host headers
// (their first value), when present. Use it only behind a proxy that sets
// them and strips them from clients' requests: anyone else can send them.
// [WithExternalURL], when set, wins. By default those headers are ignored.
func WithForwardedHeaders() Option {
	return optionFunc(func(c *config) { c.forwarded = true })
}

// dpopHeader is the name of the proof's header (RFC 9449 section 4.1).
const dpopHeader = "DPoP"

// requestURL is the URL of r as its client sent it, for "htu".
func (m *Middleware) requestURL(r *http.Request) string {
	path := r.URL.EscapedPath()
	// The path as received, before any StripPrefix: the request target up
	// to its query, when it is a path (the usual origin form), else parsed.
	if t := r.RequestURI; strings.HasPrefix(t, "/") {
		path, _, _ = strings.Cut(t, "?")
	} else if t != "" {
		if u, err := url.ParseRequestURI(t); err == nil {
			path = u.EscapedPath()
		}
	}
	if m.externalURL != "" {
		return m.externalURL + path
	}
	scheme, host := "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if m.forwarded {
		if p := firstValue(r.Header.Get("X-Forwarded-Proto")); p == "http" || p == "https" {
			scheme = p
		}
		if h := firstValue(r.Header.Get("X-Forwarded-Host")); h != "" {
			host = h
		}
	}
	return scheme + "://" + host + path
}

// firstValue is the first of a comma-separated header's values, trimmed.
func firstValue(v string) string {
	if i := strings.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSpace(v)
}

// proofOf returns the one DPoP proof of r (RFC 9449 section 4.3: not more
// than one DPoP header), "" when there is none.
func proofOf(r *http.Request) (string, *authz.Error) {
	vals := r.Header.Values(dpopHeader)
	switch {
	case len(vals) == 0:
		return "", nil
	case len(vals) > 1 || strings.Contains(vals[0], ","):
		return "", &authz.Error{Kind: authz.ErrDPoPProof, Reason: "the request has more than one DPoP proof"}
	}
	return strings.TrimSpace(vals[0]), nil
}

// The credential schemes of each mode in the Authorization header.
var (
	bearerScheme = []string{bearer.Bearer}
	bothSchemes  = []string{bearer.Bearer, bearer.DPoP} // DPoPRequired too: Bearer, to refuse it with a reason
)

// schemes are the credential schemes m accepts in the Authorization header.
func (m *Middleware) schemes() []string {
	if m.dpop == authz.BearerOnly {
		return bearerScheme
	}
	return bothSchemes
}

// usedDPoP reports whether r presents its token with the DPoP scheme, which
// m accepts.
func (m *Middleware) usedDPoP(r *http.Request) bool {
	if m.dpop == authz.BearerOnly {
		return false
	}
	scheme, _, _ := bearer.ParseScheme(r.Header.Values("Authorization"), "", bearer.DPoP)
	return scheme == bearer.DPoP
}

// validateDPoP validates the DPoP token tok of r with its proof.
func (m *Middleware) validateDPoP(r *http.Request, tok authz.Token) (*authz.Claims, *authz.Error) {
	proof, err := proofOf(r)
	if err != nil {
		return nil, err
	}
	c, verr := m.v.ValidateDPoP(r.Context(), string(tok), authz.DPoPRequest{Proof: proof, Method: r.Method, URL: m.requestURL(r)})
	if verr != nil {
		return nil, demote(verr)
	}
	return c, nil
}

// challenges are the WWW-Authenticate challenges of a refusal: one per
// scheme m accepts, params (error, description, scope) on the one of the
// scheme the request used, and that one first.
func (m *Middleware) challenges(dpop bool, params ...string) []string {
	switch m.dpop {
	case authz.DPoPRequired:
		return []string{m.dpopChallenge(params...)}
	case authz.DPoPAllowed:
		if dpop {
			return []string{m.dpopChallenge(params...), m.challenge()}
		}
		return []string{m.challenge(params...), m.dpopChallenge()}
	}
	return []string{m.challenge(params...)}
}

// dpopChallenge is a DPoP challenge (RFC 9449 section 7.1): the realm, then
// params, then the accepted proof algorithms and resource_metadata.
func (m *Middleware) dpopChallenge(params ...string) string {
	if m.realm != "" {
		params = append([]string{m.realm}, params...)
	}
	params = append(params, m.algs)
	if m.resourceMetadata != "" {
		params = append(params, m.resourceMetadata)
	}
	return "DPoP " + strings.Join(params, ", ")
}

// nonceHeader is the response header of the server nonce (RFC 9449
// section 8).
const nonceHeader = "DPoP-Nonce"

// offerNonce sets the DPoP-Nonce header of the answer to a DPoP request
// when the validator asks for server nonces: the nonce the client's next
// proof must carry, on success (it may have rotated) and on refusal (with
// use_dpop_nonce, the client retries with it).
func (m *Middleware) offerNonce(w http.ResponseWriter) {
	if n := m.v.DPoPNonce(); n != "" {
		w.Header().Set(nonceHeader, n)
	}
}
