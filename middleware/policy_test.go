package middleware_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
)

// policy is the policy of the API in TestEnforce, as an operator would
// write it.
const policy = `{"rules": [
  {"route": "GET /healthz", "public": true},
  {"route": "GET /me"},
  {"route": "GET /documents", "allOf": ["read:documents"]},
  {"route": "POST /documents", "allOf": ["read:documents"], "anyOf": ["write:documents", "admin:documents"]},
  {"route": "DELETE /documents/{id}", "anyOf": ["admin:documents", "delete:documents"]},
  {"route": "GET /orgs/{org}/projects", "organization": {"pathValue": "org"}, "allOf": ["read:projects"]},
  {"route": "GET /projects", "organization": {"header": "X-Organization-Id"}, "allOf": ["read:projects"]},
  {"route": "GET /docs/", "public": true}
]}`

func loadPolicy(t *testing.T, s string) *authz.Policy {
	t.Helper()
	p, err := authz.LoadPolicy(strings.NewReader(s))
	require.NoError(t, err)
	return p
}

// TestEnforce applies one policy to a whole ServeMux.
func TestEnforce(t *testing.T) {
	e := newEnv(t, false)
	m := must(t)
	mw := e.middleware(t, e.apiV)
	mux := http.NewServeMux()
	for _, route := range []string{
		"GET /healthz", "GET /me", "GET /documents", "POST /documents", "DELETE /documents/{id}",
		"GET /orgs/{org}/projects", "GET /projects", "GET /docs/", "GET /admin",
	} {
		mux.Handle(route, echo)
	}
	srv := serve(t, mw.Enforce(loadPolicy(t, policy))(mux))

	valid := m(e.iss.APIToken(api))
	orgA := m(e.iss.OrganizationAPIToken(api, "org-a", authztest.Scopes("read:projects")))
	tests := []struct {
		name   string
		method string
		path   string
		header func(http.Header)
		want   want
	}{
		{name: "public route without a token", method: "GET", path: "/healthz", want: anonymous()},
		{name: "public route ignores a bad token", method: "GET", path: "/healthz", header: bearer("garbage"), want: anonymous()},
		{name: "public route ignores a valid token", method: "GET", path: "/healthz", header: bearer(valid), want: anonymous()},
		{name: "public subtree", method: "GET", path: "/docs/intro", want: anonymous()},

		{name: "any valid token: none", method: "GET", path: "/me", want: noToken()},
		{name: "any valid token: valid", method: "GET", path: "/me", header: bearer(valid), want: allowed("test-user", "")},
		{name: "any valid token: expired", method: "GET", path: "/me", header: bearer(m(e.iss.APIToken(api, authztest.Expired()))), want: invalidToken("expired 1h0m0s ago")},

		{name: "unlisted route without a token", method: "GET", path: "/admin", want: noToken()},
		{name: "unlisted route with a bad token", method: "GET", path: "/admin", header: bearer("garbage"), want: invalidToken("token is not a JWT: most likely a Logto opaque access token; request the token with resource=https://api.example.com")},
		{name: "unlisted route with a valid token", method: "GET", path: "/admin", header: bearer(valid), want: forbidden("the policy lists no rule for this route", "")},
		{name: "unknown path is refused, not 404", method: "GET", path: "/nowhere", header: bearer(valid), want: forbidden("the policy lists no rule for this route", "")},
		{name: "unlisted method of a listed path", method: "PUT", path: "/me", header: bearer(valid), want: forbidden("the policy lists no rule for this route", "")},
		{name: "redirect to the listed subtree is refused", method: "GET", path: "/docs", want: noToken()},

		{name: "all of: granted", method: "GET", path: "/documents", header: bearer(m(e.iss.APIToken(api, authztest.Scopes("read:documents")))), want: allowed("test-user", "")},
		{name: "all of: missing", method: "GET", path: "/documents", header: bearer(valid), want: forbidden("missing permission read:documents", "read:documents")},
		{name: "any of: second permission", method: "DELETE", path: "/documents/1", header: bearer(m(e.iss.APIToken(api, authztest.Scopes("delete:documents")))), want: allowed("test-user", "")},
		{name: "any of: none", method: "DELETE", path: "/documents/1", header: bearer(valid), want: forbidden("needs one of the permissions admin:documents delete:documents", "admin:documents delete:documents")},
		{name: "all of and any of: granted", method: "POST", path: "/documents", header: bearer(m(e.iss.APIToken(api, authztest.Scopes("read:documents", "admin:documents")))), want: allowed("test-user", "")},
		{
			name: "all of and any of: any of missing", method: "POST", path: "/documents",
			header: bearer(m(e.iss.APIToken(api, authztest.Scopes("read:documents")))),
			want:   forbidden("needs one of the permissions write:documents admin:documents", "read:documents write:documents admin:documents"),
		},

		{name: "organization from path value: same", method: "GET", path: "/orgs/org-a/projects", header: bearer(orgA), want: allowed("test-user", "org-a")},
		{name: "organization from path value: other", method: "GET", path: "/orgs/org-b/projects", header: bearer(orgA), want: forbidden("token is for another organization", "read:projects")},
		{
			name: "organization from path value: API token with every scope but no organization", method: "GET", path: "/orgs/org-a/projects",
			header: bearer(m(e.iss.APIToken(api, authztest.Scopes("read:projects", "read:documents")))),
			want:   forbidden("token is not for any organization", "read:projects"),
		},
		{
			name: "organization from path value: missing permission", method: "GET", path: "/orgs/org-a/projects",
			header: bearer(m(e.iss.OrganizationAPIToken(api, "org-a"))),
			want:   forbidden("missing permission read:projects", "read:projects"),
		},
		{name: "organization from path value: no token", method: "GET", path: "/orgs/org-a/projects", want: noToken()},
		{name: "organization from header: same", method: "GET", path: "/projects", header: withOrg(orgA, "org-a"), want: allowed("test-user", "org-a")},
		{name: "organization from header: other", method: "GET", path: "/projects", header: withOrg(orgA, "org-b"), want: forbidden("token is for another organization", "read:projects")},
		{name: "organization from header: missing", method: "GET", path: "/projects", header: bearer(orgA), want: forbidden("the request names no organization", "read:projects")},
		{
			name: "organization from header: twice", method: "GET", path: "/projects",
			header: func(h http.Header) {
				h.Set("Authorization", "Bearer "+orgA)
				h.Add("x-organization-id", "org-a")
				h.Add("x-organization-id", "org-a")
			},
			want: invalidRequest("the request has more than one X-Organization-Id header"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			do(t, srv, tt.method, tt.path, tt.header, tt.want)
		})
	}
}

