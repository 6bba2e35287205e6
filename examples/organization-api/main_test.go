package main

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/examples/internal/exampletest"
)

const resource = "https://api.example.com"

// newAPI serves newHandler, trusting iss, and returns its URL.
func newAPI(t *testing.T, iss *authztest.Issuer) string {
	t.Helper()
	p, err := loadPolicy()
	require.NoError(t, err)
	return exampletest.NewServer(t, newHandler(exampletest.NewMiddleware(t, iss, resource), p))
}

func TestPolicy(t *testing.T) {
	iss := exampletest.NewTenant(t)
	api := newAPI(t, iss)
	mint := exampletest.Mint(t)
	// viewerA is a viewer of org-a; editorA an editor of org-a.
	viewerA := mint(iss.OrganizationAPIToken(resource, "org-a", authztest.Scopes("read:projects")))
	editorA := mint(iss.OrganizationAPIToken(resource, "org-a", authztest.Scopes("read:projects", "write:projects")))
	// noOrg was requested without organization_id: it carries the scopes of
	// the user's roles in all organizations, and names none.
	noOrg := mint(iss.APIToken(resource, authztest.Scopes("read:projects", "write:projects")))
	orgToken := mint(iss.OrganizationToken("org-a", authztest.Scopes("read:projects")))

	tests := []struct {
		name         string
		method, path string
		token        string
		org          string // X-Organization-Id
		want         int
		challenge    string // in WWW-Authenticate
	}{
		{name: "healthz is public", method: "GET", path: "/healthz", want: http.StatusOK},
		{name: "viewer of A, header A", method: "GET", path: "/projects", token: viewerA, org: "org-a", want: http.StatusOK},
		{name: "viewer of A, header B", method: "GET", path: "/projects", token: viewerA, org: "org-b", want: http.StatusForbidden},
		{name: "viewer of A, no header", method: "GET", path: "/projects", token: viewerA, want: http.StatusForbidden},
		{name: "token without organization, every scope", method: "GET", path: "/projects", token: noOrg, org: "org-a", want: http.StatusForbidden},
		{name: "no token", method: "GET", path: "/projects", org: "org-a", want: http.StatusUnauthorized, challenge: `Bearer realm="api"`},
		{name: "organization token", method: "GET", path: "/projects", token: orgToken, org: "org-a", want: http.StatusUnauthorized, challenge: `error="invalid_token"`},
		{name: "editor of A creates in A", method: "POST", path: "/orgs/org-a/projects", token: editorA, want: http.StatusCreated},
		{name: "editor of A creates in B", method: "POST", path: "/orgs/org-b/projects", token: editorA, want: http.StatusForbidden},
		{name: "viewer of A creates in A", method: "POST", path: "/orgs/org-a/projects", token: viewerA, want: http.StatusForbidden, challenge: `scope="write:projects"`},
		{name: "token without organization creates in A", method: "POST", path: "/orgs/org-a/projects", token: noOrg, want: http.StatusForbidden},
		{name: "unlisted route", method: "GET", path: "/admin", token: editorA, want: http.StatusForbidden},
		{name: "unlisted method", method: "DELETE", path: "/projects", token: editorA, org: "org-a", want: http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tc.method, api+tc.path, nil)
			require.NoError(t, err)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			if tc.org != "" {
				req.Header.Set("X-Organization-Id", tc.org)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()

			assert.Equal(t, tc.want, resp.StatusCode)
			challenge := resp.Header.Get("WWW-Authenticate")
			assert.Contains(t, challenge, tc.challenge)
			if tc.want == http.StatusForbidden {
				assert.Contains(t, challenge, `error="insufficient_scope"`)
			}
		})
	}
}

func TestHandlersSeeTheCheckedOrganization(t *testing.T) {
	iss := exampletest.NewTenant(t)
	api := newAPI(t, iss)
	tok, err := iss.OrganizationAPIToken(resource, "org-a", authztest.Scopes("read:projects"))
	require.NoError(t, err)

	req, err := http.NewRequestWithContext(t.Context(), "GET", api+"/projects", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("X-Organization-Id", "org-a")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)

	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `{"organization": "org-a", "projects": ["website", "mobile app"]}`, string(body))
}

func TestRunUsage(t *testing.T) {
	exampletest.RunUsage(t, run, exampletest.APIUsage())
}

func TestRunServesUntilCancelled(t *testing.T) {
	iss := exampletest.NewTenant(t)
	r := exampletest.Start(t, run, map[string]string{"LOGTO_ISSUER": iss.URL(), "API_RESOURCE": resource, "ADDR": "127.0.0.1:0"})

	assert.Equal(t, http.StatusOK, exampletest.Send(t, "GET", "http://"+r.Addr+"/healthz", "", "").Status)
	assert.Contains(t, r.Log.String(), `GET /projects: organization from header`, "the policy is logged at start-up")

	r.Stop(10 * time.Second)
}
