package middleware_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/middleware"
)

// TestErrorHandler: WithErrorHandler replaces the whole response and gets
// the refusal as an *authz.Error whose Kind tells what went wrong.
func TestErrorHandler(t *testing.T) {
	e := newEnv(t, false)
	m := must(t)
	errs := make(chan error, 1)
	mw := e.middleware(t, e.apiV, middleware.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
		errs <- err
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(middleware.StatusCode(err) + 1)
		_, _ = io.WriteString(w, "custom")
	}))
	srv := serve(t, mw.Require("read:documents")(echo))

	tests := []struct {
		name       string
		header     func(http.Header)
		wantKind   error
		wantStatus int
		wantReason string
	}{
		{name: "no token", wantKind: authz.ErrMissingToken, wantStatus: 402, wantReason: "the request has no bearer token"},
		{name: "malformed", header: func(h http.Header) { h.Set("Authorization", "Bearer a,b") }, wantKind: authz.ErrInvalidRequest, wantStatus: 401, wantReason: "the Authorization header must hold exactly one bearer token"},
		{name: "expired", header: bearer(m(e.iss.APIToken(api, authztest.Expired()))), wantKind: authz.ErrExpired, wantStatus: 402, wantReason: "expired 1h0m0s ago"},
		{name: "insufficient scope", header: bearer(m(e.iss.APIToken(api))), wantKind: authz.ErrInsufficientScope, wantStatus: 404, wantReason: "missing permission read:documents"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", srv.URL, nil)
			require.NoError(t, err)
			if tt.header != nil {
				tt.header(req.Header)
			}
			resp, err := srv.Client().Do(req)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)

			assert.Equal(t, tt.wantStatus, resp.StatusCode)
			assert.Equal(t, "custom", string(body))
			assert.Empty(t, resp.Header.Values("WWW-Authenticate"), "the default response is replaced entirely")
			got := <-errs
			var ae *authz.Error
			require.ErrorAs(t, got, &ae)
			assert.ErrorIs(t, ae.Kind, tt.wantKind)
			assert.Equal(t, tt.wantReason, ae.Reason)
		})
	}
}

// TestRealm: the realm is configurable, and can be left out.
func TestRealm(t *testing.T) {
	e := newEnv(t, false)
	tok := must(t)(e.iss.APIToken(api, authztest.Expired()))
	tests := []struct {
		name          string
		opts          []middleware.Option
		wantNoToken   string
		wantBadToken  string
		wantForbidden string
	}{
		{
			name:         "default",
			wantNoToken:  `Bearer realm="api"`,
			wantBadToken: `Bearer realm="api", error="invalid_token", error_description="expired 1h0m0s ago"`,
		},
		{
			name:         "custom",
			opts:         []middleware.Option{middleware.WithRealm("documents service")},
			wantNoToken:  `Bearer realm="documents service"`,
			wantBadToken: `Bearer realm="documents service", error="invalid_token", error_description="expired 1h0m0s ago"`,
		},
		{
			name:         "none",
			opts:         []middleware.Option{middleware.WithRealm("")},
			wantNoToken:  `Bearer`,
			wantBadToken: `Bearer error="invalid_token", error_description="expired 1h0m0s ago"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, e.middleware(t, e.apiV, tt.opts...).Authenticate(echo))
			nt := noToken()
			nt.challenge = tt.wantNoToken
			do(t, srv, "GET", "/", nil, nt)
			bt := invalidToken("expired 1h0m0s ago")
			bt.challenge = tt.wantBadToken
			do(t, srv, "GET", "/", bearer(tok), bt)
		})
	}
}

// TestResourceMetadataChallenges: with WithResourceMetadata, every
// challenge the middleware sends ends with resource_metadata (RFC 9728
// section 5.1), after the RFC 6750 attributes and the 403's scope; a 503
// still has none. Without it, the challenges are unchanged.
func TestResourceMetadataChallenges(t *testing.T) {
	e := newEnv(t, false)
	m := must(t)
	const metadata = "https://api.example.com/.well-known/oauth-protected-resource"
	const rm = `, resource_metadata="` + metadata + `"`
	expired := m(e.iss.APIToken(api, authztest.Expired()))
	noScope := m(e.iss.APIToken(api, authztest.Scopes("read:documents")))

	// handler requires two permissions on /documents, and on /drafts one
	// that the handler checks itself and refuses with Middleware.Error.
	handler := func(m *middleware.Middleware) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/documents", m.Require("read:documents", "write:documents")(echo))
		mux.Handle("/drafts", m.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m.Error(w, r, authz.Check(r.Context(), "read:drafts"))
		})))
		return mux
	}

	tests := []struct {
		name   string
		target string
		header func(http.Header)
		want   want // the answer without the option
	}{
		{name: "no token", target: "/documents", want: noToken()},
		{name: "malformed request", target: "/documents", header: func(h http.Header) { h.Set("Authorization", "Bearer a,b") },
			want: invalidRequest("the Authorization header must hold exactly one bearer token")},
		{name: "token in the query", target: "/documents?access_token=x",
			want: invalidRequest("the access token is in the URI query, which this API does not accept; send it in the Authorization header")},
		{name: "invalid token", target: "/documents", header: bearer(expired), want: invalidToken("expired 1h0m0s ago")},
		{name: "insufficient scope", target: "/documents", header: bearer(noScope),
			want: forbidden("missing permission write:documents", "read:documents write:documents")},
		{name: "insufficient scope from Middleware.Error", target: "/drafts", header: bearer(noScope),
			want: forbidden("missing permission read:drafts", "read:drafts")},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/without", func(t *testing.T) {
			do(t, serve(t, handler(e.middleware(t, e.apiV))), "GET", tt.target, tt.header, tt.want)
		})
		t.Run(tt.name+"/with", func(t *testing.T) {
			w := tt.want
			w.challenge += rm
			do(t, serve(t, handler(e.middleware(t, e.apiV, middleware.WithResourceMetadata(metadata)))), "GET", tt.target, tt.header, w)
		})
	}

	t.Run("exact challenges", func(t *testing.T) {
		srv := serve(t, handler(e.middleware(t, e.apiV, middleware.WithResourceMetadata(metadata))))
		nt := noToken()
		nt.challenge = `Bearer realm="api", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"`
		do(t, srv, "GET", "/documents", nil, nt)
		fb := forbidden("missing permission write:documents", "read:documents write:documents")
		fb.challenge = `Bearer realm="api", error="insufficient_scope", error_description="missing permission write:documents", scope="read:documents write:documents", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"`
		do(t, srv, "GET", "/documents", bearer(noScope), fb)
	})

	t.Run("without a realm", func(t *testing.T) {
		srv := serve(t, e.middleware(t, e.apiV, middleware.WithRealm(""), middleware.WithResourceMetadata(metadata)).Authenticate(echo))
		nt := noToken()
		nt.challenge = `Bearer resource_metadata="` + metadata + `"`
		do(t, srv, "GET", "/", nil, nt)
		it := invalidToken("expired 1h0m0s ago")
		it.challenge = `Bearer error="invalid_token", error_description="expired 1h0m0s ago"` + rm
		do(t, srv, "GET", "/", bearer(expired), it)
	})

	t.Run("503 has no challenge", func(t *testing.T) {
		down := newEnv(t, true)
		srv := serve(t, down.middleware(t, down.apiV, middleware.WithResourceMetadata(metadata)).Authenticate(echo))
		do(t, srv, "GET", "/", bearer(m(down.iss.APIToken(api))), unavailable())
	})

	t.Run("the error handler writes its own response", func(t *testing.T) {
		srv := serve(t, e.middleware(t, e.apiV, middleware.WithResourceMetadata(metadata),
			middleware.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
				w.WriteHeader(middleware.StatusCode(err))
			})).Authenticate(echo))
		resp, err := srv.Client().Get(srv.URL)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		assert.Empty(t, resp.Header.Values("WWW-Authenticate"))
	})
}

