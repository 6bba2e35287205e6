package middleware

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/seed31d61d31/authz"
)

// Require returns middleware for a global route of an API: it
// authenticates the request as [Middleware.Authenticate] does and requires
// an API token (its "aud" is one of the validator's API resource
// indicators) that is not bound to an organization and grants every one of
// perms (its "scope" claim, RFC 9068 section 2.2.3). With no perms, any
// such token passes.
//
// A token lacking a permission is refused with 403 and a challenge with
// error="insufficient_scope" and scope="<perms, space-separated>" (RFC 6750
// section 3.1). A token bound to an organization (an organization-level
// API token, with "organization_id") is refused with 403 whatever its
// scopes: the permissions its organization roles grant hold only inside
// that organization. An organization token is refused with 401
// invalid_token: it is not for this API. Claims that the same validator
// already put in the context are used without validating the token again.
//
// Require panics if a permission is not one a "scope" can carry (empty,
// whitespace, a control character, invalid UTF-8), or if the validator
// accepts no API audience; it checks its arguments once, when called.
func (m *Middleware) Require(perms ...string) func(http.Handler) http.Handler {
	return m.guard("Require", authz.Requirement{Token: authz.APIToken, AllOf: perms}, nil).middleware
}

// RequireAny is [Middleware.Require] for "at least one of perms". The
// challenge of a refusal lists all of perms in its scope attribute, and its
// error_description says one of them is needed.
//
// RequireAny panics if perms is empty (no token could pass), and as
// Require does.
func (m *Middleware) RequireAny(perms ...string) func(http.Handler) http.Handler {
	if len(perms) == 0 {
		panic("middleware: RequireAny needs at least one permission")
	}
	return m.guard("RequireAny", authz.Requirement{Token: authz.APIToken, AnyOf: perms}, nil).middleware
}

// Accept returns a Middleware like m whose organization routes
// ([Middleware.RequireOrganizationFromPath], …FromHeader and …FromToken)
// accept tokens of kind k only. It is needed, and only allowed, when the
// validator accepts both API and organization tokens (its audiences hold
// an API resource indicator and an organization), because the two kinds
// carry permissions from separate namespaces whose names may collide:
//
//	orgs := mw.Accept(authz.OrganizationToken)
//	mux.Handle("GET /orgs/{orgID}/members", orgs.RequireOrganizationFromPath("orgID", "read:members")(members))
//	apis := mw.Accept(authz.APIToken)
//	mux.Handle("GET /orgs/{orgID}/reports", apis.RequireOrganizationFromPath("orgID", "read:reports")(reports))
//
// With a validator of one kind, organization routes take that kind
// without Accept. Accept panics if k is not [authz.APIToken] or
// [authz.OrganizationToken]. [Middleware.Require] and
// [Middleware.RequireAny] always take API tokens.
func (m *Middleware) Accept(k authz.TokenKind) *Middleware {
	if k != authz.APIToken && k != authz.OrganizationToken {
		panic(fmt.Sprintf("middleware: Accept(%v): want authz.APIToken or authz.OrganizationToken", k))
	}
	c := *m
	c.kind = k
	return &c
}

// guard is one route's requirement, built once when the route's middleware
// is made; every route helper and every policy rule serves requests
// through it.
type guard struct {
	m   *Middleware
	req authz.Requirement // resolved against m's validator
	// org reads the organization the request names, for
	// authz.OrganizationFromRequest; nil otherwise.
	org func(*http.Request) (string, *authz.Error)
	// scope is the scope attribute of a 403 challenge: the required
	// permissions that fit an RFC 6750 quoted string; perms is all of them,
	// for the JSON body.
	scope, perms string
	// route is the policy pattern, "" outside Enforce.
	route string
}

// guard resolves req for the method fn (its name in panics) against m's
// validator, with m's token kind for an organization route that does not
// name one.
func (m *Middleware) guard(fn string, req authz.Requirement, org func(*http.Request) (string, *authz.Error)) *guard {
	if req.Token == 0 && req.Organization != authz.NoOrganization {
		req.Token = m.kind
	}
	resolved, err := m.v.Resolve(req)
	if err != nil {
		if req.Organization != authz.NoOrganization && req.Token == 0 {
			panic(fmt.Sprintf("middleware: %s: %v; say it with mw.Accept(authz.APIToken) or mw.Accept(authz.OrganizationToken), or a policy rule's Token", fn, err))
		}
		panic(fmt.Sprintf("middleware: %s: %v", fn, err))
	}
	all := append(append([]string(nil), resolved.AllOf...), resolved.AnyOf...)
	var fit []string
	for _, p := range all {
		if fitsScope(p) {
			fit = append(fit, p)
		}
	}
	return &guard{m: m, req: resolved, org: org, scope: strings.Join(fit, " "), perms: strings.Join(all, " ")}
}

// middleware wraps next: the request passes only with claims that meet the
// guard's requirement.
func (g *guard) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.m.isPreflight(r) {
			next.ServeHTTP(w, r)
			return
		}
		c, r, ok := g.m.authenticate(w, r)
		if ok && g.authorize(w, r, c) {
			next.ServeHTTP(w, r)
		}
	})
}

// authorize checks claims c of request r against the requirement, reports
// the decision, and answers a refusal. It reports whether r may go on.
func (g *guard) authorize(w http.ResponseWriter, r *http.Request, c *authz.Claims) bool {
	ctx, start := g.m.observer.Begin(r.Context())
	err := g.check(r, c)
	route := g.route
	if route == "" {
		route = r.Pattern
	}
	g.m.observer.Authorization(ctx, c, err, route, start)
	if err != nil {
		g.m.refuse(w, r, refusal{err: err, scope: g.scope, perms: g.perms, claims: c, route: g.route})
		return false
	}
	return true
}

// check is the requirement on claims c of request r.
func (g *guard) check(r *http.Request, c *authz.Claims) *authz.Error {
	var orgID string
	if g.org != nil {
		var err *authz.Error
		if orgID, err = g.org(r); err != nil {
			return err
		}
	}
	return authz.AsError(g.req.Check(c, orgID), authz.ErrInsufficientScope)
}
