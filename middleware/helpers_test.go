package middleware_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/middleware"
)

// api is the resource indicator of the API under test.
const api = "https://api.example.com"

// clock is a fake clock shared by the issuer and the validators.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// logBuffer collects log output written from server goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// env is an issuer, two validators trusting it (one for the API resource,
// one for organization tokens), their shared fake clock, and a log buffer.
type env struct {
	iss   *authztest.Issuer
	clock *clock
	// apiV accepts tokens for the API resource api, including
	// organization-level API tokens (with "organization_id").
	apiV *authz.Validator
	// orgV accepts organization tokens for any organization.
	orgV *authz.Validator
	logs *logBuffer
}

func newEnv(t *testing.T, issuerDown bool) *env {
	t.Helper()
	c := newClock()
	iss, err := authztest.NewIssuer(authztest.WithClock(c.Now))
	require.NoError(t, err)
	t.Cleanup(iss.Close)
	iss.SetUnavailable(issuerDown)
	e := &env{iss: iss, clock: c, logs: &logBuffer{}}
	e.apiV = e.validator(t, api)
	e.orgV = e.validator(t, authz.AnyOrganization)
	return e
}

func (e *env) validator(t *testing.T, audiences ...string) *authz.Validator {
	t.Helper()
	v, err := authz.New(e.iss.URL(), audiences, authz.WithClock(e.clock.Now))
	require.NoError(t, err)
	t.Cleanup(v.Close)
	return v
}

// middleware returns a Middleware over v that logs JSON to e.logs.
func (e *env) middleware(t *testing.T, v *authz.Validator, opts ...middleware.Option) *middleware.Middleware {
	t.Helper()
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m, err := middleware.New(v, append([]middleware.Option{middleware.WithLogger(logger)}, opts...)...)
	require.NoError(t, err)
	return m
}

// must fails the test on a minting error: must(t)(iss.APIToken(api)).
func must(t *testing.T) func(string, error) string {
	return func(tok string, err error) string {
		t.Helper()
		require.NoError(t, err)
		return tok
	}
}

// echo is the protected handler: it answers 200 with the subject and
// organization of the claims in its context, or {"anonymous":true}.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	c, ok := authz.FromContext(r.Context())
	if !ok {
		_, _ = io.WriteString(w, `{"anonymous":true}`)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"sub": c.Subject, "org": c.OrganizationID})
})

// serve starts a real HTTP server on loopback for h.
func serve(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// want is the expected answer to a request.
type want struct {
	status int
	// challenge is the exact WWW-Authenticate value; "" means no header.
	challenge string
	// retryAfter is the exact Retry-After value; "" means no header.
	retryAfter string
	// body is the expected JSON body.
	body string
}

func allowed(sub, org string) want {
	return want{status: http.StatusOK, body: `{"sub":"` + sub + `","org":"` + org + `"}`}
}

func anonymous() want { return want{status: http.StatusOK, body: `{"anonymous":true}`} }

func noToken() want {
	return want{
		status:    http.StatusUnauthorized,
		challenge: `Bearer realm="api"`,
		body:      `{"error":"unauthorized","error_description":"the request has no bearer token"}`,
	}
}

func invalidRequest(desc string) want {
	return want{
		status:    http.StatusBadRequest,
		challenge: `Bearer realm="api", error="invalid_request", error_description="` + desc + `"`,
		body:      jsonBody("invalid_request", desc),
	}
}

func invalidToken(desc string) want {
	return want{
		status:    http.StatusUnauthorized,
		challenge: `Bearer realm="api", error="invalid_token", error_description="` + desc + `"`,
		body:      jsonBody("invalid_token", desc),
	}
}

// forbidden is a 403 whose challenge and body both name the permissions
// scope ("" for none).
func forbidden(desc, scope string) want { return forbiddenScopes(desc, scope, scope) }

// forbiddenScopes is a 403 whose challenge's scope attribute is attr and
// whose body's "scope" is all: they differ when a permission does not fit
// a quoted string.
func forbiddenScopes(desc, attr, all string) want {
	c := `Bearer realm="api", error="insufficient_scope", error_description="` + desc + `"`
	if attr != "" {
		c += `, scope="` + attr + `"`
	}
	body := map[string]string{"error": "insufficient_scope", "error_description": desc}
	if all != "" {
		body["scope"] = all
	}
	b, err := json.Marshal(body)
	if err != nil {
		panic(err)
	}
	return want{status: http.StatusForbidden, challenge: c, body: string(b)}
}

func unavailable() want {
	return want{
		status:     http.StatusServiceUnavailable,
		retryAfter: "5",
		body:       jsonBody("temporarily_unavailable", "the issuer's keys could not be loaded"),
	}
}

func jsonBody(code, desc string) string {
	b, err := json.Marshal(map[string]string{"error": code, "error_description": desc})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// bearer returns an Authorization header setter for tok.
func bearer(tok string) func(http.Header) {
	return func(h http.Header) { h.Set("Authorization", "Bearer "+tok) }
}

// do sends a request to srv with a real client and checks the answer.
func do(t *testing.T, srv *httptest.Server, method, target string, header func(http.Header), w want) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+target, nil)
	require.NoError(t, err)
	if header != nil {
		header(req.Header)
	}
	check(t, srv, req, w)
}

// check sends req to srv with a real client and checks the answer.
func check(t *testing.T, srv *httptest.Server, req *http.Request, w want) {
	t.Helper()
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)

	assert.Equal(t, w.status, resp.StatusCode, "status; body %s", body)
	if w.challenge == "" {
		assert.Empty(t, resp.Header.Values("WWW-Authenticate"), "WWW-Authenticate")
	} else {
		assert.Equal(t, []string{w.challenge}, resp.Header.Values("WWW-Authenticate"), "WWW-Authenticate")
	}
	if w.retryAfter == "" {
		assert.Empty(t, resp.Header.Values("Retry-After"), "Retry-After")
	} else {
		assert.Equal(t, []string{w.retryAfter}, resp.Header.Values("Retry-After"), "Retry-After")
	}
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.JSONEq(t, w.body, string(body), "body")
}

// mustPolicy builds a policy of rules, failing the test if it is invalid.
func mustPolicy(t *testing.T, rules ...authz.Rule) *authz.Policy {
	t.Helper()
	p, err := authz.NewPolicy(rules...)
	require.NoError(t, err)
	return p
}
