// Package exampletest holds what the examples' tests share: a tenant shaped
// like Logto's on a fixed clock, middleware trusting it, requests with a
// bearer token, and running an example's run function as its main does,
// until it is cancelled.
package exampletest

import (
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

// Clock is the fixed time of the tests, shared by the issuer of NewTenant
// and the validator of NewMiddleware.
func Clock() time.Time { return time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC) }

// NewTenant starts an in-process issuer shaped like a Logto tenant, on
// Clock, and closes it when the test ends. opts are applied after
// authztest.WithClock(Clock): authztest.WithClock(time.Now) puts the issuer
// on the real clock.
func NewTenant(t *testing.T, opts ...authztest.Option) *authztest.Issuer {
	t.Helper()
	iss, err := authztest.NewIssuer(append([]authztest.Option{authztest.WithClock(Clock)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(iss.Close)
	return iss
}

// NewMiddleware returns middleware trusting iss for tokens whose audience
// is audience, validated on Clock, and logging nothing.
func NewMiddleware(t *testing.T, iss *authztest.Issuer, audience string) *middleware.Middleware {
	t.Helper()
	v, err := authz.New(iss.URL(), []string{audience}, authz.WithClock(Clock))
	require.NoError(t, err)
	t.Cleanup(v.Close)
	mw, err := middleware.New(v, middleware.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	return mw
}

// NewAPI serves the handler newHandler returns for middleware trusting iss
// for audience (see NewMiddleware) until the test ends, and returns its URL.
func NewAPI(t *testing.T, iss *authztest.Issuer, audience string, newHandler func(*middleware.Middleware) http.Handler) string {
	t.Helper()
	return NewServer(t, newHandler(NewMiddleware(t, iss, audience)))
}

// NewServer serves h on loopback until the test ends and returns its URL.
func NewServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// Mint returns a function that fails t on a minting error and returns the
// token: Mint(t)(iss.APIToken(resource)).
func Mint(t *testing.T) func(tok string, err error) string {
	return func(tok string, err error) string {
		t.Helper()
		require.NoError(t, err)
		return tok
	}
}

// Response is what a test looks at in an answer.
type Response struct {
	Status    int
	Challenge string // WWW-Authenticate
	Body      string
}

// Send makes one request to url with token (none if "") and body (sent as
// JSON unless "").
func Send(t *testing.T, method, url, token, body string) Response {
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
	return Response{Status: resp.StatusCode, Challenge: resp.Header.Get("WWW-Authenticate"), Body: string(b)}
}

// CheckAnswer checks that got has status want and a WWW-Authenticate
// challenge containing challenge, and that a 403 says
// error="insufficient_scope", as RFC 6750 asks.
func CheckAnswer(t *testing.T, got Response, want int, challenge string) {
	t.Helper()
	assert.Equal(t, want, got.Status)
	assert.Contains(t, got.Challenge, challenge)
	if want == http.StatusForbidden {
		assert.Contains(t, got.Challenge, `error="insufficient_scope"`)
	}
}

// Run is an example's run: main with its environment and its standard
// error explicit, returning the exit code.
type Run func(ctx context.Context, getenv func(string) string, stderr io.Writer) int

// getenv returns a getenv for run that reads env.
func getenv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// UsageCase is a configuration run refuses: with Env, run exits with 2
// and its standard error contains Want.
type UsageCase struct {
	Name string
	Env  map[string]string
	Want string
}

// APIUsage returns the configurations that the run of every example set up
// with LOGTO_ISSUER and API_RESOURCE refuses.
func APIUsage() []UsageCase {
	const resource = "https://api.example.com"
	return []UsageCase{
		{Name: "no LOGTO_ISSUER", Env: map[string]string{"API_RESOURCE": resource}, Want: "go run ./examples/quickstart"},
		{Name: "no API_RESOURCE", Env: map[string]string{"LOGTO_ISSUER": "https://tenant.logto.app/oidc"}, Want: "API_RESOURCE"},
		{Name: "issuer over http", Env: map[string]string{"LOGTO_ISSUER": "http://tenant.logto.app/oidc", "API_RESOURCE": resource}, Want: "https"},
	}
}

// RunUsage runs a subtest for each case, which checks that run refuses
// the case's configuration.
func RunUsage(t *testing.T, run Run, cases []UsageCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			var stderr strings.Builder
			code := run(t.Context(), getenv(tc.Env), &stderr)
			assert.Equal(t, 2, code)
			assert.Contains(t, stderr.String(), tc.Want)
		})
	}
}

// Running is a run started by Start.
type Running struct {
	Addr string     // the address run listens on
	Log  *LogBuffer // what run wrote to its standard error

	t      *testing.T
	cancel context.CancelFunc
	done   chan int
}

// Start runs run with env on a goroutine, as main does, and waits for it
// to log that it is listening. Its context ends with the test, if Stop has
// not ended it before.
func Start(t *testing.T, run Run, env map[string]string) *Running {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	r := &Running{Log: &LogBuffer{}, t: t, cancel: cancel, done: make(chan int, 1)}
	go func() { r.done <- run(ctx, getenv(env), r.Log) }()
	r.Addr = listeningAddr(t, r.Log)
	return r
}

// Stop cancels run's context, as a signal does, and checks that run
// returns 0 within wait.
func (r *Running) Stop(wait time.Duration) {
	r.t.Helper()
	r.cancel()
	select {
	case code := <-r.done:
		assert.Equal(r.t, 0, code, r.Log.String())
	case <-time.After(wait):
		r.t.Fatal("run did not return after the context was cancelled")
	}
}

// listeningAddr waits for run's "listening" log line and returns its address.
func listeningAddr(t *testing.T, log *LogBuffer) string {
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

// LogBuffer collects a program's output, written from its goroutines, for
// a test to read while the program runs.
type LogBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
