package middleware_test

import (
	"net/http"
	"testing"

	"github.com/seed31d61d31/authz/authztest"
)

// orgHeader names the organization in the header-based routes.
const orgHeader = "X-Organization-Id"

// app serves the routes of the end-to-end scenarios, each protected the way
// a real API would protect it:
//
//	GET    /me                       any valid API token
//	GET    /documents                read:documents
//	POST   /documents                read:documents and write:documents
//	DELETE /documents/{id}           admin:documents or delete:documents
//	GET    /orgs/{org}/members       organization token for {org}, read:members
//	GET    /members                  organization token for X-Organization-Id, read:members
//	GET    /api/orgs/{org}/projects  API token with organization_id {org}, read:projects
//	GET    /feed                     anonymous, or any valid API token
func (e *env) app(t *testing.T) http.Handler {
	apiMW := e.middleware(t, e.apiV)
	orgMW := e.middleware(t, e.orgV)
	mux := http.NewServeMux()
	mux.Handle("GET /me", apiMW.Authenticate(echo))
	mux.Handle("GET /documents", apiMW.Require("read:documents")(echo))
	mux.Handle("POST /documents", apiMW.Require("read:documents", "write:documents")(echo))
	mux.Handle("DELETE /documents/{id}", apiMW.RequireAny("admin:documents", "delete:documents")(echo))
	mux.Handle("GET /orgs/{org}/members", orgMW.RequireOrganizationFromPath("org", "read:members")(echo))
	mux.Handle("GET /members", orgMW.RequireOrganizationFromHeader(orgHeader, "read:members")(echo))
	mux.Handle("GET /api/orgs/{org}/projects", apiMW.RequireOrganizationFromPath("org", "read:projects")(echo))
	mux.Handle("GET /feed", apiMW.AllowAnonymous(echo))
	return mux
}

func withOrg(tok, org string) func(http.Header) {
	return func(h http.Header) {
		h.Set("Authorization", "Bearer "+tok)
		if org != "" {
			h.Set(orgHeader, org)
		}
	}
}

