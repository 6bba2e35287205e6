package middleware_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/middleware"
)

// startedKey carries the stage of Observer.Start in the context it returns.
type startedKey struct{}

func TestObserverSeesAuthorizationDecisions(t *testing.T) {
	iss, err := authztest.NewIssuer()
	require.NoError(t, err)
	t.Cleanup(iss.Close)
	var mu sync.Mutex
	var got []authz.Decision
	var unpaired int
	obs := authz.Observer{
		// Every decision's Start comes first, and its Decision gets the
		// context Start returned: a tracer's span covers it.
		Start: func(ctx context.Context, s authz.Stage) context.Context {
			return context.WithValue(ctx, startedKey{}, s)
		},
		Decision: func(ctx context.Context, d authz.Decision) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, d)
			if ctx.Value(startedKey{}) != d.Stage {
				unpaired++
			}
		},
	}
	const api = "https://api.example.com"
	v, err := authz.New(iss.URL(), []string{api}, authz.WithObserver(obs), authz.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	t.Cleanup(v.Close)
	mw, err := middleware.New(v, middleware.WithObserver(obs), middleware.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	p, err := authz.NewPolicy(authz.Rule{Pattern: "GET /reports", AllOf: []string{"read:reports"}})
	require.NoError(t, err)
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	mux := http.NewServeMux()
	mux.Handle("GET /documents", mw.Require("read:documents")(ok))
	mux.Handle("/", mw.Enforce(p)(ok))

	reader, err := iss.MachineToken(api, "job", authztest.Scopes("read:documents"))
	require.NoError(t, err)
	tests := []struct {
		path   string
		status int
		stages []authz.Stage
		reason string
		route  string
	}{
		{path: "/documents", status: 200, stages: []authz.Stage{authz.StageValidate, authz.StageAuthorize}, reason: "ok", route: "GET /documents"},
		{path: "/reports", status: 403, stages: []authz.Stage{authz.StageValidate, authz.StageAuthorize}, reason: "insufficient_scope", route: "GET /reports"},
		{path: "/unlisted", status: 403, stages: []authz.Stage{authz.StageValidate, authz.StageAuthorize}, reason: "insufficient_scope", route: ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			mu.Lock()
			got = nil
			mu.Unlock()
			r := httptest.NewRequest(http.MethodGet, tt.path, nil)
			r.Header.Set("Authorization", "Bearer "+reader)
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, r)
			require.Equal(t, tt.status, rec.Code)
			mu.Lock()
			defer mu.Unlock()
			require.Len(t, got, len(tt.stages))
			for i, st := range tt.stages {
				assert.Equal(t, st, got[i].Stage)
			}
			assert.Zero(t, unpaired, "a Decision without its Start")
			last := got[len(got)-1]
			assert.Equal(t, tt.reason, last.Reason())
			assert.Equal(t, tt.route, last.Route)
			assert.True(t, last.Machine)
			assert.Equal(t, iss.URL(), last.Issuer)
			if tt.reason == "ok" {
				assert.Nil(t, last.Err, "an allowed decision has a nil error, not a typed nil")
			}
		})
	}
}
