package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/middleware"
)

// preflight sets the headers of a browser's CORS preflight.
func preflight(h http.Header) {
	h.Set("Origin", "https://app.example.com")
	h.Set("Access-Control-Request-Method", "GET")
	h.Set("Access-Control-Request-Headers", "authorization")
}

// TestPreflight: with AllowPreflight, a CORS preflight reaches the next
// handler without a token, on every kind of route; without it, and for
// any other OPTIONS request, a token is required as always.
func TestPreflight(t *testing.T) {
	e := newEnv(t, false)
	m := must(t)
	routes := func(mw *middleware.Middleware) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/require", mw.Require("read:documents")(echo))
		mux.Handle("/authenticate", mw.Authenticate(echo))
		mux.Handle("/orgs/{org}", mw.RequireOrganizationFromPath("org")(echo))
		mux.Handle("/", mw.Enforce(mustPolicy(t, authz.Rule{Pattern: "/policy", AllOf: []string{"read:documents"}}))(echo))
		return mux
	}
	open := serve(t, routes(e.middleware(t, e.apiV, middleware.AllowPreflight())))
	closed := serve(t, routes(e.middleware(t, e.apiV)))
	tok := m(e.iss.APIToken(api, authztest.Scopes("read:documents")))
	for _, path := range []string{"/require", "/authenticate", "/orgs/org-a", "/policy", "/unlisted"} {
		t.Run(path, func(t *testing.T) {
			do(t, open, "OPTIONS", path, preflight, anonymous())
			do(t, closed, "OPTIONS", path, preflight, noToken())
			// An OPTIONS request that is no preflight needs a token either way.
			for _, s := range []*httptest.Server{open, closed} {
				do(t, s, "OPTIONS", path, func(h http.Header) { h.Set("Origin", "https://app.example.com") }, noToken())
				do(t, s, "OPTIONS", path, func(h http.Header) { h.Set("Access-Control-Request-Method", "GET") }, noToken())
				do(t, s, "OPTIONS", path, func(h http.Header) {
					preflight(h)
					h.Set("Authorization", "Bearer not-a-jwt")
				}, invalidToken("token is not a JWT: most likely a Logto opaque access token; request the token with resource=https://api.example.com"))
				do(t, s, "GET", path, preflight, noToken())
			}
		})
	}
	t.Run("a preflight carrying a token is a request like any other", func(t *testing.T) {
		do(t, open, "OPTIONS", "/require", func(h http.Header) {
			preflight(h)
			bearer(tok)(h)
		}, allowed("test-user", ""))
	})
}

// cors is a minimal CORS layer for the browser-shaped flow: it answers
// preflights from one origin and adds the allow-origin header to the
// answers of the others.
func cors(origin string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Origin") == origin {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Vary", "Origin")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				w.Header().Set("Access-Control-Allow-Methods", "GET, POST")
				w.Header().Set("Access-Control-Allow-Headers", "Authorization")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// TestBrowserFlow: a cross-origin browser call, preflight then request,
// with the CORS layer outside the authz middleware (no option needed) and
// inside it (AllowPreflight).
func TestBrowserFlow(t *testing.T) {
	e := newEnv(t, false)
	tok := must(t)(e.iss.APIToken(api, authztest.Scopes("read:documents")))
	const origin = "https://app.example.com"
	for name, h := range map[string]http.Handler{
		"CORS outside": cors(origin, e.middleware(t, e.apiV).Require("read:documents")(echo)),
		"CORS inside":  e.middleware(t, e.apiV, middleware.AllowPreflight()).Require("read:documents")(cors(origin, echo)),
	} {
		t.Run(name, func(t *testing.T) {
			srv := serve(t, h)
			req, err := http.NewRequest("OPTIONS", srv.URL+"/documents", nil)
			require.NoError(t, err)
			preflight(req.Header)
			resp, err := srv.Client().Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusNoContent, resp.StatusCode)
			assert.Equal(t, origin, resp.Header.Get("Access-Control-Allow-Origin"))
			assert.Contains(t, resp.Header.Get("Access-Control-Allow-Headers"), "Authorization")

			req, err = http.NewRequest("GET", srv.URL+"/documents", nil)
			require.NoError(t, err)
			req.Header.Set("Origin", origin)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err = srv.Client().Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, origin, resp.Header.Get("Access-Control-Allow-Origin"))
		})
	}
}

// TestCookieToken: AllowCookieToken takes the token from the cookie; a
// second credential, a repeated or an empty cookie is a malformed request;
// without the option the cookie is never read.
func TestCookieToken(t *testing.T) {
	e := newEnv(t, false)
	tok := must(t)(e.iss.APIToken(api, authztest.Subject("alice"), authztest.Scopes("read:documents")))
	cookie := func(values ...string) func(http.Header) {
		return func(h http.Header) {
			for _, v := range values {
				h.Add("Cookie", "at="+v)
			}
		}
	}
	srv := serve(t, e.middleware(t, e.apiV, middleware.AllowCookieToken("at")).Require("read:documents")(echo))
	do(t, srv, "GET", "/", cookie(tok), allowed("alice", ""))
	do(t, srv, "GET", "/", func(h http.Header) { h.Set("Cookie", "theme=dark; at="+tok) }, allowed("alice", ""))
	do(t, srv, "GET", "/", func(h http.Header) {
		cookie(tok)(h)
		bearer(tok)(h)
	}, invalidRequest("the request carries more than one access token (RFC 6750 allows one method per request)"))
	do(t, srv, "GET", "/", cookie(tok, tok), invalidRequest("the at cookie is repeated"))
	do(t, srv, "GET", "/", cookie(""), invalidRequest("the at cookie is empty"))
	do(t, srv, "GET", "/", cookie("not-a-jwt"), invalidToken("token is not a JWT: most likely a Logto opaque access token; request the token with resource=https://api.example.com"))
	do(t, srv, "GET", "/", nil, noToken())

	off := serve(t, e.middleware(t, e.apiV).Require("read:documents")(echo))
	do(t, off, "GET", "/", cookie(tok), noToken())

	_, err := middleware.New(e.apiV, middleware.AllowCookieToken("bad name"))
	assert.EqualError(t, err, `middleware: AllowCookieToken("bad name"): not a valid cookie name`)
}
