package main

import (
	"bytes"
	"context"
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

// newAPI serves newHandler, trusting iss, and returns its URL.
func newAPI(t *testing.T, iss *authztest.Issuer) string {
	t.Helper()
	v, err := authz.New(iss.URL(), []string{authz.AnyOrganization}, authz.WithClock(clock))
	require.NoError(t, err)
	t.Cleanup(v.Close)
	mw, err := middleware.New(v, middleware.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	srv := httptest.NewServer(newHandler(mw))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestOrganizationRoutes(t *testing.T) {
	iss := newTenant(t)
	api := newAPI(t, iss)
	// member is a member of org-a; admin an admin of org-a.
	member, err := iss.OrganizationToken("org-a", authztest.Scopes("read:members"))
	require.NoError(t, err)
	admin, err := iss.OrganizationToken("org-a", authztest.Scopes("read:members", "invite:member"))
	require.NoError(t, err)
	apiToken, err := iss.APIToken("https://api.example.com", authztest.Scopes("read:members", "invite:member"))
	require.NoError(t, err)

	tests := []struct {
		name         string
		method, path string
		token        string
		want         int
		challenge    string // in WWW-Authenticate
	}{
		{name: "member of org A in org A", method: "GET", path: "/orgs/org-a/members", token: member, want: http.StatusOK},
		{name: "member of org A in org B", method: "GET", path: "/orgs/org-b/members", token: member, want: http.StatusForbidden},
		{name: "admin of org A in org B", method: "POST", path: "/orgs/org-b/invitations", token: admin, want: http.StatusForbidden},
		{name: "member cannot invite", method: "POST", path: "/orgs/org-a/invitations", token: member, want: http.StatusForbidden, challenge: `scope="invite:member"`},
		{name: "admin invites", method: "POST", path: "/orgs/org-a/invitations", token: admin, want: http.StatusCreated},
		{name: "API token", method: "GET", path: "/orgs/org-a/members", token: apiToken, want: http.StatusUnauthorized, challenge: `error="invalid_token"`},
		{name: "no token", method: "GET", path: "/orgs/org-a/members", want: http.StatusUnauthorized, challenge: `Bearer realm="api"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tc.method, api+tc.path, strings.NewReader(`{"email": "carol@example.com"}`))
			require.NoError(t, err)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()

			assert.Equal(t, tc.want, resp.StatusCode)
			challenge := resp.Header.Get("WWW-Authenticate")
			assert.Contains(t, challenge, tc.challenge)
			if tc.want == http.StatusForbidden {
				assert.Contains(t, challenge, `error="insufficient_scope"`)
			}
		})
	}
}

func TestInvitationNamesTheInviter(t *testing.T) {
	iss := newTenant(t)
	api := newAPI(t, iss)
	admin, err := iss.OrganizationToken("org-a", authztest.Subject("alice"), authztest.Scopes("invite:member"))
	require.NoError(t, err)

	req, err := http.NewRequestWithContext(t.Context(), "POST", api+"/orgs/org-a/invitations", strings.NewReader(`{"email": "carol@example.com"}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)

	require.Equal(t, http.StatusCreated, resp.StatusCode)
	assert.JSONEq(t, `{"organization": "org-a", "email": "carol@example.com", "invited_by": "alice"}`, string(body))
}

func TestRunUsage(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{name: "no LOGTO_ISSUER", env: map[string]string{}, want: "go run ./examples/quickstart"},
		{name: "issuer over http", env: map[string]string{"LOGTO_ISSUER": "http://tenant.logto.app/oidc"}, want: "https"},
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
	iss := newTenant(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stderr logBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, getenv(map[string]string{"LOGTO_ISSUER": iss.URL(), "ADDR": "127.0.0.1:0"}), &stderr)
	}()
	addr := listeningAddr(t, &stderr)

	resp, err := http.Get("http://" + addr + "/orgs/org-a/members")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	cancel()
	select {
	case code := <-done:
		assert.Equal(t, 0, code, stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after the context was cancelled")
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
