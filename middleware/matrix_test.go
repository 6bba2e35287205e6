package middleware_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/internal/routematrix"
)

// endpoint is one way of protecting a route of a kind of the matrix.
type endpoint struct {
	route routematrix.Route
	via   string // how it is protected, for the test name
	path  string // the request's path
	// header is true when the request names the organization in
	// X-Organization-Id rather than in the path.
	header bool
}

// TestRouteMatrix crosses every kind of route, protected by each route
// helper and by each kind of policy rule, with every kind of token, through
// real HTTP, on one validator that accepts API and organization tokens.
// The expected answers are those of internal/routematrix, which the gRPC
// interceptors and the Check functions are tested against too.
func TestRouteMatrix(t *testing.T) {
	e := newEnv(t, false)
	mw := e.middleware(t, e.validator(t, api, authz.AnyOrganization))
	apis, orgs := mw.Accept(authz.APIToken), mw.Accept(authz.OrganizationToken)
	const perm, other, hdr = routematrix.Permission, routematrix.Other, "X-Organization-Id"
	r := routematrix.Routes
	mux := http.NewServeMux()
	var endpoints []endpoint
	handle := func(route routematrix.Route, via, pattern, path string, header bool, m func(http.Handler) http.Handler) {
		mux.Handle(pattern, m(echo))
		endpoints = append(endpoints, endpoint{route: route, via: via, path: path, header: header})
	}
	handle(r[0], "Require", "GET /h/global-all", "/h/global-all", false, mw.Require(perm))
	handle(r[1], "RequireAny", "GET /h/global-any", "/h/global-any", false, mw.RequireAny(perm, other))
	handle(r[2], "RequireOrganizationFromPath", "GET /h/api/{org}", "/h/api/org-a", false, apis.RequireOrganizationFromPath("org", perm))
	handle(r[2], "RequireOrganizationFromHeader", "GET /h/api-header", "/h/api-header", true, apis.RequireOrganizationFromHeader(hdr, perm))
	handle(r[3], "RequireOrganizationFromToken", "GET /h/api-token", "/h/api-token", false, apis.RequireOrganizationFromToken(perm))
	handle(r[4], "RequireOrganizationFromPath", "GET /h/org/{org}", "/h/org/org-a", false, orgs.RequireOrganizationFromPath("org", perm))
	handle(r[4], "RequireOrganizationFromHeader", "GET /h/org-header", "/h/org-header", true, orgs.RequireOrganizationFromHeader(hdr, perm))
	handle(r[5], "RequireOrganizationFromToken", "GET /h/org-token", "/h/org-token", false, orgs.RequireOrganizationFromToken(perm))

	all := []string{perm}
	policy := mustPolicy(t,
		authz.Rule{Pattern: "GET /p/global-all", AllOf: all},
		authz.Rule{Pattern: "GET /p/global-any", AnyOf: []string{perm, other}},
		authz.Rule{Pattern: "GET /p/api/{org}", Token: authz.APIToken, Organization: &authz.OrgSource{PathValue: "org"}, AllOf: all},
		authz.Rule{Pattern: "GET /p/api-header", Token: authz.APIToken, Organization: &authz.OrgSource{Header: hdr}, AllOf: all},
		authz.Rule{Pattern: "GET /p/api-token", Token: authz.APIToken, Organization: &authz.OrgSource{FromToken: true}, AllOf: all},
		authz.Rule{Pattern: "GET /p/org/{org}", Token: authz.OrganizationToken, Organization: &authz.OrgSource{PathValue: "org"}, AllOf: all},
		authz.Rule{Pattern: "GET /p/org-header", Token: authz.OrganizationToken, Organization: &authz.OrgSource{Header: hdr}, AllOf: all},
		authz.Rule{Pattern: "GET /p/org-token", Token: authz.OrganizationToken, Organization: &authz.OrgSource{FromToken: true}, AllOf: all},
	)
	mux.Handle("/p/", mw.Enforce(policy)(echo))
	for i, rule := range policy.Rules() {
		_, path, _ := strings.Cut(rule.Pattern, " ")
		path = strings.Replace(path, "{org}", routematrix.Org, 1)
		route := r[[]int{0, 1, 2, 2, 3, 4, 4, 5}[i]]
		endpoints = append(endpoints, endpoint{route: route, via: "policy rule " + rule.String(), path: path, header: strings.HasSuffix(path, "-header")})
	}

	srv := serve(t, mux)
	m := must(t)
	for _, tok := range routematrix.Tokens {
		raw := m(routematrix.Mint(e.iss, api, tok))
		for _, ep := range endpoints {
			t.Run(ep.route.Name+" ("+ep.via+"), "+tok.Name, func(t *testing.T) {
				header := func(h http.Header) {
					h.Set("Authorization", "Bearer "+raw)
					if ep.header {
						h.Set(hdr, routematrix.Org)
					}
				}
				do(t, srv, "GET", ep.path, header, matrixWant(ep.route, tok))
			})
		}
	}
}

// matrixWant is the HTTP answer of the matrix's outcome of tok on route.
func matrixWant(route routematrix.Route, tok routematrix.Token) want {
	o := route.Want(tok)
	switch o.Status {
	case http.StatusOK:
		sub := "test-user"
		if tok.Machine {
			sub = "sync-app"
		}
		return allowed(sub, tok.OrgID)
	case http.StatusUnauthorized:
		return invalidToken(o.Reason)
	default:
		return forbidden(o.Reason, strings.Join(route.Permissions(), " "))
	}
}

