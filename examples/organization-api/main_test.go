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

// newAPI serves newHandler, trusting iss, and returns its URL.
func newAPI(t *testing.T, iss *authztest.Issuer) string {
	t.Helper()
	v, err := authz.New(iss.URL(), []string{resource}, authz.WithClock(clock))
	require.NoError(t, err)
	t.Cleanup(v.Close)
	mw, err := middleware.New(v, middleware.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	p, err := loadPolicy()
	require.NoError(t, err)
	srv := httptest.NewServer(newHandler(mw, p))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestPolicy(t *testing.T) {
	iss := newTenant(t)
	api := newAPI(t, iss)
	mint := func(tok string, err error) string {
		t.Helper()
		require.NoError(t, err)
		return tok
	}
	// viewerA is a viewer of org-a; editorA an editor of org-a.
	viewerA := mint(iss.OrganizationAPIToken(resource, "org-a", authztest.Scopes("read:projects")))
	editorA := mint(iss.OrganizationAPIToken(resource, "org-a", authztest.Scopes("read:projects", "write:projects")))
	// noOrg was requested without organization_id: it carries the scopes of
	// the user's roles in all organizations, and names none.
	noOrg := mint(iss.APIToken(resource, authztest.Scopes("read:projects", "write:projects")))
	orgToken := mint(iss.OrganizationToken("org-a", authztest.Scopes("read:projects")))

	tests := []struct {
		name         string
		method, path string
		token        string
		org          string // X-Organization-Id
		want         int
		challenge    string // in WWW-Authenticate
	}{
		{name: "healthz is public", method: "GET", path: "/healthz", want: http.StatusOK},
		{name: "viewer of A, header A", method: "GET", path: "/projects", token: viewerA, org: "org-a", want: http.StatusOK},
		{name: "viewer of A, header B", method: "GET", path: "/projects", token: viewerA, org: "org-b", want: http.StatusForbidden},
		{name: "viewer of A, no header", method: "GET", path: "/projects", token: viewerA, want: http.StatusForbidden},
		{name: "token without organization, every scope", method: "GET", path: "/projects", token: noOrg, org: "org-a", want: http.StatusForbidden},
		{name: "no token", method: "GET", path: "/projects", org: "org-a", want: http.StatusUnauthorized, challenge: `Bearer realm="api"`},
		{name: "organization token", method: "GET", path: "/projects", token: orgToken, org: "org-a", want: http.StatusUnauthorized, challenge: `error="invalid_token"`},
		{name: "editor of A creates in A", method: "POST", path: "/orgs/org-a/projects", token: editorA, want: http.StatusCreated},
		{name: "editor of A creates in B", method: "POST", path: "/orgs/org-b/projects", token: editorA, want: http.StatusForbidden},
		{name: "viewer of A creates in A", method: "POST", path: "/orgs/org-a/projects", token: viewerA, want: http.StatusForbidden, challenge: `scope="write:projects"`},
		{name: "token without organization creates in A", method: "POST", path: "/orgs/org-a/projects", token: noOrg, want: http.StatusForbidden},
		{name: "unlisted route", method: "GET", path: "/admin", token: editorA, want: http.StatusForbidden},
		{name: "unlisted method", method: "DELETE", path: "/projects", token: editorA, org: "org-a", want: http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tc.method, api+tc.path, nil)
			require.NoError(t, err)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			if tc.org != "" {
				req.Header.Set("X-Organization-Id", tc.org)
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

func TestHandlersSeeTheCheckedOrganization(t *testing.T) {
	iss := newTenant(t)
	api := newAPI(t, iss)
	tok, err := iss.OrganizationAPIToken(resource, "org-a", authztest.Scopes("read:projects"))
	require.NoError(t, err)

	req, err := http.NewRequestWithContext(t.Context(), "GET", api+"/projects", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("X-Organization-Id", "org-a")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)

	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `{"organization": "org-a", "projects": ["website", "mobile app"]}`, string(body))
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
	iss := newTenant(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stderr logBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, getenv(map[string]string{"LOGTO_ISSUER": iss.URL(), "API_RESOURCE": resource, "ADDR": "127.0.0.1:0"}), &stderr)
	}()
	addr := listeningAddr(t, &stderr)

	resp, err := http.Get("http://" + addr + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, stderr.String(), `GET /projects: organization from header`, "the policy is logged at start-up")

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
