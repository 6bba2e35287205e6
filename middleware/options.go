package middleware

import (
	"log/slog"
	"net/http"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/internal/header"
	"github.com/seed31d61d31/authz/internal/options"
)

// config collects the options; New checks it once.
type config struct {
	options.Failure
	realm      string
	onError    func(w http.ResponseWriter, r *http.Request, err error)
	logger     *slog.Logger
	allowQuery bool
	allowForm  bool
	// cookie is the name of the cookie that may carry the token, or "".
	cookie string
	// preflight lets CORS preflights through (AllowPreflight).
	preflight bool
	// resourceMetadata is the resource_metadata attribute of every
	// challenge, `resource_metadata="<url>"`, or "" for none.
	resourceMetadata string
	observer         authz.Observer
	// dpop, externalURL and forwarded are WithDPoP, WithExternalURL and
	// WithForwardedHeaders.
	dpop        authz.DPoPMode
	externalURL string
	forwarded   bool
}

// Option configures a [Middleware] in [New]. Options are made by the
// functions of this package only; a nil Option makes New fail.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithRealm sets the realm of the WWW-Authenticate challenges
// (RFC 7235 section 2.2). Default [DefaultRealm] ("api"). WithRealm("")
// leaves the realm out: the challenge is then just "Bearer". The realm is
// sent in a quoted string, so it may hold only printable ASCII other than
// '"' and '\'; New fails otherwise.
func WithRealm(realm string) Option {
	return optionFunc(func(c *config) {
		if !quotable(realm) {
			c.Fail("middleware: ", "realm %q has a character outside printable ASCII, or '\"' or '\\'", realm)
			return
		}
		c.realm = realm
	})
}

// WithErrorHandler replaces the response written when a request is refused.
// By default the middleware answers as RFC 6750 section 3 says: a status
// code, a WWW-Authenticate challenge and a small JSON body (see the package
// documentation). h receives the refusal as an [*authz.Error] whose Kind is
// one of the authz sentinel errors or [authz.ErrInvalidRequest]; [StatusCode]
// gives the status the default response would have used. h must write the
// whole response; the next handler is not called. Refusals are logged
// before h is called, whichever handler answers. A nil h makes New fail.
func WithErrorHandler(h func(w http.ResponseWriter, r *http.Request, err error)) Option {
	return optionFunc(func(c *config) {
		if h == nil {
			c.Fail("middleware: ", "WithErrorHandler(nil)")
			return
		}
		c.onError = h
	})
}

// WithLogger sets the logger for refused requests. Default [slog.Default].
// Refusals for the client's own reasons (400, 401, 403) are logged at
// [slog.LevelDebug], so that by default they are not logged at all: they
// are routine (a token expires every hour), and at a higher level any
// client could fill the logs with forged tokens; count them with an
// [authz.Observer] instead. A 503 (keys unavailable) is the server's
// problem and is logged at [slog.LevelWarn]. Each record
// has the reason, the method, the path (never the query) and, once a token
// validated, its subject. The token is never logged. To log nothing, pass a
// logger with [slog.DiscardHandler]. A nil logger makes New fail.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if l == nil {
			c.Fail("middleware: ", "WithLogger(nil)")
			return
		}
		c.logger = l
	})
}

// AllowQueryToken also accepts a token in the "access_token" query
// parameter (RFC 6750 section 2.3). Off by default: a request carrying
// access_token in its query is then refused with 400 invalid_request. URLs
// end up in access logs, browser history and Referer headers, so RFC 6750
// advises against this method; enable it only for clients that cannot set a
// header (an EventSource, a WebSocket handshake from a browser), and keep
// the query out of your own logs: the middleware passes the request to the
// next handler unchanged.
func AllowQueryToken() Option {
	return optionFunc(func(c *config) { c.allowQuery = true })
}

// AllowFormToken also accepts a token in the "access_token" field of an
// application/x-www-form-urlencoded POST body (RFC 6750 section 2.2). Off by
// default: bodies are then never read. When on, the middleware parses the
// form of such requests with [http.Request.ParseForm], so the next handler
// finds it in r.PostForm and r.Body is already consumed.
func AllowFormToken() Option {
	return optionFunc(func(c *config) { c.allowForm = true })
}

// AllowCookieToken also accepts the token in the cookie name, for a
// same-site web application that keeps its access token in an HttpOnly
// cookie. Off by default: cookies are then never read. A request that
// carries the token both in the cookie and in the Authorization header (or
// in the cookie twice, or in an empty cookie) is refused with 400
// invalid_request.
//
// A cookie is sent by the browser with every request to the site, also
// those another site makes it send: a cookie-borne token is open to
// cross-site request forgery unless the cookie is SameSite=Strict (or Lax,
// for requests that change nothing) and the API is same-site with the web
// application. Never use it for an API called cross-site. name must be a
// valid cookie name (an RFC 9110 token); New fails otherwise.
func AllowCookieToken(name string) Option {
	return optionFunc(func(c *config) {
		if !header.ValidName(name) {
			c.Fail("middleware: ", "AllowCookieToken(%q): not a valid cookie name", name)
			return
		}
		c.cookie = name
	})
}

// AllowPreflight lets CORS preflight requests through to the next handler
// without a token: an OPTIONS request with an Origin and an
// Access-Control-Request-Method header, and no credentials at all (no
// Authorization header and no token cookie), as browsers send before a
// cross-origin request with an Authorization header. Every other request,
// other OPTIONS requests included, needs a valid token as before. Off by
// default: a preflight is then refused with 401, since it carries no
// credentials.
//
// It is needed only when the CORS middleware sits inside the authz
// middleware, or handlers answer preflights themselves; a CORS middleware
// wrapped around the authz middleware answers preflights before they reach
// it. The handler that receives a preflight sees no claims in its context.
func AllowPreflight() Option {
	return optionFunc(func(c *config) { c.preflight = true })
}

// WithResourceMetadata makes every WWW-Authenticate challenge carry
// resource_metadata="<metadataURL>" (RFC 9728 section 5.1): the URL of the
// resource's protected resource metadata, which tells a client (an MCP
// client, for one) which authorization server to get a token from. Use
// [MetadataHandler.URL] of the handler that serves it. Default: no
// resource_metadata attribute.
//
// The attribute is added to every challenge the middleware sends: 401
// without a token or with an invalid one, 403 insufficient_scope (which
// also carries scope="..."), and 400 invalid_request, whose challenge is a
// WWW-Authenticate response too. A 503 has no challenge, and a
// [WithErrorHandler] hook writes its own response. metadataURL must be an
// absolute https URL (http only for a loopback host) in printable ASCII
// without '"' or '\', user information or fragment; New fails otherwise.
func WithResourceMetadata(metadataURL string) Option {
	return optionFunc(func(c *config) {
		if _, err := checkHTTPSURL("resource metadata URL", metadataURL); err != nil {
			c.Fail("", "%w", err) // already prefixed "middleware: "
			return
		}
		c.resourceMetadata = `resource_metadata="` + metadataURL + `"`
	})
}

// WithObserver reports every authorization decision the middleware makes
// (a permission, organization or policy check on validated claims, allowed
// or refused) to o.Decision, as an [authz.Decision] with Stage
// [authz.StageAuthorize] and the route. Validations are reported by the
// validator's own observer ([authz.WithObserver]); pass the same Observer to
// both. Default none, which costs nothing.
func WithObserver(o authz.Observer) Option {
	return optionFunc(func(c *config) { c.observer = o })
}
