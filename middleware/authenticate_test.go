package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/middleware"
)

func TestAllowAnonymous(t *testing.T) {
	e := newEnv(t, false)
	m := must(t)
	srv := serve(t, e.middleware(t, e.apiV).AllowAnonymous(echo))
	tests := []struct {
		name   string
		header func(http.Header)
		want   want
	}{
		{name: "no token calls next without claims", want: anonymous()},
		{name: "Basic credentials are no bearer token", header: func(h http.Header) { h.Set("Authorization", "Basic dXNlcjpwYXNz") }, want: anonymous()},
		{name: "valid token puts claims", header: bearer(m(e.iss.APIToken(api, authztest.Subject("alice")))), want: allowed("alice", "")},
		{name: "bad token is refused", header: bearer("not-a-jwt"), want: invalidToken("token is not a JWT: most likely a Logto opaque access token; request the token with resource=https://api.example.com")},
		{name: "expired token is refused", header: bearer(m(e.iss.APIToken(api, authztest.Expired()))), want: invalidToken("expired 1h0m0s ago")},
		{name: "wrong audience is refused", header: bearer(m(e.iss.APIToken("https://other.example.com"))), want: invalidToken("token is not for this API: its 'aud' is 'https://other.example.com'; this API is https://api.example.com")},
		{name: "malformed request is refused", header: func(h http.Header) { h.Set("Authorization", "Bearer") }, want: invalidRequest("the Authorization header has the Bearer scheme but no token")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			do(t, srv, "GET", "/", tt.header, tt.want)
		})
	}
}

// TestComposition: inner middleware reuse the claims an outer one put in
// the context instead of validating the token again.
func TestComposition(t *testing.T) {
	e := newEnv(t, false)
	m := must(t)
	mw := e.middleware(t, e.apiV)
	mux := http.NewServeMux()
	mux.Handle("GET /documents", mw.Require("read:documents")(echo))
	mux.Handle("GET /orgs/{org}/documents", mw.RequireOrganizationFromPath("org", "read:documents")(echo))
	mux.Handle("GET /feed", mw.AllowAnonymous(echo))
	srv := serve(t, mw.Authenticate(mux))

	t.Run("outer Authenticate, inner Require", func(t *testing.T) {
		do(t, srv, "GET", "/documents", bearer(m(e.iss.APIToken(api, authztest.Scopes("read:documents")))), allowed("test-user", ""))
		do(t, srv, "GET", "/documents", bearer(m(e.iss.APIToken(api))), forbidden("missing permission read:documents", "read:documents"))
		do(t, srv, "GET", "/documents", nil, noToken())
	})
	t.Run("outer Authenticate, inner organization check", func(t *testing.T) {
		tok := m(e.iss.OrganizationAPIToken(api, "org-a", authztest.Scopes("read:documents")))
		do(t, srv, "GET", "/orgs/org-a/documents", bearer(tok), allowed("test-user", "org-a"))
		do(t, srv, "GET", "/orgs/org-b/documents", bearer(tok), forbidden("token is for another organization", "read:documents"))
	})
	t.Run("outer Authenticate wins over inner AllowAnonymous", func(t *testing.T) {
		do(t, srv, "GET", "/feed", nil, noToken())
	})

	// Claims put in the context by other means (a test, another
	// transport, another validator) are never trusted: the middleware
	// validates the request's own token, and a garbage one is refused.
	claims := &authz.Claims{Subject: "from-context", Scopes: []string{"read:documents"}}
	withClaims := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(w, r.WithContext(authz.NewContext(r.Context(), claims)))
		})
	}
	garbage := invalidToken("token is not a JWT: most likely a Logto opaque access token; request the token with resource=https://api.example.com")
	for name, h := range map[string]http.Handler{
		"Authenticate":   mw.Authenticate(echo),
		"AllowAnonymous": mw.AllowAnonymous(echo),
		"Require":        mw.Require("read:documents")(echo),
		"RequireAny":     mw.RequireAny("write:documents", "read:documents")(echo),
	} {
		t.Run("claims made by hand are not reused: "+name, func(t *testing.T) {
			srv := serve(t, withClaims(h))
			do(t, srv, "GET", "/", bearer("garbage"), garbage)
			do(t, srv, "GET", "/", bearer(m(e.iss.APIToken(api, authztest.Subject("bob"), authztest.Scopes("read:documents")))), allowed("bob", ""))
		})
	}
}

// TestFormStaysReadable: with AllowFormToken, the next handler still finds
// the parsed form.
func TestFormStaysReadable(t *testing.T) {
	e := newEnv(t, false)
	var got string
	h := e.middleware(t, e.apiV, middleware.AllowFormToken()).Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.PostFormValue("title")
	}))
	body := url.Values{"access_token": {must(t)(e.iss.APIToken(api))}, "title": {"hello"}}.Encode()
	req := httptest.NewRequest("POST", "/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, "hello", got)
}