// TestWithResourceMetadataRejects: the URL goes into a quoted string of
// every challenge, so New checks it.
func TestWithResourceMetadataRejects(t *testing.T) {
	e := newEnv(t, false)
	tests := []struct {
		url     string
		wantErr string
	}{
		{url: "", wantErr: `middleware: resource metadata URL "" is not an absolute URL`},
		{url: "/.well-known/oauth-protected-resource", wantErr: `middleware: resource metadata URL "/.well-known/oauth-protected-resource" is not an absolute URL`},
		{url: "http://api.example.com/.well-known/oauth-protected-resource", wantErr: `middleware: resource metadata URL "http://api.example.com/.well-known/oauth-protected-resource" must use https (http only on a loopback host)`},
		{url: "https://api.example.com/.well-known/oauth-protected-resource#x", wantErr: `middleware: resource metadata URL "https://api.example.com/.well-known/oauth-protected-resource#x" has a fragment`},
		{url: `https://api.example.com/"x"`, wantErr: `middleware: resource metadata URL "https://api.example.com/\"x\"" has a character outside printable ASCII, or '"' or '\'`},
		{url: "https://api.example.com/\\", wantErr: `middleware: resource metadata URL "https://api.example.com/\\" has a character outside printable ASCII, or '"' or '\'`},
		{url: "https://api.example.com/é", wantErr: `middleware: resource metadata URL "https://api.example.com/é" has a character outside printable ASCII, or '"' or '\'`},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			mw, err := middleware.New(e.apiV, middleware.WithResourceMetadata(tt.url))
			assert.EqualError(t, err, tt.wantErr)
			assert.Nil(t, mw)
		})
	}
	for _, ok := range []string{
		"https://api.example.com/.well-known/oauth-protected-resource",
		"https://api.example.com/.well-known/oauth-protected-resource/mcp",
		"https://metadata.example.com/api?tenant=1",
		"http://127.0.0.1:8080/.well-known/oauth-protected-resource",
		"http://localhost/.well-known/oauth-protected-resource",
	} {
		_, err := middleware.New(e.apiV, middleware.WithResourceMetadata(ok))
		assert.NoError(t, err, ok)
	}
}
