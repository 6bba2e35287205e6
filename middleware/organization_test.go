package middleware_test

import (
	"net/http"
	"testing"

	"github.com/seed31d61d31/authz/authztest"
)

// TestOrganizationFromPathOutsideARoute: wrapping the ServeMux instead of
// the route's handler leaves the path value empty, and every request is
// refused: the middleware fails closed.
func TestOrganizationFromPathOutsideARoute(t *testing.T) {
	e := newEnv(t, false)
	mux := http.NewServeMux()
	mux.Handle("GET /orgs/{org}/members", echo)
	srv := serve(t, e.middleware(t, e.orgV).RequireOrganizationFromPath("org")(mux))
	tok := must(t)(e.iss.OrganizationToken("org-a"))
	do(t, srv, "GET", "/orgs/org-a/members", bearer(tok), forbidden("the request names no organization", ""))
}

func TestOrganization(t *testing.T) {
	e := newEnv(t, false)
	m := must(t)
	mw := e.middleware(t, e.orgV)
	mux := http.NewServeMux()
	mux.Handle("GET /orgs/{org}", mw.RequireOrganizationFromPath("org")(echo))
	mux.Handle("GET /files/{org...}", mw.RequireOrganizationFromPath("org")(echo))
	mux.Handle("GET /members", mw.RequireOrganizationFromHeader("x-organization-id")(echo))
	srv := serve(t, mux)
	tokA := m(e.iss.OrganizationToken("org-a", authztest.Subject("alice")))

	tests := []struct {
		name   string
		path   string
		header func(http.Header)
		want   want
	}{
		{name: "no permissions: the organization alone", path: "/orgs/org-a", header: bearer(tokA), want: allowed("alice", "org-a")},
		{name: "no permissions: another organization", path: "/orgs/org-b", header: bearer(tokA), want: forbidden("token is for another organization", "")},
		{name: "organization ids compare exactly", path: "/orgs/ORG-A", header: bearer(tokA), want: forbidden("token is for another organization", "")},
		{name: "escaped path value", path: "/orgs/org%2Da", header: bearer(tokA), want: allowed("alice", "org-a")},
		{name: "empty remainder wildcard", path: "/files/", header: bearer(tokA), want: forbidden("the request names no organization", "")},
		{name: "header name is case-insensitive", path: "/members", header: func(h http.Header) {
			h.Set("Authorization", "Bearer "+tokA)
			h["X-ORGANIZATION-ID"] = []string{"org-a"} // as sent; the server canonicalizes
		}, want: allowed("alice", "org-a")},
		{name: "empty header", path: "/members", header: func(h http.Header) {
			h.Set("Authorization", "Bearer "+tokA)
			h.Set("X-Organization-Id", "")
		}, want: forbidden("the request names no organization", "")},
		{name: "no token comes first", path: "/members", header: func(h http.Header) {
			h.Add("X-Organization-Id", "org-a")
			h.Add("X-Organization-Id", "org-b")
		}, want: noToken()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			do(t, srv, "GET", tt.path, tt.header, tt.want)
		})
	}
}
