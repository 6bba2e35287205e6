package middleware_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/middleware"
)

// logRecord is one JSON log line.
type logRecord struct {
	Level  string `json:"level"`
	Msg    string `json:"msg"`
	Status int    `json:"status"`
	Reason string `json:"reason"`
	Detail string `json:"detail"`
	Method string `json:"method"`
	Path   string `json:"path"`
	Route  string `json:"route"`
	Sub    string `json:"sub"`
}

func records(t *testing.T, logs string) []logRecord {
	t.Helper()
	var out []logRecord
	for line := range strings.Lines(logs) {
		var r logRecord
		require.NoError(t, json.Unmarshal([]byte(line), &r), line)
		out = append(out, r)
	}
	return out
}

// TestLogging: every refusal is logged at Debug with its reason, method,
// path, route and (once known) subject, and never with the token, wherever
// the token was.
func TestLogging(t *testing.T) {
	e := newEnv(t, false)
	m := must(t)
	mux := http.NewServeMux()
	mux.Handle("GET /documents/{id}", e.middleware(t, e.apiV).Require("read:documents")(echo))
	srv := serve(t, mux)

	expired := m(e.iss.APIToken(api, authztest.Expired(), authztest.Subject("user-1")))
	noScope := m(e.iss.APIToken(api, authztest.Subject("user-2")))
	inQuery := m(e.iss.APIToken(api, authztest.Scopes("read:documents")))
	forged := m(e.iss.APIToken(api, authztest.SignedByUnknownKey()))
	tests := []struct {
		name   string
		target string
		header func(http.Header)
		want   logRecord
	}{
		{
			name: "expired", target: "/documents/1", header: bearer(expired),
			want: logRecord{Level: "DEBUG", Status: 401, Reason: "authz: token expired", Detail: "expired 1h0m0s ago", Path: "/documents/1"},
		},
		{
			name: "insufficient scope", target: "/documents/2", header: bearer(noScope),
			want: logRecord{Level: "DEBUG", Status: 403, Reason: "authz: insufficient scope", Detail: "missing permission read:documents", Path: "/documents/2", Sub: "user-2"},
		},
		{
			name: "token in the query", target: "/documents/3?access_token=" + inQuery,
			want: logRecord{Level: "DEBUG", Status: 400, Reason: "authz: invalid request", Detail: "the access token is in the URI query, which this API does not accept; send it in the Authorization header", Path: "/documents/3"},
		},
		{
			name: "forged", target: "/documents/4", header: bearer(forged),
			want: logRecord{Level: "DEBUG", Status: 401, Reason: "authz: unknown signing key", Detail: `no key in the issuer's JWKS has the token's "kid"`, Path: "/documents/4"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.logs.String())
			req, err := http.NewRequest("GET", srv.URL+tt.target, nil)
			require.NoError(t, err)
			if tt.header != nil {
				tt.header(req.Header)
			}
			resp, err := srv.Client().Do(req)
			require.NoError(t, err)
			resp.Body.Close()

			logs := e.logs.String()[before:]
			got := records(t, logs)
			require.Len(t, got, 1, logs)
			tt.want.Msg, tt.want.Method, tt.want.Route = "authz: request refused", "GET", "GET /documents/{id}"
			assert.Equal(t, tt.want, got[0])
		})
	}

	logs := e.logs.String()
	for _, tok := range []string{expired, noScope, inQuery, forged} {
		sig := tok[strings.LastIndexByte(tok, '.')+1:]
		assert.NotContains(t, logs, tok, "the token is never logged")
		assert.NotContains(t, logs, sig, "not even its signature")
	}
}

// TestKeysUnavailableIsLoggedAsWarning: a 503 is the operator's problem.
func TestKeysUnavailableIsLoggedAsWarning(t *testing.T) {
	e := newEnv(t, true)
	srv := serve(t, e.middleware(t, e.apiV).Authenticate(echo))
	do(t, srv, "GET", "/", bearer(must(t)(e.iss.APIToken(api))), unavailable())
	got := records(t, e.logs.String())
	require.Len(t, got, 1)
	assert.Equal(t, "WARN", got[0].Level)
	assert.Equal(t, "authz: signing keys unavailable", got[0].Reason)
	assert.Equal(t, 503, got[0].Status)
}

// TestRoutineRefusalsAreNotLoggedAtInfo: at slog's default level, a 401
// or 403 logs nothing, and a 503 logs a warning.
func TestRoutineRefusalsAreNotLoggedAtInfo(t *testing.T) {
	for _, down := range []bool{false, true} {
		e := newEnv(t, down)
		var buf logBuffer
		mw, err := middleware.New(e.apiV, middleware.WithLogger(slog.New(slog.NewJSONHandler(&buf, nil))))
		require.NoError(t, err)
		srv := serve(t, mw.Require("read:documents")(echo))
		if down {
			do(t, srv, "GET", "/", bearer(must(t)(e.iss.APIToken(api))), unavailable())
			got := records(t, buf.String())
			require.Len(t, got, 1)
			assert.Equal(t, "WARN", got[0].Level)
			continue
		}
		for _, tok := range []string{
			must(t)(e.iss.APIToken(api, authztest.Expired())),
			must(t)(e.iss.APIToken(api)), // 403: no read:documents
			must(t)(e.iss.APIToken(api, authztest.SignedByUnknownKey())),
		} {
			resp, err := srv.Client().Do(requestWith(t, srv.URL, tok))
			require.NoError(t, err)
			resp.Body.Close()
			assert.Contains(t, []int{401, 403}, resp.StatusCode)
		}
		assert.Empty(t, buf.String(), "routine refusals at Info")
	}
}

// requestWith is a GET of url carrying tok as a bearer token.
func requestWith(t *testing.T, url, tok string) *http.Request {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok)
	return req
}

// TestRefusalIsWrittenBeforeNext: a refused request never reaches next, and
// the response is the middleware's alone.
func TestRefusalIsWrittenBeforeNext(t *testing.T) {
	e := newEnv(t, false)
	called := false
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { called = true })
	rec := httptest.NewRecorder()
	e.middleware(t, e.apiV).Require("read:documents")(next).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	assert.False(t, called)
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
}
