package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/examples/internal/exampletest"
)

func TestOrganizationRoutes(t *testing.T) {
	iss := exampletest.NewTenant(t)
	api := exampletest.NewAPI(t, iss, authz.AnyOrganization, newHandler)
	// member is a member of org-a; admin an admin of org-a.
	member, err := iss.OrganizationToken("org-a", authztest.Scopes("read:members"))
	require.NoError(t, err)
	admin, err := iss.OrganizationToken("org-a", authztest.Scopes("read:members", "invite:member"))
	require.NoError(t, err)
	apiToken, err := iss.APIToken("https://api.example.com", authztest.Scopes("read:members", "invite:member"))
	require.NoError(t, err)

	tests := []struct {
		name         string
		method, path string
		token        string
		want         int
		challenge    string // in WWW-Authenticate
	}{
		{name: "member of org A in org A", method: "GET", path: "/orgs/org-a/members", token: member, want: http.StatusOK},
		{name: "member of org A in org B", method: "GET", path: "/orgs/org-b/members", token: member, want: http.StatusForbidden},
		{name: "admin of org A in org B", method: "POST", path: "/orgs/org-b/invitations", token: admin, want: http.StatusForbidden},
		{name: "member cannot invite", method: "POST", path: "/orgs/org-a/invitations", token: member, want: http.StatusForbidden, challenge: `scope="invite:member"`},
		{name: "admin invites", method: "POST", path: "/orgs/org-a/invitations", token: admin, want: http.StatusCreated},
		{name: "API token", method: "GET", path: "/orgs/org-a/members", token: apiToken, want: http.StatusUnauthorized, challenge: `error="invalid_token"`},
		{name: "no token", method: "GET", path: "/orgs/org-a/members", want: http.StatusUnauthorized, challenge: `Bearer realm="api"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := exampletest.Send(t, tc.method, api+tc.path, tc.token, `{"email": "carol@example.com"}`)
			exampletest.CheckAnswer(t, got, tc.want, tc.challenge)
		})
	}
}

func TestInvitationNamesTheInviter(t *testing.T) {
	iss := exampletest.NewTenant(t)
	api := exampletest.NewAPI(t, iss, authz.AnyOrganization, newHandler)
	admin, err := iss.OrganizationToken("org-a", authztest.Subject("alice"), authztest.Scopes("invite:member"))
	require.NoError(t, err)

	got := exampletest.Send(t, "POST", api+"/orgs/org-a/invitations", admin, `{"email": "carol@example.com"}`)
	require.Equal(t, http.StatusCreated, got.Status)
	assert.JSONEq(t, `{"organization": "org-a", "email": "carol@example.com", "invited_by": "alice"}`, got.Body)
}

func TestRunUsage(t *testing.T) {
	exampletest.RunUsage(t, run, []exampletest.UsageCase{
		{Name: "no LOGTO_ISSUER", Env: map[string]string{}, Want: "go run ./examples/quickstart"},
		{Name: "issuer over http", Env: map[string]string{"LOGTO_ISSUER": "http://tenant.logto.app/oidc"}, Want: "https"},
	})
}

func TestRunServesUntilCancelled(t *testing.T) {
	iss := exampletest.NewTenant(t)
	r := exampletest.Start(t, run, map[string]string{"LOGTO_ISSUER": iss.URL(), "ADDR": "127.0.0.1:0"})

	assert.Equal(t, http.StatusUnauthorized, exampletest.Send(t, "GET", "http://"+r.Addr+"/orgs/org-a/members", "", "").Status)

	r.Stop(10 * time.Second)
}