// TestEnforceInsideARoute: matching the policy does not disturb the
// pattern and path values the application's own ServeMux set.
func TestEnforceInsideARoute(t *testing.T) {
	e := newEnv(t, false)
	p, err := authz.NewPolicy(authz.Rule{Pattern: "GET /o/{org}/x", Organization: &authz.OrgSource{PathValue: "org"}})
	require.NoError(t, err)
	mw := e.middleware(t, e.apiV)
	mux := http.NewServeMux()
	mux.Handle("GET /o/{name}/{rest...}", mw.Enforce(p)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"pattern": r.Pattern, "name": r.PathValue("name"), "org": r.PathValue("org")})
	})))
	srv := serve(t, mux)
	tok := must(t)(e.iss.OrganizationAPIToken(api, "org-a"))
	do(t, srv, "GET", "/o/org-a/x", bearer(tok), want{
		status: http.StatusOK,
		body:   `{"pattern":"GET /o/{name}/{rest...}","name":"org-a","org":""}`,
	})
}

// TestEnforceReusesClaims: an outer Authenticate's claims are used when
// the same validator made them; claims made otherwise are not.
func TestEnforceReusesClaims(t *testing.T) {
	e := newEnv(t, false)
	p := mustPolicy(t, authz.Rule{Pattern: "/", AllOf: []string{"read:documents"}})
	var validations atomic.Int32
	v, err := authz.New(e.iss.URL(), []string{api}, authz.WithClock(e.clock.Now), authz.WithObserver(authz.Observer{
		Decision: func(_ context.Context, d authz.Decision) {
			if d.Stage == authz.StageValidate {
				validations.Add(1)
			}
		},
	}))
	require.NoError(t, err)
	t.Cleanup(v.Close)
	mw := e.middleware(t, v)
	srv := serve(t, mw.Authenticate(mw.Enforce(p)(echo)))
	do(t, srv, "GET", "/anything", bearer(must(t)(e.iss.APIToken(api, authztest.Subject("alice"), authztest.Scopes("read:documents")))), allowed("alice", ""))
	assert.Equal(t, int32(1), validations.Load(), "the token is validated once")

	claims := &authz.Claims{Subject: "from-context", Scopes: []string{"read:documents"}}
	h := mw.Enforce(p)(echo)
	srv = serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(authz.NewContext(r.Context(), claims)))
	}))
	do(t, srv, "GET", "/anything", bearer("garbage"), invalidToken("token is not a JWT: most likely a Logto opaque access token; request the token with resource=https://api.example.com"))
}
