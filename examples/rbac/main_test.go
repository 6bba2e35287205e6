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
	srv := httptest.NewServer(newHandler(mw))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestDocuments(t *testing.T) {
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
	reader := token("read:documents")
	editor := token("read:documents", "write:documents", "delete:documents", "read:drafts")
	admin := token("admin:documents")

	tests := []struct {
		name         string
		method, path string
		token        string
		want         int
		challenge    string // in WWW-Authenticate
	}{
		{name: "reader lists", method: "GET", path: "/documents", token: reader, want: http.StatusOK},
		{name: "no token", method: "GET", path: "/documents", want: http.StatusUnauthorized, challenge: `Bearer realm="api"`},
		{name: "no permission", method: "GET", path: "/documents", token: token(), want: http.StatusForbidden, challenge: `error="insufficient_scope"`},
		{name: "reader cannot write", method: "POST", path: "/documents", token: reader, want: http.StatusForbidden, challenge: `scope="write:documents"`},
		{name: "editor writes", method: "POST", path: "/documents", token: editor, want: http.StatusCreated},
		{name: "editor deletes", method: "DELETE", path: "/documents/doc-1", token: editor, want: http.StatusNoContent},
		{name: "admin deletes, with the second permission of any-of", method: "DELETE", path: "/documents/doc-1", token: admin, want: http.StatusNoContent},
		{name: "reader cannot delete", method: "DELETE", path: "/documents/doc-1", token: reader, want: http.StatusForbidden, challenge: `scope="delete:documents admin:documents"`},
		{name: "drafts without read:drafts", method: "GET", path: "/documents?include=drafts", token: reader, want: http.StatusForbidden, challenge: `scope="read:drafts"`},
		{name: "drafts with read:drafts", method: "GET", path: "/documents?include=drafts", token: editor, want: http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tc.method, api+tc.path, nil)
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

func TestDraftsAreListedOnlyWhenAsked(t *testing.T) {
	iss := newTenant(t)
	api := newAPI(t, iss)
	tok, err := iss.APIToken(resource, authztest.Scopes("read:documents", "read:drafts"))
	require.NoError(t, err)

	for path, want := range map[string]bool{"/documents": false, "/documents?include=drafts": true} {
		req, err := http.NewRequestWithContext(t.Context(), "GET", api+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, want, strings.Contains(string(body), "draft:"), path)
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
	iss := newTenant(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stderr logBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, getenv(map[string]string{"LOGTO_ISSUER": iss.URL(), "API_RESOURCE": resource, "ADDR": "127.0.0.1:0"}), &stderr)
	}()
	addr := listeningAddr(t, &stderr)

	resp, err := http.Get("http://" + addr + "/documents")
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