// TestOneValidatorForAPIAndOrganizations: with one validator for an API
// and every organization, an organization token whose organization
// permission has the name of an API permission does not pass a global
// route, and an organization route must say which kind it takes.
func TestOneValidatorForAPIAndOrganizations(t *testing.T) {
	e := newEnv(t, false)
	mw := e.middleware(t, e.validator(t, api, authz.AnyOrganization))
	m := must(t)
	orgTok := m(e.iss.OrganizationToken("org-a", authztest.Scopes("read:notes")))
	srv := serve(t, mw.Require("read:notes")(echo))
	do(t, srv, "GET", "/", bearer(orgTok), invalidToken("token is an organization token, not an access token for this API"))
	do(t, srv, "GET", "/", bearer(m(e.iss.APIToken(api, authztest.Scopes("read:notes")))), allowed("test-user", ""))
	assert.Panics(t, func() { mw.RequireOrganizationFromPath("org", "read:notes") }, "the kind must be chosen at construction")
}

// TestNestedMiddlewareOfTwoValidators: claims one validator made are never
// trusted by middleware of another; middleware of the same validator
// reuses them.
func TestNestedMiddlewareOfTwoValidators(t *testing.T) {
	e := newEnv(t, false)
	m := must(t)
	var apiValidations atomic.Int32
	apiV, err := authz.New(e.iss.URL(), []string{api}, authz.WithClock(e.clock.Now), authz.WithObserver(authz.Observer{
		Decision: func(_ context.Context, d authz.Decision) {
			if d.Stage == authz.StageValidate {
				apiValidations.Add(1)
			}
		},
	}))
	require.NoError(t, err)
	t.Cleanup(apiV.Close)
	apiMW, orgMW := e.middleware(t, apiV), e.middleware(t, e.orgV)

	// An organization token with the API permission's name, through an
	// outer AllowAnonymous of the organization validator: the inner API
	// route validates the token itself and refuses it.
	orgTok := m(e.iss.OrganizationToken("org-a", authztest.Scopes("delete:documents")))
	srv := serve(t, orgMW.AllowAnonymous(apiMW.Require("delete:documents")(echo)))
	do(t, srv, "DELETE", "/documents/1", bearer(orgTok), invalidToken("token is an organization token, not an access token for this API"))
	assert.Equal(t, int32(1), apiValidations.Load(), "the inner middleware validated the token itself")

	// The other way round: an API token passes the outer API middleware,
	// and the inner organization route does not take its claims.
	apiTok := m(e.iss.APIToken(api, authztest.Scopes("read:members")))
	srv = serve(t, apiMW.Authenticate(orgMW.RequireOrganizationFromToken("read:members")(echo)))
	do(t, srv, "GET", "/members", bearer(apiTok), invalidToken("token is an access token for an API resource, not an organization token"))

	// Two middleware of one validator: the token is validated once.
	apiValidations.Store(0)
	srv = serve(t, apiMW.Authenticate(apiMW.Require("read:members")(echo)))
	do(t, srv, "GET", "/members", bearer(apiTok), allowed("test-user", ""))
	assert.Equal(t, int32(1), apiValidations.Load(), "the inner middleware reused the outer one's claims")
}

// TestOrganizationPermissionsDoNotPassGlobalRoutes: an organization-level
// API token carries the permissions of the caller's organization roles
// there (for an M2M app, only those); no global route counts them.
func TestOrganizationPermissionsDoNotPassGlobalRoutes(t *testing.T) {
	e := newEnv(t, false)
	mw := e.middleware(t, e.apiV)
	m := must(t)
	admin := m(e.iss.OrganizationAPIToken(api, "org-a", authztest.Subject("app"), authztest.ClientID("app"), authztest.Scopes("admin:billing")))
	const desc = "token is bound to an organization, whose permissions hold only inside it; this operation is outside every organization"
	policy := mustPolicy(t, authz.Rule{Pattern: "/", AllOf: []string{"admin:billing"}})
	inHandler := mw.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := authz.Check(r.Context(), "admin:billing"); err != nil {
			mw.Error(w, r, err)
			return
		}
		echo.ServeHTTP(w, r)
	}))
	for _, tt := range []struct {
		name string
		h    http.Handler
		want want
	}{
		{name: "Require", h: mw.Require("admin:billing")(echo), want: forbidden(desc, "admin:billing")},
		{name: "RequireAny", h: mw.RequireAny("admin:billing")(echo), want: forbidden(desc, "admin:billing")},
		{name: "policy rule", h: mw.Enforce(policy)(echo), want: forbidden(desc, "admin:billing")},
		// Error knows the refusal, not the route: no scope to name.
		{name: "Check in a handler", h: inHandler, want: forbidden(desc, "")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			do(t, serve(t, tt.h), "GET", "/billing", bearer(admin), tt.want)
		})
	}
}

// TestPermissionNames: a permission name that one place accepts, every
// place accepts. A name outside RFC 6750's quoted-string characters is left
// out of the challenge's scope attribute, never mangled, and given whole in
// the JSON body.
func TestPermissionNames(t *testing.T) {
	e := newEnv(t, false)
	mw := e.middleware(t, e.apiV)
	m := must(t)
	perms := []string{"lire:données", `read"x`, "read:documents"}
	policy := mustPolicy(t, authz.Rule{Pattern: "/", AllOf: perms})
	for name, h := range map[string]http.Handler{
		"Require":     mw.Require(perms...)(echo),
		"policy rule": mw.Enforce(policy)(echo),
	} {
		t.Run(name, func(t *testing.T) {
			srv := serve(t, h)
			do(t, srv, "GET", "/", bearer(m(e.iss.APIToken(api, authztest.Scopes("read:documents")))),
				forbiddenScopes(`missing permission lire:donn?es read'x`, "read:documents", `lire:données read"x read:documents`))
			do(t, srv, "GET", "/", bearer(m(e.iss.APIToken(api, authztest.Scopes(perms...)))), allowed("test-user", ""))
		})
	}
}
