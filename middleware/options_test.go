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
