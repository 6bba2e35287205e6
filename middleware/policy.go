package middleware

import (
	"fmt"
	"net/http"

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
//     or header), and checks the rule's [authz.Rule.Requirement], exactly
//     as the route helpers do: a rule without an organization is a global
//     route for API tokens ([Middleware.Require]), a rule with one an
//     organization route ([Middleware.RequireOrganizationFromPath], …FromHeader,
//     …FromToken). A refusal for a permission or an organization is
//     answered with 403 and the rule's permissions (all of AllOf, then
//     AnyOf) in the challenge's scope attribute;
//   - a request no rule matches is refused: 401 (or 400, 503) if it has no
//     valid token, else 403. So are requests the ServeMux would answer with
//     a redirect (a path to clean, a missing trailing slash) or 405: only
//     requests that reach a rule's route are let through. A rule for "/"
//     matches every route no other rule matches.
//
// Claims that the same validator already put in the context are used
// without validating the token again. The policy's patterns should be the
// ones the application's ServeMux serves, so both agree on the route.
//
// Enforce panics if p is nil, or if a rule does not fit the validator: a
// token kind it does not accept, or an organization rule without a Token
// kind while the validator accepts both kinds (and [Middleware.Accept] did
// not choose one).
func (m *Middleware) Enforce(p *authz.Policy) func(http.Handler) http.Handler {
	if p == nil {
		panic("middleware: Enforce(nil *authz.Policy)")
	}
	mux := http.NewServeMux()
	for i, rule := range p.Rules() {
		mux.Handle(rule.Pattern, m.newRuleHandler(i, rule, mux))
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if m.isPreflight(r) {
				next.ServeHTTP(w, r)
				return
			}
			h, _ := mux.Handler(r)
			rh, ok := h.(*ruleHandler)
			if !ok {
				m.unlisted(w, r)
				return
			}
			if rh.guard == nil { // public
				next.ServeHTTP(w, r)
				return
			}
			c, r, ok := m.authenticate(w, r)
			if ok && rh.guard.authorize(w, r, c) {
				next.ServeHTTP(w, r)
			}
		})
	}
}

// unlisted refuses a request that no rule of the policy matches.
func (m *Middleware) unlisted(w http.ResponseWriter, r *http.Request) {
	c, r, ok := m.authenticate(w, r)
	if !ok {
		return
	}
	ctx, start := m.observer.Begin(r.Context())
	err := &authz.Error{Kind: authz.ErrInsufficientScope, Reason: "the policy lists no rule for this route"}
	m.observer.Authorization(ctx, c, err, "", start)
	m.refuse(w, r, refusal{err: err, claims: c})
}

// ruleHandler is the handler registered on Enforce's ServeMux for one rule.
// Its ServeHTTP writes nothing: it reads the organization path value into a
// [probe].
type ruleHandler struct {
	// guard is the rule's requirement; nil for a public rule.
	guard *guard
	// pathValue is the wildcard naming the organization, if any.
	pathValue string
}

// newRuleHandler builds the handler of rule i of a policy; mux is Enforce's
// ServeMux, which matches path values. It panics if the rule does not fit
// the validator (a token kind it does not accept, or an organization rule
// that does not name its kind with a validator that accepts both).
func (m *Middleware) newRuleHandler(i int, rule authz.Rule, mux *http.ServeMux) *ruleHandler {
	h := &ruleHandler{}
	if rule.Authorize(nil, "") == nil { // public
		return h
	}
	var org func(*http.Request) (string, *authz.Error)
	switch o := rule.Organization; {
	case o == nil || o.FromToken:
	case o.PathValue != "":
		h.pathValue = o.PathValue
		org = func(r *http.Request) (string, *authz.Error) {
			// Path values exist only on a request the ServeMux served. It
			// sets them on the request it is given: serve a shallow copy,
			// so that r keeps those of the application's own ServeMux.
			var p probe
			mux.ServeHTTP(&p, r.WithContext(r.Context()))
			return p.orgID, nil
		}
	default:
		var err error
		if org, err = headerOrganization(o.Header); err != nil { // NewPolicy checked it
			panic(fmt.Sprintf("middleware: Enforce: rule %d (%q): %v", i, rule.Pattern, err))
		}
	}
	h.guard = m.guard(fmt.Sprintf("Enforce: rule %d (%q)", i, rule.Pattern), rule.Requirement(), org)
	h.guard.route = rule.Pattern
	return h
}

// ServeHTTP records the organization path value of r, matched by the
// ServeMux, in w when w is a *probe; it writes nothing either way.
func (h *ruleHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p, ok := w.(*probe); ok && h.pathValue != "" {
		p.orgID = r.PathValue(h.pathValue)
	}
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
