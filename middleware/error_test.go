package middleware_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/middleware"
)

func TestErrorAnswersHandlerRefusals(t *testing.T) {
	v, err := authz.New("https://tenant.logto.app/oidc", []string{"https://api.example.com"},
		authz.WithHTTPClient(&http.Client{Transport: failingTransport{}}), authz.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	t.Cleanup(v.Close)
	mw, err := middleware.New(v, middleware.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	claims := &authz.Claims{Subject: "user-1", Scopes: []string{"read:documents"}}

	tests := []struct {
		name      string
		err       error
		status    int
		challenge string
		body      string
	}{
		{name: "missing permission from authz.Check", err: authz.Check(authz.NewContext(context.Background(), claims), "read:drafts"), status: 403,
			challenge: `Bearer realm="api", error="insufficient_scope", error_description="missing permission read:drafts", scope="read:drafts"`,
			body:      `{"error":"insufficient_scope","error_description":"missing permission read:drafts","scope":"read:drafts"}`},
		{name: "missing permission that does not fit a challenge", err: authz.Check(authz.NewContext(context.Background(), claims), "lire:données", "read:drafts"), status: 403,
			challenge: `Bearer realm="api", error="insufficient_scope", error_description="missing permission lire:donn?es read:drafts", scope="read:drafts"`,
			body:      `{"error":"insufficient_scope","error_description":"missing permission lire:donn?es read:drafts","scope":"lire:données read:drafts"}`},
		{name: "wrong organization", err: claims.CheckOrganization("org-a"), status: 403,
			challenge: `Bearer realm="api", error="insufficient_scope", error_description="token is not for any organization"`,
			body:      `{"error":"insufficient_scope","error_description":"token is not for any organization"}`},
		{name: "no claims", err: authz.Check(context.Background(), "read:drafts"), status: 401,
			challenge: `Bearer realm="api"`,
			body:      `{"error":"unauthorized","error_description":"no claims in the context"}`},
		{name: "not an authz error", err: errors.New("database is down: password=hunter2"), status: 500,
			body: "Internal Server Error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodGet, "/documents?include=drafts", nil)
			r = r.WithContext(authz.NewContext(r.Context(), claims))
			mw.Error(rec, r, tt.err)
			assert.Equal(t, tt.status, rec.Code)
			assert.Equal(t, tt.challenge, rec.Header().Get("WWW-Authenticate"))
			body, _ := io.ReadAll(rec.Body)
			assert.Contains(t, string(body), tt.body)
			assert.NotContains(t, string(body), "hunter2")
		})
	}
}

type failingTransport struct{}

func (failingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("no network in tests")
}