// TestScenarios runs every scenario of DESIGN.md end to end: a real server,
// a real client, tokens minted and signed by authztest.
func TestScenarios(t *testing.T) {
	e := newEnv(t, false)
	srv := serve(t, e.app(t))
	m := must(t)
	everyScope := authztest.Scopes("read:documents", "write:documents", "delete:documents", "admin:documents", "read:members", "read:projects")
	apiToken := m(e.iss.APIToken(api, everyScope))

	tests := []struct {
		name   string
		method string
		path   string
		header func(http.Header)
		want   want
	}{
		// Protect an API, no RBAC.
		{name: "no token", method: "GET", path: "/me", want: noToken()},
		{name: "valid API token", method: "GET", path: "/me", header: bearer(m(e.iss.APIToken(api))), want: allowed("test-user", "")},
		{name: "machine token", method: "GET", path: "/me", header: bearer(m(e.iss.MachineToken(api, "m2m-app"))), want: allowed("m2m-app", "")},
		{
			name: "malformed header", method: "GET", path: "/me",
			header: func(h http.Header) { h.Set("Authorization", "Bearer "+apiToken+" "+apiToken) },
			want:   invalidRequest("the Authorization header must hold exactly one bearer token"),
		},
		{
			name: "expired", method: "GET", path: "/me",
			header: bearer(m(e.iss.APIToken(api, authztest.Expired()))),
			want:   invalidToken("expired 1h0m0s ago"),
		},
		{
			name: "wrong audience", method: "GET", path: "/me",
			header: bearer(m(e.iss.APIToken("https://other.example.com"))),
			want:   invalidToken(`token is not for this API: its 'aud' is 'https://other.example.com'; this API is https://api.example.com`),
		},
		{
			name: "ID token (typ JWT)", method: "GET", path: "/me",
			header: bearer(m(e.iss.APIToken(api, authztest.TokenType("JWT")))),
			want:   invalidToken(`'typ' is 'JWT', want 'at+jwt' (is this an ID token?)`),
		},
		{
			name: "signed by an unknown key", method: "GET", path: "/me",
			header: bearer(m(e.iss.APIToken(api, authztest.SignedByUnknownKey()))),
			want:   invalidToken(`no key in the issuer's JWKS has the token's 'kid'`),
		},
		{
			name: "opaque token", method: "GET", path: "/me",
			header: bearer("opaque-token-value"),
			want:   invalidToken("token is not a JWT: most likely a Logto opaque access token; request the token with resource=https://api.example.com"),
		},
		{
			name: "organization token on an API route", method: "GET", path: "/documents",
			header: bearer(m(e.iss.OrganizationToken("org-a", everyScope))),
			want:   invalidToken("token is an organization token, not an access token for this API"),
		},

		// Protect an API with RBAC.
		{name: "one permission granted", method: "GET", path: "/documents", header: bearer(m(e.iss.APIToken(api, authztest.Scopes("read:documents")))), want: allowed("test-user", "")},
		{
			name: "missing one of two required permissions", method: "POST", path: "/documents",
			header: bearer(m(e.iss.APIToken(api, authztest.Scopes("read:documents")))),
			want:   forbidden("missing permission write:documents", "read:documents write:documents"),
		},
		{
			name: "no scope claim at all", method: "POST", path: "/documents",
			header: bearer(m(e.iss.MachineToken(api, "m2m-app"))),
			want:   forbidden("missing permission read:documents write:documents", "read:documents write:documents"),
		},
		{name: "both required permissions", method: "POST", path: "/documents", header: bearer(m(e.iss.APIToken(api, authztest.Scopes("write:documents", "read:documents")))), want: allowed("test-user", "")},
		{name: "any-of satisfied by the second permission", method: "DELETE", path: "/documents/7", header: bearer(m(e.iss.APIToken(api, authztest.Scopes("delete:documents")))), want: allowed("test-user", "")},
		{
			name: "any-of satisfied by none", method: "DELETE", path: "/documents/7",
			header: bearer(m(e.iss.APIToken(api, authztest.Scopes("read:documents")))),
			want:   forbidden("needs one of the permissions admin:documents delete:documents", "admin:documents delete:documents"),
		},

		// Organization resources with organization RBAC (organization tokens).
		{name: "organization token for its organization", method: "GET", path: "/orgs/org-a/members", header: bearer(m(e.iss.OrganizationToken("org-a", authztest.Scopes("read:members")))), want: allowed("test-user", "org-a")},
		{
			name: "organization token for A on B's route", method: "GET", path: "/orgs/org-b/members",
			header: bearer(m(e.iss.OrganizationToken("org-a", authztest.Scopes("read:members")))),
			want:   forbidden("token is for another organization", "read:members"),
		},
		{
			name: "organization token without the permission", method: "GET", path: "/orgs/org-a/members",
			header: bearer(m(e.iss.OrganizationToken("org-a", authztest.Scopes("read:documents")))),
			want:   forbidden("missing permission read:members", "read:members"),
		},
		{
			name: "API token on an organization route", method: "GET", path: "/orgs/org-a/members",
			header: bearer(apiToken),
			want:   invalidToken("token is an access token for an API resource, not an organization token"),
		},
		{name: "organization from header", method: "GET", path: "/members", header: withOrg(m(e.iss.OrganizationToken("org-a", authztest.Scopes("read:members"))), "org-a"), want: allowed("test-user", "org-a")},
		{
			name: "organization header names B", method: "GET", path: "/members",
			header: withOrg(m(e.iss.OrganizationToken("org-a", authztest.Scopes("read:members"))), "org-b"),
			want:   forbidden("token is for another organization", "read:members"),
		},
		{
			name: "organization header missing", method: "GET", path: "/members",
			header: withOrg(m(e.iss.OrganizationToken("org-a", authztest.Scopes("read:members"))), ""),
			want:   forbidden("the request names no organization", "read:members"),
		},
		{
			name: "organization header twice", method: "GET", path: "/members",
			header: func(h http.Header) {
				h.Set("Authorization", "Bearer "+m(e.iss.OrganizationToken("org-a", authztest.Scopes("read:members"))))
				h.Add(orgHeader, "org-a")
				h.Add(orgHeader, "org-b")
			},
			want: invalidRequest("the request has more than one X-Organization-Id header"),
		},

		// API resources with organization-level RBAC (organization_id).
		{name: "organization-level API token for its organization", method: "GET", path: "/api/orgs/org-a/projects", header: bearer(m(e.iss.OrganizationAPIToken(api, "org-a", authztest.Scopes("read:projects")))), want: allowed("test-user", "org-a")},
		{
			name: "organization-level API token for A on B's route", method: "GET", path: "/api/orgs/org-b/projects",
			header: bearer(m(e.iss.OrganizationAPIToken(api, "org-a", authztest.Scopes("read:projects")))),
			want:   forbidden("token is for another organization", "read:projects"),
		},
		{
			name: "API token without organization_id, with every scope", method: "GET", path: "/api/orgs/org-a/projects",
			header: bearer(apiToken),
			want:   forbidden("token is not for any organization", "read:projects"),
		},
		{
			name: "organization token on an organization-level API route", method: "GET", path: "/api/orgs/org-a/projects",
			header: bearer(m(e.iss.OrganizationToken("org-a", everyScope))),
			want:   invalidToken("token is an organization token, not an access token for this API"),
		},

		// Anonymous access, as a separately named mode.
		{name: "anonymous: no token", method: "GET", path: "/feed", want: anonymous()},
		{name: "anonymous: valid token", method: "GET", path: "/feed", header: bearer(apiToken), want: allowed("test-user", "")},
		{
			name: "anonymous: expired token is not downgraded", method: "GET", path: "/feed",
			header: bearer(m(e.iss.APIToken(api, authztest.Expired()))),
			want:   invalidToken("expired 1h0m0s ago"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			do(t, srv, tt.method, tt.path, tt.header, tt.want)
		})
	}
}

// TestKeysUnavailable: with the issuer down since before the validator
// started, no request can be judged: 503 with Retry-After and no challenge,
// whatever the route.
func TestKeysUnavailable(t *testing.T) {
	e := newEnv(t, true)
	srv := serve(t, e.app(t))
	m := must(t)

	tests := []struct {
		name   string
		method string
		path   string
		header func(http.Header)
		want   want
	}{
		{name: "authenticate", method: "GET", path: "/me", header: bearer(m(e.iss.APIToken(api))), want: unavailable()},
		{name: "require", method: "POST", path: "/documents", header: bearer(m(e.iss.APIToken(api, authztest.Scopes("read:documents", "write:documents")))), want: unavailable()},
		{name: "organization", method: "GET", path: "/orgs/org-a/members", header: bearer(m(e.iss.OrganizationToken("org-a"))), want: unavailable()},
		{name: "anonymous with a token", method: "GET", path: "/feed", header: bearer(m(e.iss.APIToken(api))), want: unavailable()},
		{name: "no token is still 401", method: "GET", path: "/me", want: noToken()},
		{name: "anonymous without a token still works", method: "GET", path: "/feed", want: anonymous()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			do(t, srv, tt.method, tt.path, tt.header, tt.want)
		})
	}
}
