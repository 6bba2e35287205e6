package exampletest

// The chi, gin, echo, echo5 and fiber examples serve the same API, each
// through its own framework (chi and Echo v5 as they are, gin, Echo v4 and
// Fiber through an adapter), so their tests are the same too: they are
// here, once.

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/middleware"
)

// FrameworkResource is the API identifier of the framework examples' tests.
const FrameworkResource = "https://api.example.com"

// FrameworkRoutes checks the routes newHandler serves, protected by
// middleware trusting a tenant: what each token may call, and that every
// refusal has the middleware's challenge and JSON body.
func FrameworkRoutes(t *testing.T, newHandler func(*middleware.Middleware) http.Handler) {
	t.Helper()
	iss := NewTenant(t)
	FrameworkRoutesAt(t, iss, NewAPI(t, iss, FrameworkResource, newHandler))
}

// FrameworkRoutesAt is FrameworkRoutes for an API that serves itself
// (Fiber, on fasthttp) at api, with middleware from NewMiddleware for iss
// and FrameworkResource.
func FrameworkRoutesAt(t *testing.T, iss *authztest.Issuer, api string) {
	t.Helper()
	must := Mint(t)
	// token mints a user token granting scopes, as Logto does from the
	// user's roles.
	token := func(scopes ...string) string {
		t.Helper()
		return must(iss.APIToken(FrameworkResource, authztest.Scopes(scopes...)))
	}
	// orgToken mints a token for the API inside organization orgID
	// (API resources with organization-level RBAC).
	orgToken := func(orgID string, scopes ...string) string {
		t.Helper()
		return must(iss.OrganizationAPIToken(FrameworkResource, orgID, authztest.Scopes(scopes...)))
	}
	reader := token("read:documents")
	member := orgToken("org-a", "read:members")
	inviter := orgToken("org-a", "read:members", "invite:member")
	invitation := `{"email": "carol@example.com"}`

	tests := []struct {
		name         string
		method, path string
		token, body  string
		want         int
		challenge    string // in WWW-Authenticate; "" for none
		inBody       string
	}{
		{name: "public route", method: "GET", path: "/healthz", want: http.StatusOK, inBody: `"ok"`},
		{name: "me", method: "GET", path: "/me", token: reader, want: http.StatusOK, inBody: `"subject":"test-user"`},
		{name: "me, machine", method: "GET", path: "/me", token: must(iss.MachineToken(FrameworkResource, "app-1")), want: http.StatusOK, inBody: `"machine":true`},
		{name: "me, no token", method: "GET", path: "/me", want: http.StatusUnauthorized, challenge: `Bearer realm="api"`},
		{name: "me, expired", method: "GET", path: "/me", token: must(iss.APIToken(FrameworkResource, authztest.Expired())), want: http.StatusUnauthorized, challenge: `error="invalid_token"`},
		{name: "me, wrong audience", method: "GET", path: "/me", token: must(iss.APIToken("https://other.example.com")), want: http.StatusUnauthorized, challenge: `error="invalid_token"`},
		{name: "reader lists", method: "GET", path: "/documents", token: reader, want: http.StatusOK, inBody: "roadmap"},
		{name: "list, no token", method: "GET", path: "/documents", want: http.StatusUnauthorized, challenge: `Bearer realm="api"`},
		{name: "list, not a JWT", method: "GET", path: "/documents", token: "not-a-jwt", want: http.StatusUnauthorized, challenge: `error="invalid_token"`},
		{name: "list, missing permission", method: "GET", path: "/documents", token: token("write:documents"), want: http.StatusForbidden, challenge: `scope="read:documents"`},
		{name: "delete with the first of any-of", method: "DELETE", path: "/documents/doc-1", token: token("delete:documents"), want: http.StatusNoContent},
		{name: "delete with the second of any-of", method: "DELETE", path: "/documents/doc-1", token: token("admin:documents"), want: http.StatusNoContent},
		{name: "reader cannot delete", method: "DELETE", path: "/documents/doc-1", token: reader, want: http.StatusForbidden, challenge: `scope="delete:documents admin:documents"`},
		{name: "member in own organization", method: "GET", path: "/orgs/org-a/members", token: member, want: http.StatusOK, inBody: `"organization":"org-a"`},
		{name: "member in other organization", method: "GET", path: "/orgs/org-b/members", token: member, want: http.StatusForbidden, challenge: `error="insufficient_scope"`},
		{name: "token for no organization", method: "GET", path: "/orgs/org-a/members", token: token("read:members"), want: http.StatusForbidden, challenge: `error_description="token is not for any organization"`},
		{name: "members, missing permission", method: "GET", path: "/orgs/org-a/members", token: orgToken("org-a"), want: http.StatusForbidden, challenge: `scope="read:members"`},
		{name: "members, no token", method: "GET", path: "/orgs/org-a/members", want: http.StatusUnauthorized, challenge: `Bearer realm="api"`},
		{name: "invite in own organization", method: "POST", path: "/orgs/org-a/invitations", token: inviter, body: invitation, want: http.StatusCreated, inBody: `"invited_by":"test-user"`},
		{name: "invite in other organization", method: "POST", path: "/orgs/org-b/invitations", token: inviter, body: invitation, want: http.StatusForbidden, challenge: `error="insufficient_scope"`},
		{name: "invite, missing permission", method: "POST", path: "/orgs/org-a/invitations", token: member, body: invitation, want: http.StatusForbidden, challenge: `scope="invite:member"`},
		{name: "invite, no token", method: "POST", path: "/orgs/org-a/invitations", body: invitation, want: http.StatusUnauthorized, challenge: `Bearer realm="api"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Send(t, tc.method, api+tc.path, tc.token, tc.body)
			assert.Equal(t, tc.want, got.Status, got.Body)
			if tc.challenge == "" {
				assert.Empty(t, got.Challenge)
			} else {
				assert.Contains(t, got.Challenge, tc.challenge)
			}
			if tc.want == http.StatusForbidden {
				assert.Contains(t, got.Challenge, `error="insufficient_scope"`)
			}
			assert.Contains(t, got.Body, tc.inBody)
			if tc.want >= 400 {
				var body struct {
					Error string `json:"error"`
				}
				require.NoError(t, json.Unmarshal([]byte(got.Body), &body), "a refusal has the middleware's JSON body: %s", got.Body)
				assert.NotEmpty(t, body.Error)
			}
		})
	}
}

// FrameworkServesUntilCancelled starts run against a tenant, checks that
// it serves the framework examples' API, then cancels it and checks that
// it shuts down gracefully.
func FrameworkServesUntilCancelled(t *testing.T, run Run) {
	t.Helper()
	// run's validator uses the real clock, and so does this issuer.
	iss := NewTenant(t, authztest.WithClock(time.Now))
	r := Start(t, run, map[string]string{"LOGTO_ISSUER": iss.URL(), "API_RESOURCE": FrameworkResource, "ADDR": "127.0.0.1:0"})

	assert.Equal(t, http.StatusOK, Send(t, "GET", "http://"+r.Addr+"/healthz", "", "").Status)
	assert.Equal(t, http.StatusUnauthorized, Send(t, "GET", "http://"+r.Addr+"/documents", "", "").Status)
	reader := Mint(t)(iss.APIToken(FrameworkResource, authztest.Scopes("read:documents")))
	assert.Equal(t, http.StatusOK, Send(t, "GET", "http://"+r.Addr+"/documents", reader, "").Status)

	r.Stop(10 * time.Second)
}

// AdapterStopsTheChain checks the gin and echo adapters' chain at url, a
// server trusting iss for resource whose GET /orgs/{orgID} runs, in order:
// the adapted RequireOrganizationFromPath("orgID"), a middleware that
// appends "after" to *ran, the adapted Require("read:documents"), and a
// handler that appends "handler:" and the claims' organization. A refusal
// stops the whole chain: nothing after it runs.
func AdapterStopsTheChain(t *testing.T, iss *authztest.Issuer, resource, url string, ran *[]string) {
	t.Helper()
	member := Mint(t)(iss.OrganizationAPIToken(resource, "org-a"))
	reader := Mint(t)(iss.OrganizationAPIToken(resource, "org-a", authztest.Scopes("read:documents")))

	got := Send(t, "GET", url+"/orgs/org-b", reader, "")
	assert.Equal(t, http.StatusForbidden, got.Status, "another organization")
	assert.Empty(t, *ran, "nothing runs after a refusal")

	got = Send(t, "GET", url+"/orgs/org-a", member, "")
	assert.Equal(t, http.StatusForbidden, got.Status)
	assert.Contains(t, got.Challenge, `scope="read:documents"`)
	assert.JSONEq(t, `{"error":"insufficient_scope","error_description":"missing permission read:documents","scope":"read:documents"}`, got.Body)
	assert.Equal(t, []string{"after"}, *ran)

	got = Send(t, "GET", url+"/orgs/org-a", reader, "")
	assert.Equal(t, http.StatusOK, got.Status)
	assert.Equal(t, []string{"after", "after", "handler:org-a"}, *ran)
}
