package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/examples/internal/exampletest"
)

const resource = "https://api.example.com"

func TestDocuments(t *testing.T) {
	iss := exampletest.NewTenant(t)
	api := exampletest.NewAPI(t, iss, resource, newHandler)
	// token mints a user token granting scopes, as Logto does from the
	// user's roles.
	token := func(scopes ...string) string {
		t.Helper()
		tok, err := iss.APIToken(resource, authztest.Scopes(scopes...))
		require.NoError(t, err)
		return tok
	}
	reader := token("read:documents")
	editor := token("read:documents", "write:documents", "delete:documents", "read:drafts")
	admin := token("admin:documents")

	tests := []struct {
		name         string
		method, path string
		token        string
		want         int
		challenge    string // in WWW-Authenticate
	}{
		{name: "reader lists", method: "GET", path: "/documents", token: reader, want: http.StatusOK},
		{name: "no token", method: "GET", path: "/documents", want: http.StatusUnauthorized, challenge: `Bearer realm="api"`},
		{name: "no permission", method: "GET", path: "/documents", token: token(), want: http.StatusForbidden, challenge: `error="insufficient_scope"`},
		{name: "reader cannot write", method: "POST", path: "/documents", token: reader, want: http.StatusForbidden, challenge: `scope="write:documents"`},
		{name: "editor writes", method: "POST", path: "/documents", token: editor, want: http.StatusCreated},
		{name: "editor deletes", method: "DELETE", path: "/documents/doc-1", token: editor, want: http.StatusNoContent},
		{name: "admin deletes, with the second permission of any-of", method: "DELETE", path: "/documents/doc-1", token: admin, want: http.StatusNoContent},
		{name: "reader cannot delete", method: "DELETE", path: "/documents/doc-1", token: reader, want: http.StatusForbidden, challenge: `scope="delete:documents admin:documents"`},
		{name: "drafts without read:drafts", method: "GET", path: "/documents?include=drafts", token: reader, want: http.StatusForbidden, challenge: `scope="read:drafts"`},
		{name: "drafts with read:drafts", method: "GET", path: "/documents?include=drafts", token: editor, want: http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := exampletest.Send(t, tc.method, api+tc.path, tc.token, "")
			exampletest.CheckAnswer(t, got, tc.want, tc.challenge)
		})
	}
}

func TestDraftsAreListedOnlyWhenAsked(t *testing.T) {
	iss := exampletest.NewTenant(t)
	api := exampletest.NewAPI(t, iss, resource, newHandler)
	tok, err := iss.APIToken(resource, authztest.Scopes("read:documents", "read:drafts"))
	require.NoError(t, err)

	for path, want := range map[string]bool{"/documents": false, "/documents?include=drafts": true} {
		got := exampletest.Send(t, "GET", api+path, tok, "")
		require.Equal(t, http.StatusOK, got.Status)
		assert.Equal(t, want, strings.Contains(got.Body, "draft:"), path)
	}
}

func TestRunUsage(t *testing.T) {
	exampletest.RunUsage(t, run, exampletest.APIUsage())
}

func TestRunServesUntilCancelled(t *testing.T) {
	iss := exampletest.NewTenant(t)
	r := exampletest.Start(t, run, map[string]string{"LOGTO_ISSUER": iss.URL(), "API_RESOURCE": resource, "ADDR": "127.0.0.1:0"})

	assert.Equal(t, http.StatusUnauthorized, exampletest.Send(t, "GET", "http://"+r.Addr+"/documents", "", "").Status)

	r.Stop(10 * time.Second)
}
