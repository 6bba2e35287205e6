package middleware

import (
	"net/http"
	"strings"
	"time"

	"github.com/seed31d61d31/authz"
)

// Enforce returns middleware that applies one [authz.Policy] to every
// request, typically wrapping a whole [http.ServeMux]:
//
//	handler := mw.Enforce(policy)(mux)
//
// Each request is matched to the policy's most specific route pattern,
// exactly as an http.ServeMux would match it (the policy's patterns are
// registered on an internal ServeMux once, when Enforce is called). Then:
//
//   - a public rule calls next at once, without looking at credentials: no
//     claims are put in the context (wrap the route's handler with
//     [Middleware.AllowAnonymous] to read an optional token);
//   - any other rule authenticates the request as [Middleware.Authenticate]
//     does, reads the organization the request names (the rule's path value
//     or header), and calls [authz.Rule.Authorize]; a refusal is answered
//     with 403 and the rule's permissions (all of AllOf, then AnyOf) in the
//     challenge's scope attribute;
//   - a request no rule matches is refused: 401 (or 400, 503) if it has no
//     valid token, else 403. So are requests the ServeMux would answer with
//     a redirect (a path to clean, a missing trailing slash) or 405: only
//     requests that reach a rule's route are let through. A rule for "/"
//     matches every route no other rule matches.
//
// Claims already in the context (from an outer Authenticate) are used
// without validating the token again. The policy's patterns should be the
// ones the application's ServeMux serves, so both agree on the route.
//
// Enforce panics if p is nil.
func (m *Middleware) Enforce(p *authz.Policy) func(http.Handler) http.Handler {
	if p == nil {
		panic("middleware: Enforce(nil *authz.Policy)")
	}
	mux := http.NewServeMux()
	for _, rule := range p.Rules() {
		mux.Handle(rule.Pattern, newRuleHandler(rule))
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h, _ := mux.Handler(r)
			rh, ok := h.(*ruleHandler)
			if !ok {
				m.unlisted(w, r)
				return
			}
			if rh.public {
				next.ServeHTTP(w, r)
				return
			}
			c, r, ok := m.authenticate(w, r)
			if !ok {
				return
			}
			start := time.Now()
			err := rh.authorize(mux, r, c)
			m.observe(r, c, err, rh.rule.Pattern, start)
			if err != nil {
				m.refuse(w, r, refusal{err: err, scope: rh.scope, claims: c, route: rh.rule.Pattern})
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// unlisted refuses a request that no rule of the policy matches.
func (m *Middleware) unlisted(w http.ResponseWriter, r *http.Request) {
	c, r, ok := m.authenticate(w, r)
	if !ok {
		return
	}
	err := &authz.Error{Kind: authz.ErrInsufficientScope, Reason: "the policy lists no rule for this route"}
	m.observe(r, c, err, "", time.Now())
	m.refuse(w, r, refusal{err: err, claims: c})
}

// ruleHandler is the handler registered on Enforce's ServeMux for one rule.
// Its ServeHTTP writes nothing: it reads the organization path value into a
// [probe].
type ruleHandler struct {
	rule   authz.Rule
	public bool
	// scope is the challenge's scope attribute: AllOf then AnyOf.
	scope string
	// header is the canonical organization header, if any.
	header string
}

func newRuleHandler(rule authz.Rule) *ruleHandler {
	perms := append(append([]string(nil), rule.AllOf...), rule.AnyOf...)
	h := &ruleHandler{
		rule:   rule,
		public: rule.Authorize(nil, "") == nil,
		scope:  sanitize(strings.Join(perms, " ")),
	}
	if rule.Organization != nil && rule.Organization.Header != "" {
		h.header = http.CanonicalHeaderKey(rule.Organization.Header)
	}
	return h
}

// ServeHTTP records the organization path value of r, matched by the
// ServeMux, in w when w is a *probe; it writes nothing either way.
func (h *ruleHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p, ok := w.(*probe); ok && h.rule.Organization != nil {
		p.orgID = r.PathValue(h.rule.Organization.PathValue)
	}
}

// authorize applies the rule to claims c of request r.
func (h *ruleHandler) authorize(mux *http.ServeMux, r *http.Request, c *authz.Claims) *authz.Error {
	var orgID string
	if o := h.rule.Organization; o != nil {
		switch {
		case o.PathValue != "":
			// Path values exist only on a request the ServeMux served. It
			// sets them on the request it is given: serve a shallow copy,
			// so that r keeps those of the application's own ServeMux.
			var p probe
			mux.ServeHTTP(&p, r.WithContext(r.Context()))
			orgID = p.orgID
		case o.Header != "":
			var err *authz.Error
			if orgID, err = headerOrganization(r, h.header); err != nil {
				return err
			}
		}
		if orgID == "" {
			return &authz.Error{Kind: authz.ErrOrganization, Reason: "the request names no organization"}
		}
	}
	if err := h.rule.Authorize(c, orgID); err != nil {
		return asError(err, authz.ErrInsufficientScope)
	}
	return nil
}

// probe is the ResponseWriter given to Enforce's ServeMux: it discards
// whatever is written and carries the organization path value back.
type probe struct {
	orgID  string
	header http.Header
}

func (p *probe) Header() http.Header {
	if p.header == nil {
		p.header = http.Header{}
	}
	return p.header
}

func (p *probe) Write(b []byte) (int, error) { return len(b), nil }

func (p *probe) WriteHeader(int) {}
