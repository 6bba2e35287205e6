package middleware

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/internal/options"
)

// DefaultRealm is the realm sent in every WWW-Authenticate challenge unless
// [WithRealm] sets another.
const DefaultRealm = "api"

// Middleware builds net/http middleware that authenticates requests with a
// [authz.Validator] and authorizes them against permissions, organizations
// or a [authz.Policy]. Create it once with [New] and share it: its methods
// return middleware of the standard func(http.Handler) http.Handler shape,
// and every argument they take is checked when they are called, not per
// request. A Middleware is immutable and safe for concurrent use.
type Middleware struct {
	v          *authz.Validator
	onError    func(w http.ResponseWriter, r *http.Request, err error)
	log        *slog.Logger
	allowQuery bool
	allowForm  bool
	cookie     string // the token cookie's name (AllowCookieToken), or ""
	preflight  bool   // AllowPreflight
	// realm is the realm parameter of every challenge, `realm="api"`, or ""
	// for none.
	realm string
	// resourceMetadata is the resource_metadata parameter of every
	// challenge (WithResourceMetadata), or "" for none.
	resourceMetadata string
	// observer receives authorization decisions (WithObserver).
	observer authz.Observer
	// kind is the token kind of organization routes (Accept); 0 leaves it
	// to the validator.
	kind authz.TokenKind
	// dpop is WithDPoP's mode; externalURL and forwarded say how to build
	// the URL a DPoP proof's "htu" must match. algs is the algs attribute
	// of DPoP challenges, `algs="ES256 ..."`.
	dpop        authz.DPoPMode
	externalURL string
	forwarded   bool
	algs        string
}

// New returns a Middleware that validates bearer tokens with v. It returns
// an error if v is nil or an option is invalid (a nil option, an empty
// handler or logger, a realm that cannot be sent in a quoted string).
//
// By default a token is taken only from the Authorization header
// (RFC 6750 section 2.1), challenges carry realm="api", denials are written
// as RFC 6750 responses with a small JSON body, and they are logged to
// [slog.Default].
func New(v *authz.Validator, opts ...Option) (*Middleware, error) {
	if v == nil {
		return nil, errors.New("middleware: nil *authz.Validator")
	}
	c := config{realm: DefaultRealm}
	if err := options.Apply("middleware: ", opts, &c.Failure, func(o Option) { o.apply(&c) }); err != nil {
		return nil, err
	}
	m := &Middleware{
		v:          v,
		onError:    c.onError,
		log:        c.logger,
		allowQuery: c.allowQuery,
		allowForm:  c.allowForm,
		cookie:     c.cookie,
		preflight:  c.preflight,

		resourceMetadata: c.resourceMetadata,
		observer:         c.observer,

		dpop:        c.dpop,
		externalURL: c.externalURL,
		forwarded:   c.forwarded,
	}
	if m.dpop != authz.BearerOnly {
		algs := v.DPoPAlgorithms()
		if algs == nil {
			return nil, errors.New("middleware: WithDPoP needs a validator that accepts DPoP (authz.WithDPoP)")
		}
		m.algs = `algs="` + strings.Join(algs, " ") + `"`
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	if c.realm != "" {
		m.realm = `realm="` + c.realm + `"`
	}
	return m, nil
}
