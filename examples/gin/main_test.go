package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/middleware"
)

const resource = "https://api.example.com"

// clock is the fixed time of the tests, shared by the issuer and the validator.
func clock() time.Time { return time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC) }

// newTenant starts an in-process issuer shaped like a Logto tenant.
func newTenant(t *testing.T) *authztest.Issuer {
	t.Helper()
	iss, err := authztest.NewIssuer(authztest.WithClock(clock))
	require.NoError(t, err)
	t.Cleanup(iss.Close)
	return iss
}

// newMiddleware returns middleware trusting iss.
func newMiddleware(t *testing.T, iss *authztest.Issuer) *middleware.Middleware {
	t.Helper()
	v, err := authz.New(iss.URL(), []string{resource}, authz.WithClock(clock))
	require.NoError(t, err)
	t.Cleanup(v.Close)
	mw, err := middleware.New(v, middleware.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	return mw
}

// newAPI serves newHandler, trusting iss, and returns its URL.
func newAPI(t *testing.T, iss *authztest.Issuer) string {
	t.Helper()
	srv := httptest.NewServer(newHandler(newMiddleware(t, iss)))
	t.Cleanup(srv.Close)
	return srv.URL
}

// response is what a test looks at in an answer.
type response struct {
	status    int
	challenge string // WWW-Authenticate
	body      string
}

// send makes one request to url with token (none if "") and body.
func send(t *testing.T, method, url, token, body string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{status: resp.StatusCode, challenge: resp.Header.Get("WWW-Authenticate"), body: string(b)}
}

func TestRoutes(t *testing.T) {
	iss := newTenant(t)
	api := newAPI(t, iss)
	// token mints a user token granting scopes, as Logto does from the
	// user's roles.
	token := func(scopes ...string) string {
		t.Helper()
		tok, err := iss.APIToken(resource, authztest.Scopes(scopes...))
		require.NoError(t, err)
		return tok
	}
	// orgToken mints a token for the API inside organization orgID
	// (API resources with organization-level RBAC).
	orgToken := func(orgID string, scopes ...string) string {
		t.Helper()
		tok, err := iss.OrganizationAPIToken(resource, orgID, authztest.Scopes(scopes...))
		require.NoError(t, err)
		return tok
	}
	reader := token("read:documents")
	member := orgToken("org-a", "read:members")
	inviter := orgToken("org-a", "read:members", "invite:member")
	invitation := `{"email": "carol@example.com"}`

	tests := []struct {
		name         string
		method, path string
		token, body  string
		want         int
		challenge    string // in WWW-Authenticate; "" for none
		inBody       string
	}{
		{name: "public route", method: "GET", path: "/healthz", want: http.StatusOK, inBody: `"ok"`},
		{name: "me", method: "GET", path: "/me", token: reader, want: http.StatusOK, inBody: `"subject":"test-user"`},
		{name: "me, machine", method: "GET", path: "/me", token: must(t)(iss.MachineToken(resource, "app-1")), want: http.StatusOK, inBody: `"machine":true`},
		{name: "me, no token", method: "GET", path: "/me", want: http.StatusUnauthorized, challenge: `Bearer realm="api"`},
		{name: "me, expired", method: "GET", path: "/me", token: must(t)(iss.APIToken(resource, authztest.Expired())), want: http.StatusUnauthorized, challenge: `error="invalid_token"`},
		{name: "me, wrong audience", method: "GET", path: "/me", token: must(t)(iss.APIToken("https://other.example.com")), want: http.StatusUnauthorized, challenge: `error="invalid_token"`},
		{name: "reader lists", method: "GET", path: "/documents", token: reader, want: http.StatusOK, inBody: "roadmap"},
		{name: "list, no token", method: "GET", path: "/documents", want: http.StatusUnauthorized, challenge: `Bearer realm="api"`},
		{name: "list, not a JWT", method: "GET", path: "/documents", token: "not-a-jwt", want: http.StatusUnauthorized, challenge: `error="invalid_token"`},
		{name: "list, missing permission", method: "GET", path: "/documents", token: token("write:documents"), want: http.StatusForbidden, challenge: `scope="read:documents"`},
		{name: "delete with the first of any-of", method: "DELETE", path: "/documents/doc-1", token: token("delete:documents"), want: http.StatusNoContent},
		{name: "delete with the second of any-of", method: "DELETE", path: "/documents/doc-1", token: token("admin:documents"), want: http.StatusNoContent},
		{name: "reader cannot delete", method: "DELETE", path: "/documents/doc-1", token: reader, want: http.StatusForbidden, challenge: `scope="delete:documents admin:documents"`},
		{name: "member in own organization", method: "GET", path: "/orgs/org-a/members", token: member, want: http.StatusOK, inBody: `"organization":"org-a"`},
		{name: "member in other organization", method: "GET", path: "/orgs/org-b/members", token: member, want: http.StatusForbidden, challenge: `error="insufficient_scope"`},
		{name: "token for no organization", method: "GET", path: "/orgs/org-a/members", token: token("read:members"), want: http.StatusForbidden, challenge: `error_description="token is not for any organization"`},
		{name: "members, missing permission", method: "GET", path: "/orgs/org-a/members", token: orgToken("org-a"), want: http.StatusForbidden, challenge: `scope="read:members"`},
		{name: "members, no token", method: "GET", path: "/orgs/org-a/members", want: http.StatusUnauthorized, challenge: `Bearer realm="api"`},
		{name: "invite in own organization", method: "POST", path: "/orgs/org-a/invitations", token: inviter, body: invitation, want: http.StatusCreated, inBody: `"invited_by":"test-user"`},
		{name: "invite in other organization", method: "POST", path: "/orgs/org-b/invitations", token: inviter, body: invitation, want: http.StatusForbidden, challenge: `error="insufficient_scope"`},
		{name: "invite, missing permission", method: "POST", path: "/orgs/org-a/invitations", token: member, body: invitation, want: http.StatusForbidden, challenge: `scope="invite:member"`},
		{name: "invite, no token", method: "POST", path: "/orgs/org-a/invitations", body: invitation, want: http.StatusUnauthorized, challenge: `Bearer realm="api"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := send(t, tc.method, api+tc.path, tc.token, tc.body)
			assert.Equal(t, tc.want, got.status, got.body)
			if tc.challenge == "" {
				assert.Empty(t, got.challenge)
			} else {
				assert.Contains(t, got.challenge, tc.challenge)
			}
			if tc.want == http.StatusForbidden {
				assert.Contains(t, got.challenge, `error="insufficient_scope"`)
			}
			assert.Contains(t, got.body, tc.inBody)
			if tc.want >= 400 {
				var body struct {
					Error string `json:"error"`
				}
				require.NoError(t, json.Unmarshal([]byte(got.body), &body), "a refusal has the middleware's JSON body: %s", got.body)
				assert.NotEmpty(t, body.Error)
			}
		})
	}
}

func TestRunUsage(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{name: "no LOGTO_ISSUER", env: map[string]string{"API_RESOURCE": resource}, want: "go run ./examples/quickstart"},
		{name: "no API_RESOURCE", env: map[string]string{"LOGTO_ISSUER": "https://tenant.logto.app/oidc"}, want: "API_RESOURCE"},
		{name: "issuer over http", env: map[string]string{"LOGTO_ISSUER": "http://tenant.logto.app/oidc", "API_RESOURCE": resource}, want: "https"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			code := run(t.Context(), getenv(tc.env), &stderr)
			assert.Equal(t, 2, code)
			assert.Contains(t, stderr.String(), tc.want)
		})
	}
}

func TestRunServesUntilCancelled(t *testing.T) {
	// run's validator uses the real clock, and so does this issuer.
	iss, err := authztest.NewIssuer()
	require.NoError(t, err)
	t.Cleanup(iss.Close)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stderr logBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, getenv(map[string]string{"LOGTO_ISSUER": iss.URL(), "API_RESOURCE": resource, "ADDR": "127.0.0.1:0"}), &stderr)
	}()
	addr := listeningAddr(t, &stderr)

	assert.Equal(t, http.StatusOK, send(t, "GET", "http://"+addr+"/healthz", "", "").status)
	assert.Equal(t, http.StatusUnauthorized, send(t, "GET", "http://"+addr+"/documents", "", "").status)
	reader := must(t)(iss.APIToken(resource, authztest.Scopes("read:documents")))
	assert.Equal(t, http.StatusOK, send(t, "GET", "http://"+addr+"/documents", reader, "").status)

	cancel()
	select {
	case code := <-done:
		assert.Equal(t, 0, code, stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after the context was cancelled")
	}
}

// must returns a helper that fails t on err and returns tok.
func must(t *testing.T) func(tok string, err error) string {
	return func(tok string, err error) string {
		t.Helper()
		require.NoError(t, err)
		return tok
	}
}

func getenv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// listeningAddr waits for run's "listening" log line and returns its address.
func listeningAddr(t *testing.T, log *logBuffer) string {
	t.Helper()
	re := regexp.MustCompile(`msg=listening addr=(\S+)`)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(log.String()); m != nil {
			return m[1]
		}
	}
	t.Fatalf("run did not start listening; its output:\n%s", log.String())
	return ""
}

// logBuffer collects run's output, written from the server's goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
