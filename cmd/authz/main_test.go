package main

// These tests build the CLI once and run it as a subprocess, checking its
// output and exit codes, as a user in a terminal would see them. Tokens come
// from an in-process authztest issuer, or from the CLI's own dev issuer;
// everything listens on loopback only.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
)

const api = "https://api.example.com"

// commandTimeout bounds every subprocess.
const commandTimeout = 60 * time.Second

var (
	binDir     string   // set by TestMain, removed after the tests
	buildFlags []string // race_test.go adds -race
	buildOnce  sync.Once
	binPath    string
	buildErr   error
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "authz-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binDir = dir
	return m.Run()
}

// cli returns the path of the CLI, building it on first use: once for the
// whole test binary, and never in runs that need no subprocess (unit tests
// alone, fuzzing workers).
func cli(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		name := "authz"
		if runtime.GOOS == "windows" {
			name += ".exe"
		}
		binPath = filepath.Join(binDir, name)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		args := append(append([]string{"build"}, buildFlags...), "-o", binPath, ".")
		out, err := exec.CommandContext(ctx, "go", args...).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return binPath
}

// result is what one run of the CLI printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

// runCLI runs the CLI with args and stdin, and waits for it to exit.
func runCLI(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, cli(t), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	require.NoError(t, ctx.Err(), "authz %s timed out", strings.Join(args, " "))
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	default:
		require.NoError(t, err)
	}
	assert.NotContains(t, r.stderr, "panic:")
	assert.NotContains(t, r.stderr, "DATA RACE")
	return r
}

func newIssuer(t *testing.T, opts ...authztest.Option) *authztest.Issuer {
	t.Helper()
	iss, err := authztest.NewIssuer(opts...)
	require.NoError(t, err)
	t.Cleanup(iss.Close)
	return iss
}

// minter returns mint, which unwraps what an authztest minting method
// returns: mint(iss.APIToken(api)).
func minter(t *testing.T) func(token string, err error) string {
	return func(token string, err error) string {
		t.Helper()
		require.NoError(t, err)
		return token
	}
}

func TestHelp(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  []string // in stdout
		wantErr  []string // in stderr
	}{
		{name: "-h", args: []string{"-h"}, wantOut: []string{"Usage:", "authz inspect TOKEN|-", "authz verify --issuer URL", "authz dev-issuer", "Exit status"}},
		{name: "help", args: []string{"help"}, wantOut: []string{"Commands:"}},
		{name: "help inspect", args: []string{"help", "inspect"}, wantOut: []string{"Usage: authz inspect TOKEN|-", "organization-level API token", "VERIFIED"}},
		{name: "inspect -h", args: []string{"inspect", "-h"}, wantOut: []string{"Usage: authz inspect"}},
		{name: "verify -h", args: []string{"verify", "-h"}, wantOut: []string{"Usage: authz verify", "--issuer URL", "--audience AUD", "--organization ID", "--scope S", "--jwks URL", "--timeout DURATION", "Exit status: 0 valid, 1 rejected"}},
		{name: "verify --help", args: []string{"verify", "--help"}, wantOut: []string{"Usage: authz verify"}},
		{name: "dev-issuer -h shows the default clients", args: []string{"dev-issuer", "-h"}, wantOut: []string{"Usage: authz dev-issuer", "--addr HOST:PORT", "--insecure-public", "invalid_target", `"id": "m2m-app"`, "curl -s -u m2m-app:m2m-secret"}},
		{name: "no command", args: nil, wantCode: 2, wantErr: []string{"Usage:"}},
		{name: "unknown command", args: []string{"decode"}, wantCode: 2, wantErr: []string{`unknown command "decode"`}},
		{name: "help for an unknown command", args: []string{"help", "decode"}, wantCode: 2, wantErr: []string{`unknown command "decode"`}},
		{name: "unknown flag", args: []string{"verify", "--bogus"}, wantCode: 2, wantErr: []string{"flag provided but not defined: -bogus", "Run 'authz verify -h' for help."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, "", tt.args...)
			assert.Equal(t, tt.wantCode, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			for _, s := range tt.wantOut {
				assert.Contains(t, r.stdout, s)
			}
			for _, s := range tt.wantErr {
				assert.Contains(t, r.stderr, s)
			}
		})
	}
}

func TestPrintDefaultClients(t *testing.T) {
	r := runCLI(t, "", "dev-issuer", "--print-default-clients")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, defaultClients, r.stdout)
	_, err := parseClients([]byte(r.stdout))
	assert.NoError(t, err, "the printed file loads")
}

func TestInspectKinds(t *testing.T) {
	mint := minter(t)
	iss := newIssuer(t)
	tests := []struct {
		name  string
		token string
		want  []string
	}{
		{
			name:  "API resource token",
			token: mint(iss.APIToken(api, authztest.Subject("user-1"), authztest.Scopes("read:documents", "write:documents"))),
			want: []string{
				"kind          API resource token", "subject       user-1 (a user)", "audience      " + api,
				"organization  (none)", "scopes        read:documents write:documents",
			},
		},
		{
			name:  "organization token",
			token: mint(iss.OrganizationToken("org-a", authztest.Scopes("read:members"))),
			want:  []string{"kind          organization token", "audience      urn:logto:organization:org-a", "organization  org-a", "scopes        read:members"},
		},
		{
			name:  "organization-level API token",
			token: mint(iss.OrganizationAPIToken(api, "org-a", authztest.Scopes("read:reports"))),
			want:  []string{"kind          organization-level API token", `"organization_id": "org-a"`, "organization  org-a"},
		},
		{
			name:  "machine-to-machine token without scope",
			token: mint(iss.MachineToken(api, "sync-job")),
			want: []string{
				"kind          machine-to-machine API resource token", "subject       sync-job (an application: machine-to-machine)",
				`scopes        (none: no "scope" claim)`,
			},
		},
		{
			name:  "impersonation",
			token: mint(iss.APIToken(api, authztest.Actor("admin-1"))),
			want:  []string{"actor         admin-1 (acting for the subject)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, "", "inspect", tt.token)
			require.Equal(t, 0, r.code, r.stderr)
			assert.True(t, strings.HasPrefix(r.stdout, "NOT VERIFIED:"), "the label comes first:\n%s", r.stdout)
			assert.True(t, strings.HasSuffix(r.stdout, banner+"\n"), "and last")
			assert.Contains(t, r.stdout, "issuer        "+iss.URL())
			assert.Regexp(t, `issued (just now|[0-9]+s ago)\n`, r.stdout)
			assert.Regexp(t, `expires       \S+  expires in (59m|1h)\n`, r.stdout)
			assert.Contains(t, r.stdout, "header:\n{\n  \"alg\": \"ES384\",")
			assert.Contains(t, r.stdout, "\"typ\": \"at+jwt\"")
			assert.NotContains(t, r.stdout, "warnings:")
			for _, s := range tt.want {
				assert.Contains(t, r.stdout, s)
			}
		})
	}
}

func TestInspectTimesAndWarnings(t *testing.T) {
	mint := minter(t)
	iss := newIssuer(t)
	now := time.Now()
	tests := []struct {
		name  string
		token string
		want  []string
	}{
		{
			name:  "expired",
			token: mint(iss.APIToken(api, authztest.Expired())),
			want:  []string{"issued 2h ago", "expired 1h ago"},
		},
		{
			name:  "minutes",
			token: mint(iss.APIToken(api, authztest.IssuedAt(now.Add(-5*time.Minute-20*time.Second)), authztest.ExpiresAt(now.Add(42*time.Minute+30*time.Second)))),
			want:  []string{"issued 5m ago", "expires in 42m", "lifetime      47m"},
		},
		{
			name:  "not yet valid",
			token: mint(iss.APIToken(api, authztest.NotBefore(now.Add(10*time.Minute+30*time.Second)))),
			want:  []string{"NOT YET VALID: valid in 10m"},
		},
		{
			name:  "ID token",
			token: mint(iss.APIToken(api, authztest.TokenType("JWT"))),
			want:  []string{"warnings:", `"typ" is "JWT", not "at+jwt"`, "is it an ID token?"},
		},
		{
			name:  "no exp",
			token: mint(iss.APIToken(api, authztest.WithoutClaim("exp"))),
			want:  []string{`no "exp": authz rejects a token without an expiry`},
		},
		{
			name:  "scope as an array",
			token: mint(iss.APIToken(api, authztest.Claim("scope", []string{"a", "b"}))),
			want:  []string{"scopes        a b"},
		},
		{
			name:  "terminal escapes are not printed raw",
			token: mint(iss.APIToken(api, authztest.Subject("\x1b]0;owned\x07"), authztest.Claim("note", "\u009b31m"))),
			want:  []string{`subject       "\x1b]0;owned\a"`, `"note": "\u009b31m"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, "", "inspect", tt.token)
			require.Equal(t, 0, r.code, r.stderr)
			for _, s := range tt.want {
				assert.Contains(t, r.stdout, s)
			}
			assert.NotContains(t, r.stdout, "\x1b")
		})
	}
}

func TestInspectInput(t *testing.T) {
	mint := minter(t)
	iss := newIssuer(t)
	token := mint(iss.APIToken(api))
	tests := []struct {
		name     string
		args     []string
		stdin    string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{name: "stdin", args: []string{"-"}, stdin: token + "\n", wantOut: "kind          API resource token"},
		{name: "Authorization header value", args: []string{"Bearer " + token}, wantOut: "kind          API resource token"},
		{name: "opaque token", args: []string{"RgHXvG3vPq0tuoRXm5lE6FwBJzHyIS"}, wantCode: 1, wantOut: "NOT A JWT: it has no \".\" separators, so it is most likely a Logto opaque access token"},
		{name: "opaque token explains the fix", args: []string{"RgHXvG3vPq0tuoRXm5lE6FwBJzHyIS"}, wantCode: 1, wantOut: "request the token with resource=<your API's resource indicator>"},
		{name: "garbage on stdin", args: []string{"-"}, stdin: "\x00\xff\xfe.garbage..", wantCode: 1, wantOut: "NOT A JWT: it has 4 segments"},
		{name: "segments of garbage", args: []string{"!!!.???.***"}, wantCode: 1, wantOut: "NOT A JWT: its header is not base64url"},
		{name: "JWE", args: []string{"a.b.c.d.e"}, wantCode: 1, wantOut: "encrypted JWT (JWE)"},
		{name: "empty stdin", args: []string{"-"}, wantCode: 2, wantErr: "no token on standard input"},
		{name: "no token", args: nil, wantCode: 2, wantErr: "want one TOKEN"},
		{name: "two tokens", args: []string{token, token}, wantCode: 2, wantErr: "got 2 arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, tt.stdin, append([]string{"inspect"}, tt.args...)...)
			assert.Equal(t, tt.wantCode, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			assert.Contains(t, r.stdout, tt.wantOut)
			assert.Contains(t, r.stderr, tt.wantErr)
		})
	}
}

func TestVerify(t *testing.T) {
	mint := minter(t)
	iss := newIssuer(t)
	other := newIssuer(t) // for a token from an untrusted issuer
	base := []string{"verify", "--issuer", iss.URL(), "--audience", api}
	orgBase := []string{"verify", "--issuer", iss.URL(), "--audience", authz.AnyOrganization}
	userToken := mint(iss.APIToken(api, authztest.Subject("user-1"), authztest.Scopes("read:documents")))
	tests := []struct {
		name     string
		args     []string
		stdin    string
		wantCode int
		wantOut  []string
		wantErr  string
	}{
		{
			name: "valid API token", args: append(base, "--scope", "read:documents", userToken),
			wantOut: []string{"VALID\n", "subject       user-1 (a user)", "kind          API resource token", "scopes        read:documents", "organization  (none)", "expires in", "checked       signature"},
		},
		{
			name: "valid from stdin, flags after the token", args: []string{"verify", "-", "--issuer", iss.URL(), "--audience", api}, stdin: userToken,
			wantOut: []string{"VALID\n"},
		},
		{
			name: "valid with the JWKS URL given", args: append(base, "--jwks", iss.JWKSURL(), userToken),
			wantOut: []string{"VALID\n"},
		},
		{
			name: "valid machine-to-machine token", args: append(base, "--scope", "read:documents write:documents", mint(iss.MachineToken(api, "sync-job", authztest.Scopes("read:documents", "write:documents")))),
			wantOut: []string{"VALID\n", "kind          machine-to-machine API resource token", "subject       sync-job (an application: machine-to-machine)"},
		},
		{
			name: "valid organization token", args: append(orgBase, "--organization", "org-a", "--scope", "read:members", mint(iss.OrganizationToken("org-a", authztest.Scopes("read:members")))),
			wantOut: []string{"VALID\n", "kind          organization token", "organization  org-a"},
		},
		{
			name: "valid organization-level API token", args: append(base, "--organization", "org-a", "--scope", "read:reports", mint(iss.OrganizationAPIToken(api, "org-a", authztest.Scopes("read:reports")))),
			wantOut: []string{"VALID\n", "kind          organization-level API token", "organization  org-a"},
		},
		{
			name: "expired", args: append(base, mint(iss.APIToken(api, authztest.Expired()))), wantCode: 1,
			wantOut: []string{"REJECTED: token expired: expired 1h", "error       authz.ErrExpired"},
		},
		{
			name: "wrong audience", args: append(base, mint(iss.APIToken("https://billing.example.com"))), wantCode: 1,
			wantOut: []string{"REJECTED: wrong audience: token is not for this API", "authz.ErrAudience", "token audience  https://billing.example.com  (unverified)"},
		},
		{
			name: "organization token sent to an API", args: append(base, mint(iss.OrganizationToken("org-a"))), wantCode: 1,
			wantOut: []string{"REJECTED: wrong audience: token is an organization token", "authz.ErrAudience"},
		},
		{
			name: "missing scope", args: append(base, "--scope", "read:documents", "--scope", "write:documents", userToken), wantCode: 1,
			wantOut: []string{"REJECTED: insufficient scope: missing permission write:documents", "authz.ErrInsufficientScope", "missing       write:documents", "token scopes  read:documents"},
		},
		{
			name: "wrong organization", args: append(base, "--organization", "org-b", mint(iss.OrganizationAPIToken(api, "org-a"))), wantCode: 1,
			wantOut: []string{"REJECTED: wrong organization: token is for another organization", "authz.ErrOrganization", "token organization  org-a"},
		},
		{
			name: "no organization, whatever its scopes", args: append(base, "--organization", "org-a", "--scope", "read:documents", userToken), wantCode: 1,
			wantOut: []string{"REJECTED: wrong organization: token is not for any organization", "authz.ErrOrganization"},
		},
		{
			name: "ID token", args: append(base, mint(iss.APIToken(api, authztest.TokenType("JWT")))), wantCode: 1,
			wantOut: []string{"REJECTED: not an access token", "authz.ErrTokenType"},
		},
		{
			name: "unknown key", args: append(base, mint(iss.APIToken(api, authztest.SignedByUnknownKey()))), wantCode: 1,
			wantOut: []string{"REJECTED: unknown signing key", "authz.ErrUnknownKey"},
		},
		{
			name: "untrusted issuer", args: append(base, mint(other.APIToken(api))), wantCode: 1,
			wantOut: []string{"REJECTED: untrusted issuer", "authz.ErrIssuer", "token issuer  " + other.URL() + "  (unverified)"},
		},
		{
			name: "opaque token", args: append(base, "RgHXvG3vPq0tuoRXm5lE6FwBJzHyIS"), wantCode: 1,
			wantOut: []string{"REJECTED: malformed token: token is not a JWT: most likely a Logto opaque access token; request the token with resource=" + api},
		},
		{name: "no issuer", args: []string{"verify", "--audience", api, userToken}, wantCode: 2, wantErr: "--issuer is required"},
		{name: "no audience", args: []string{"verify", "--issuer", iss.URL(), userToken}, wantCode: 2, wantErr: "--audience is required"},
		{name: "no token", args: base, wantCode: 2, wantErr: "want one TOKEN"},
		{name: "two tokens", args: append(base, userToken, userToken), wantCode: 2, wantErr: "got 2 arguments"},
		{name: "empty stdin", args: append(base, "-"), wantCode: 2, wantErr: "no token on standard input"},
		{name: "issuer over http", args: []string{"verify", "--issuer", "http://auth.example.com/oidc", "--audience", api, userToken}, wantCode: 2, wantErr: "must use https"},
		{name: "bad timeout", args: append(base, "--timeout", "0s", userToken), wantCode: 2, wantErr: "--timeout must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, tt.stdin, tt.args...)
			assert.Equal(t, tt.wantCode, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			for _, s := range tt.wantOut {
				assert.Contains(t, r.stdout, s)
			}
			assert.Contains(t, r.stderr, tt.wantErr)
			if tt.wantCode == 2 {
				assert.Contains(t, r.stderr, "Run 'authz verify -h' for help.")
			}
		})
	}
}

func TestVerifyKeysUnavailable(t *testing.T) {
	mint := minter(t)
	iss, err := authztest.NewIssuer()
	require.NoError(t, err)
	token := mint(iss.APIToken(api))
	iss.Close() // the issuer is down: its keys can never load

	start := time.Now()
	r := runCLI(t, "", "verify", "--issuer", iss.URL(), "--audience", api, "--timeout", "1s", token)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stdout, "REJECTED: signing keys unavailable")
	assert.Contains(t, r.stdout, "authz.ErrKeysUnavailable")
	assert.Contains(t, r.stdout, "waited  1s")
	assert.Contains(t, r.stdout, "connection refused", "the cause is the real one")
	assert.NotContains(t, r.stdout, "cooldown")
	assert.Contains(t, r.stdout, "(--jwks to name the JWK Set URL)")
	assert.Less(t, time.Since(start), 20*time.Second, "the wait is bounded")

	r = runCLI(t, "", "verify", "--issuer", iss.URL(), "--jwks", iss.JWKSURL(), "--audience", api, "--timeout", "1s", token)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stdout, "connection refused")
	assert.NotContains(t, r.stdout, "--jwks", "no hint to give what was given")
}

func TestVerifyWaitsForKeys(t *testing.T) {
	mint := minter(t)
	// The issuer answers 503 for the first second, as during an outage
	// at start-up; verify keeps trying until the keys load.
	iss := newIssuer(t)
	iss.SetUnavailable(true)
	time.AfterFunc(time.Second, func() { iss.SetUnavailable(false) })
	r := runCLI(t, "", "verify", "--issuer", iss.URL(), "--audience", api, mint(iss.APIToken(api)))
	assert.Equal(t, 0, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, "VALID")
}

// devIssuer is a running "authz dev-issuer" subprocess.
type devIssuer struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	url            string // the issuer URL it prints
	local          string // http://HOST:PORT/oidc, where it listens
	exited         chan struct{}
	waitErr        error
}

// startDevIssuer starts the dev issuer on a free loopback port and waits
// until it serves.
func startDevIssuer(t *testing.T, args ...string) *devIssuer {
	t.Helper()
	d := &devIssuer{stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan struct{})}
	d.cmd = exec.Command(cli(t), append([]string{"dev-issuer", "--addr", "127.0.0.1:0"}, args...)...)
	d.cmd.Stdout, d.cmd.Stderr = d.stdout, d.stderr
	require.NoError(t, d.cmd.Start())
	go func() {
		d.waitErr = d.cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(func() {
		_ = d.cmd.Process.Kill()
		<-d.exited
	})

	deadline := time.After(commandTimeout)
	for !strings.Contains(d.stdout.String(), "Serving until interrupted") {
		select {
		case <-d.exited:
			t.Fatalf("dev-issuer exited early: %v\nstdout:\n%s\nstderr:\n%s", d.waitErr, d.stdout, d.stderr)
		case <-deadline:
			t.Fatalf("dev-issuer did not start\nstdout:\n%s\nstderr:\n%s", d.stdout, d.stderr)
		case <-time.After(10 * time.Millisecond):
		}
	}
	first, _, _ := strings.Cut(d.stdout.String(), "\n")
	m := regexp.MustCompile(`^issuer (https?://\S+/oidc)$`).FindStringSubmatch(first)
	require.NotNil(t, m, "first line %q is not \"issuer <URL>\"", first)
	d.url, d.local = m[1], m[1]
	if l := regexp.MustCompile(`(?m)^  listening  (http://127\.0\.0\.1:[0-9]+) `).FindStringSubmatch(d.stdout.String()); l != nil {
		d.local = l[1] + "/oidc"
	}
	require.Regexp(t, `^http://127\.0\.0\.1:[0-9]+/oidc$`, d.local)
	return d
}

// stop sends sig and returns the exit code.
func (d *devIssuer) stop(t *testing.T, sig os.Signal) int {
	t.Helper()
	require.NoError(t, d.cmd.Process.Signal(sig))
	select {
	case <-d.exited:
	case <-time.After(15 * time.Second):
		t.Fatalf("dev-issuer did not stop on %v\nstderr:\n%s", sig, d.stderr)
	}
	var exit *exec.ExitError
	if errors.As(d.waitErr, &exit) {
		return exit.ExitCode()
	}
	require.NoError(t, d.waitErr)
	return 0
}

// syncBuffer is a bytes.Buffer that a subprocess writes while a test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// tokenReply is the dev issuer's answer to a token request.
type tokenReply struct {
	status int
	header http.Header
	body   map[string]any
}

func (r tokenReply) token() string { s, _ := r.body["access_token"].(string); return s }

// postToken sends a token request. basic is "id:secret" for HTTP Basic, or
// "" for none.
func postToken(t *testing.T, tokenURL, contentType, body, basic string) tokenReply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", contentType)
	if id, secret, ok := strings.Cut(basic, ":"); ok {
		req.SetBasicAuth(id, secret)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) tokenReply {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	r := tokenReply{status: resp.StatusCode, header: resp.Header}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

func TestDevIssuerTokenEndpoint(t *testing.T) {
	d := startDevIssuer(t)
	tokenURL := d.url + "/token"
	const form = "application/x-www-form-urlencoded"
	absent := "<absent>"
	tests := []struct {
		name        string
		contentType string // default form
		body        string
		basic       string
		wantStatus  int
		wantError   string
		// For a token: its claims.
		wantAud   string
		wantOrgID string // "organization_id", or absent
		wantScope string // "scope", or absent
		wantSub   string
	}{
		{
			name: "API resource token, HTTP Basic", basic: "m2m-app:m2m-secret",
			body:       "grant_type=client_credentials&resource=https%3A%2F%2Fapi.example.com&scope=read%3Adocuments+write%3Adocuments",
			wantStatus: 200, wantAud: api, wantOrgID: absent, wantScope: "read:documents write:documents", wantSub: "m2m-app",
		},
		{
			name:       "API resource token, client_secret_post",
			body:       "grant_type=client_credentials&client_id=read-only-app&client_secret=read-only-secret&resource=https%3A%2F%2Fapi.example.com&scope=read%3Adocuments",
			wantStatus: 200, wantAud: api, wantOrgID: absent, wantScope: "read:documents", wantSub: "read-only-app",
		},
		{
			name: "scopes the client is not granted are dropped", basic: "read-only-app:read-only-secret",
			body:       "grant_type=client_credentials&resource=https%3A%2F%2Fapi.example.com&scope=write%3Adocuments+read%3Adocuments+admin",
			wantStatus: 200, wantAud: api, wantOrgID: absent, wantScope: "read:documents", wantSub: "read-only-app",
		},
		{
			name: "no scope asked, none granted", basic: "m2m-app:m2m-secret",
			body:       "grant_type=client_credentials&resource=https%3A%2F%2Fapi.example.com",
			wantStatus: 200, wantAud: api, wantOrgID: absent, wantScope: absent, wantSub: "m2m-app",
		},
		{
			name: "organization token", basic: "m2m-app:m2m-secret",
			body:       "grant_type=client_credentials&organization_id=org-a&scope=read%3Amembers+read%3Adocuments",
			wantStatus: 200, wantAud: "urn:logto:organization:org-a", wantOrgID: absent, wantScope: "read:members", wantSub: "m2m-app",
		},
		{
			name: "organization-level API token", basic: "m2m-app:m2m-secret",
			body:       "grant_type=client_credentials&resource=https%3A%2F%2Fapi.example.com&organization_id=org-a&scope=read%3Areports+read%3Adocuments",
			wantStatus: 200, wantAud: api, wantOrgID: "org-a", wantScope: "read:reports", wantSub: "m2m-app",
		},
		{name: "wrong secret", basic: "m2m-app:nope", body: "grant_type=client_credentials&resource=https%3A%2F%2Fapi.example.com", wantStatus: 401, wantError: "invalid_client"},
		{name: "unknown client, in the body", body: "grant_type=client_credentials&client_id=nobody&client_secret=x&resource=https%3A%2F%2Fapi.example.com", wantStatus: 401, wantError: "invalid_client"},
		{name: "no client authentication", body: "grant_type=client_credentials&resource=https%3A%2F%2Fapi.example.com", wantStatus: 401, wantError: "invalid_client"},
		{name: "two client authentication methods", basic: "m2m-app:m2m-secret", body: "grant_type=client_credentials&client_secret=m2m-secret&resource=https%3A%2F%2Fapi.example.com", wantStatus: 400, wantError: "invalid_request"},
		{name: "no grant_type", basic: "m2m-app:m2m-secret", body: "resource=https%3A%2F%2Fapi.example.com", wantStatus: 400, wantError: "invalid_request"},
		{name: "JSON body", contentType: "application/json", basic: "m2m-app:m2m-secret", body: `{"grant_type":"client_credentials"}`, wantStatus: 400, wantError: "invalid_request"},
		{name: "parameter given twice", basic: "m2m-app:m2m-secret", body: "grant_type=client_credentials&scope=a&scope=b&resource=https%3A%2F%2Fapi.example.com", wantStatus: 400, wantError: "invalid_request"},
		{name: "invalid organization id", basic: "m2m-app:m2m-secret", body: "grant_type=client_credentials&organization_id=org+a", wantStatus: 400, wantError: "invalid_request"},
		{name: "unsupported grant type", basic: "m2m-app:m2m-secret", body: "grant_type=password&username=a&password=b", wantStatus: 400, wantError: "unsupported_grant_type"},
		{name: "malformed scope", basic: "m2m-app:m2m-secret", body: "grant_type=client_credentials&resource=https%3A%2F%2Fapi.example.com&scope=read%01", wantStatus: 400, wantError: "invalid_scope"},
		{name: "scope of any printable characters, not granted", basic: "m2m-app:m2m-secret", body: "grant_type=client_credentials&resource=https%3A%2F%2Fapi.example.com&scope=read%22", wantStatus: 200, wantAud: "https://api.example.com", wantSub: "m2m-app", wantOrgID: absent, wantScope: absent},
		{name: "unknown resource", basic: "m2m-app:m2m-secret", body: "grant_type=client_credentials&resource=https%3A%2F%2Fbilling.example.com", wantStatus: 400, wantError: "invalid_target"},
		{name: "two resources", basic: "m2m-app:m2m-secret", body: "grant_type=client_credentials&resource=https%3A%2F%2Fapi.example.com&resource=https%3A%2F%2Fb.example.com", wantStatus: 400, wantError: "invalid_target"},
		{name: "resource with a fragment", basic: "m2m-app:m2m-secret", body: "grant_type=client_credentials&resource=https%3A%2F%2Fapi.example.com%23x", wantStatus: 400, wantError: "invalid_target"},
		{name: "no resource and no organization", basic: "m2m-app:m2m-secret", body: "grant_type=client_credentials&scope=read%3Adocuments", wantStatus: 400, wantError: "invalid_target"},
		{name: "organization the client is not in", basic: "read-only-app:read-only-secret", body: "grant_type=client_credentials&organization_id=org-a", wantStatus: 403, wantError: "access_denied"},
	}
	t.Run("requests", func(t *testing.T) { // returns when its parallel subtests have
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ct := tt.contentType
				if ct == "" {
					ct = form
				}
				r := postToken(t, tokenURL, ct, tt.body, tt.basic)
				require.Equal(t, tt.wantStatus, r.status, "body %v", r.body)
				assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
				assert.Equal(t, "application/json", r.header.Get("Content-Type"))
				if tt.wantError != "" {
					assert.Equal(t, tt.wantError, r.body["error"])
					assert.NotEmpty(t, r.body["error_description"])
					assert.NotContains(t, r.body, "access_token")
					if tt.wantStatus == 401 && tt.basic != "" {
						assert.Equal(t, `Basic realm="authz dev-issuer", charset="UTF-8"`, r.header.Get("WWW-Authenticate"))
					}
					return
				}
				assert.Equal(t, "Bearer", r.body["token_type"])
				assert.Equal(t, 3600.0, r.body["expires_in"])
				tok, err := decodeJWT(r.token())
				require.NoError(t, err)
				assert.Equal(t, "at+jwt", tok.header["typ"])
				assert.Equal(t, "ES384", tok.header["alg"])
				assert.Equal(t, d.url, tok.claims["iss"])
				assert.Equal(t, tt.wantAud, tok.claims["aud"])
				assert.Equal(t, tt.wantSub, tok.claims["sub"])
				assert.Equal(t, tt.wantSub, tok.claims["client_id"], "machine-to-machine: sub == client_id")
				for claim, want := range map[string]string{"organization_id": tt.wantOrgID, "scope": tt.wantScope} {
					got, present := tok.claims[claim]
					if want == absent {
						assert.False(t, present, "claim %q = %v, want absent", claim, got)
					} else {
						assert.Equal(t, want, got, "claim %q", claim)
					}
				}
				if tt.wantScope == absent {
					assert.NotContains(t, r.body, "scope")
				} else {
					assert.Equal(t, tt.wantScope, r.body["scope"], "the response says what was granted")
				}
			})
		}

	})
	t.Run("GET is not allowed", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodGet, tokenURL, nil)
		require.NoError(t, err)
		assert.Equal(t, http.StatusMethodNotAllowed, do(t, req).status)
	})
	t.Run("discovery advertises the token endpoint", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodGet, d.url+"/.well-known/openid-configuration", nil)
		require.NoError(t, err)
		r := do(t, req)
		assert.Equal(t, tokenURL, r.body["token_endpoint"])
		assert.Equal(t, d.url, r.body["issuer"])
	})
	t.Run("concurrent requests", func(t *testing.T) {
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				req, err := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader("grant_type=client_credentials&organization_id=org-a"))
				if !assert.NoError(t, err) {
					return
				}
				req.Header.Set("Content-Type", form)
				req.SetBasicAuth("m2m-app", "m2m-secret")
				resp, err := http.DefaultClient.Do(req)
				if assert.NoError(t, err) {
					resp.Body.Close()
					assert.Equal(t, 200, resp.StatusCode)
				}
			})
		}
		wg.Wait()
	})

	assert.Equal(t, 0, d.stop(t, os.Interrupt), "SIGINT stops it with exit 0\nstderr:\n%s", d.stderr)
	log := d.stderr.String()
	assert.Contains(t, log, "dev-issuer: stopping")
	assert.Contains(t, log, "token request from m2m-app: 200 organization-level API token for https://api.example.com in organization org-a")
	assert.Contains(t, log, "token request from -: 401 invalid_client")
	assert.NotContains(t, log, "m2m-secret", "secrets are not logged")
}

// TestDevIssuerEndToEnd runs what the dev issuer prints, as a user pasting
// it would: each curl command, then a call to an API protected by authz,
// then "authz verify" on the token.
func TestDevIssuerEndToEnd(t *testing.T) {
	d := startDevIssuer(t)
	out := d.stdout.String()
	t.Logf("$ authz dev-issuer --addr 127.0.0.1:0\n%s", out)

	// The API that "curl -i -H 'Authorization: Bearer $TOKEN'" calls.
	v, err := authz.New(d.url, []string{api})
	require.NoError(t, err)
	t.Cleanup(v.Close)
	apiServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		c, err := v.Validate(r.Context(), raw)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "hello %s", c.Subject)
	}))
	t.Cleanup(apiServer.Close)

	var token string
	var ran struct{ curl, tokenLine, api, verify int }
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "curl -s -u "):
			r := curl(t, shellSplit(t, line))
			require.Equal(t, 200, r.status, "%s\n→ %v", line, r.body)
			require.NotEmpty(t, r.token())
			ran.curl++
		case strings.HasPrefix(line, "TOKEN=$("):
			inner := strings.TrimSuffix(strings.TrimPrefix(line, "TOKEN=$("), " | jq -r .access_token)")
			r := curl(t, shellSplit(t, inner))
			require.Equal(t, 200, r.status, "%s\n→ %v", line, r.body)
			token = r.token()
			ran.tokenLine++
		case strings.HasPrefix(line, "curl -i -H "):
			require.NotEmpty(t, token)
			args := shellSplit(t, strings.ReplaceAll(strings.ReplaceAll(line, "$TOKEN", token), "http://localhost:8080", apiServer.URL))
			// The API's validator loads the keys in the background.
			status := 0
			for deadline := time.Now().Add(10 * time.Second); status != 200 && time.Now().Before(deadline); {
				if status != 0 {
					time.Sleep(50 * time.Millisecond)
				}
				status = curl(t, args).status
			}
			assert.Equal(t, 200, status, "the API accepts the token")
			ran.api++
		case strings.HasPrefix(line, "authz verify "):
			require.NotEmpty(t, token)
			args := shellSplit(t, strings.ReplaceAll(line, `"$TOKEN"`, token))
			r := runCLI(t, "", args[1:]...)
			t.Logf("$ %s\n%s", line, r.stdout)
			assert.Equal(t, 0, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			assert.Contains(t, r.stdout, "VALID\n")
			assert.Contains(t, r.stdout, "kind          machine-to-machine API resource token")
			ran.verify++
		}
	}
	assert.Equal(t, 3, ran.curl, "one curl command per token kind")
	assert.Equal(t, 1, ran.tokenLine)
	assert.Equal(t, 1, ran.api)
	assert.Equal(t, 1, ran.verify)

	// Every token kind from the dev issuer passes "authz verify", and is
	// rejected for what it lacks.
	get := func(form url.Values) string {
		r := postToken(t, d.url+"/token", "application/x-www-form-urlencoded", form.Encode(), "m2m-app:m2m-secret")
		require.Equal(t, 200, r.status, "%v", r.body)
		return r.token()
	}
	cc := url.Values{"grant_type": {"client_credentials"}}
	with := func(kv ...string) url.Values {
		f := url.Values{}
		for k, v := range cc {
			f[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}
	orgToken := get(with("organization_id", "org-a", "scope", "read:members"))
	orgAPIToken := get(with("resource", api, "organization_id", "org-a", "scope", "read:reports"))
	readToken := get(with("resource", api, "scope", "read:documents"))
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{name: "organization token", args: []string{"--audience", "urn:logto:organization:org-a", "--organization", "org-a", "--scope", "read:members", orgToken}, want: "kind          machine-to-machine organization token"},
		{name: "organization-level API token", args: []string{"--audience", api, "--organization", "org-a", "--scope", "read:reports", orgAPIToken}, want: "kind          machine-to-machine organization-level API token"},
		{name: "missing permission", args: []string{"--audience", api, "--scope", "write:documents", readToken}, wantCode: 1, want: "REJECTED: insufficient scope: missing permission write:documents"},
		{name: "other organization", args: []string{"--audience", api, "--organization", "org-b", orgAPIToken}, wantCode: 1, want: "REJECTED: wrong organization"},
		{name: "organization token for an API", args: []string{"--audience", api, orgToken}, wantCode: 1, want: "REJECTED: wrong audience"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", append([]string{"verify", "--issuer", d.url}, tt.args...)...)
			assert.Equal(t, tt.wantCode, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			assert.Contains(t, r.stdout, tt.want)
		})
	}

	assert.Equal(t, 0, d.stop(t, syscall.SIGTERM), "SIGTERM stops it with exit 0")
}

// curl runs the subset of curl the dev issuer prints: -s, -i, -u, -d,
// --data-urlencode, -H and a URL.
func curl(t *testing.T, args []string) tokenReply {
	t.Helper()
	require.Equal(t, "curl", args[0])
	var body []string
	var target, user string
	header := http.Header{}
	for i := 1; i < len(args); i++ {
		arg := args[i]
		switch arg {
		case "-s", "-i":
			continue
		case "-u", "-d", "--data-urlencode", "-H":
			require.Less(t, i+1, len(args), "%s needs a value", arg)
			i++
		default:
			require.False(t, strings.HasPrefix(arg, "-"), "unexpected curl option %q", arg)
			target = arg
			continue
		}
		switch value := args[i]; arg {
		case "-u":
			user = value
		case "-d":
			body = append(body, value)
		case "--data-urlencode":
			name, content, _ := strings.Cut(value, "=")
			body = append(body, name+"="+url.QueryEscape(content))
		case "-H":
			k, v, _ := strings.Cut(value, ": ")
			header.Add(k, v)
		}
	}
	method := http.MethodGet
	if body != nil {
		method = http.MethodPost
		header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req, err := http.NewRequest(method, target, strings.NewReader(strings.Join(body, "&")))
	require.NoError(t, err)
	req.Header = header
	if id, secret, ok := strings.Cut(user, ":"); ok {
		req.SetBasicAuth(id, secret)
	}
	return do(t, req)
}

// shellSplit splits a command line the way a POSIX shell would, for the
// quoting the dev issuer prints: single quotes, and double quotes without
// expansions.
func shellSplit(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		switch c := line[i]; c {
		case ' ':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case '\'', '"':
			end := strings.IndexByte(line[i+1:], c)
			require.GreaterOrEqual(t, end, 0, "unclosed quote in %q", line)
			cur.WriteString(line[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case '\\':
			require.Less(t, i+1, len(line))
			i++
			cur.WriteByte(line[i])
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

func TestDevIssuerClientsFileAndAlgorithm(t *testing.T) {
	file := filepath.Join(t.TempDir(), "clients.json")
	require.NoError(t, os.WriteFile(file, []byte(`{"clients": [
		{"id": "billing-job", "secret": "s3cret", "resources": {"https://billing.example.com": ["charge"]}}
	]}`), 0o600))
	d := startDevIssuer(t, "--clients", file, "--alg", "RS256")
	out := d.stdout.String()
	assert.Contains(t, out, "Clients (clients from "+file+")")
	assert.Contains(t, out, "signing    RS256")
	assert.Contains(t, out, "billing-job  secret s3cret")
	assert.NotContains(t, out, "Get an organization token", "no client is in an organization")

	r := postToken(t, d.url+"/token", "application/x-www-form-urlencoded",
		"grant_type=client_credentials&resource=https%3A%2F%2Fbilling.example.com&scope=charge", "billing-job:s3cret")
	require.Equal(t, 200, r.status, "%v", r.body)
	res := runCLI(t, "", "verify", "--issuer", d.url, "--audience", "https://billing.example.com", "--scope", "charge", r.token())
	assert.Equal(t, 0, res.code, res.stdout)
	ins := runCLI(t, "", "inspect", r.token())
	assert.Contains(t, ins.stdout, `"alg": "RS256"`)

	r = postToken(t, d.url+"/token", "application/x-www-form-urlencoded",
		"grant_type=client_credentials&resource=https%3A%2F%2Fapi.example.com", "billing-job:s3cret")
	assert.Equal(t, "invalid_target", r.body["error"], "only the file's resources are registered")
	r = postToken(t, d.url+"/token", "application/x-www-form-urlencoded",
		"grant_type=client_credentials&resource=https%3A%2F%2Fbilling.example.com", "m2m-app:m2m-secret")
	assert.Equal(t, "invalid_client", r.body["error"], "the default clients are not served")
}

func TestDevIssuerUsageErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "every interface", args: []string{"--addr", "0.0.0.0:0"}, want: "listens on every interface"},
		{name: "every interface, even when public", args: []string{"--addr", ":0", "--insecure-public"}, want: "listens on every interface"},
		{name: "every IPv6 interface", args: []string{"--addr", "[::]:0", "--insecure-public"}, want: "listens on every interface"},
		{name: "non-loopback address", args: []string{"--addr", "192.0.2.1:7080"}, want: `--addr "192.0.2.1:7080" is not a loopback address`},
		{name: "host name", args: []string{"--addr", "issuer.internal:7080"}, want: "is not a loopback address"},
		{name: "not host:port", args: []string{"--addr", "7080"}, want: "is not HOST:PORT"},
		{name: "unknown algorithm", args: []string{"--alg", "HS256"}, want: `--alg "HS256": choose one of ES256, ES384, ES512, RS256`},
		{name: "missing clients file", args: []string{"--clients", filepath.Join(dir, "nope.json")}, want: "no such file"},
		{name: "clients file with a syntax error", args: []string{"--clients", write("bad.json", "{\n\"clients\": [\n}")}, want: "bad.json: line 3, column 1"},
		{name: "clients file with a bad secret", args: []string{"--clients", write("secret.json", `{"clients": [{"id": "a", "secret": "x y"}]}`)}, want: `client "a": "secret" must be`},
		{name: "argument", args: []string{"now"}, want: `unexpected argument "now"`},
		{name: "public URL with a path", args: []string{"--public-url", "https://auth.example.test/oidc"}, want: `--public-url: "https://auth.example.test/oidc" has a path`},
		{name: "public URL without a scheme", args: []string{"--public-url", "auth.example.test"}, want: "--public-url: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, "", append([]string{"dev-issuer"}, tt.args...)...)
			assert.Equal(t, 2, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			assert.Contains(t, r.stderr, tt.want)
			assert.Empty(t, r.stdout, "nothing is served")
		})
	}
}

func TestDevIssuerInsecurePublicOnLoopback(t *testing.T) {
	d := startDevIssuer(t, "--insecure-public")
	assert.NotContains(t, d.stderr.String(), "WARNING", "loopback is not public")
	assert.Equal(t, 0, d.stop(t, os.Interrupt))
}

func TestDevIssuerPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	r := runCLI(t, "", "dev-issuer", "--addr", l.Addr().String())
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "address already in use")
}

// TestDevIssuerRefusesForeignHosts: the dev issuer answers only the names
// of its own address (after a DNS rebinding, a web page would otherwise be
// same-origin with it and read the tokens it mints), unless
// --insecure-public.
func TestDevIssuerRefusesForeignHosts(t *testing.T) {
	get := func(t *testing.T, url, host string) int {
		req, err := http.NewRequest("GET", url+"/jwks", nil)
		require.NoError(t, err)
		if host != "" {
			req.Host = host
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	d := startDevIssuer(t)
	port := d.url[strings.LastIndexByte(d.url[:len(d.url)-len("/oidc")], ':')+1 : len(d.url)-len("/oidc")]
	assert.Equal(t, http.StatusOK, get(t, d.url, ""))
	assert.Equal(t, http.StatusOK, get(t, d.url, "localhost:"+port))
	assert.Equal(t, http.StatusOK, get(t, d.url, "LOCALHOST:"+port))
	assert.Equal(t, http.StatusMisdirectedRequest, get(t, d.url, "evil.example.com"))
	assert.Equal(t, http.StatusMisdirectedRequest, get(t, d.url, "evil.example.com:"+port))
	assert.Equal(t, http.StatusMisdirectedRequest, get(t, d.url, "localhost:1"))

	public := startDevIssuer(t, "--insecure-public")
	assert.Equal(t, http.StatusOK, get(t, public.url, "evil.example.com"), "--insecure-public answers any Host")
}

// TestDevIssuerPublicURL: with --public-url the issuer URL, the discovery
// document and the "iss" of minted tokens are under that URL; requests
// reach the listen address with the public Host (as through a tunnel or a
// published port) and are answered, and foreign hosts are still refused.
func TestDevIssuerPublicURL(t *testing.T) {
	d := startDevIssuer(t, "--public-url", "https://dev-auth.example.test")
	assert.Equal(t, "https://dev-auth.example.test/oidc", d.url)
	assert.Contains(t, d.stdout.String(), "  token      https://dev-auth.example.test/oidc/token")
	assert.Contains(t, d.stdout.String(), "read:documents write:documents' https://dev-auth.example.test/oidc/token\n", "the curl commands use it")

	send := func(method, path, host string, body url.Values) *http.Response {
		var r io.Reader
		if body != nil {
			r = strings.NewReader(body.Encode())
		}
		req, err := http.NewRequest(method, d.local+path, r)
		require.NoError(t, err)
		req.Host = host
		if body != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("m2m-app", "m2m-secret")
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		return resp
	}
	resp := send("GET", "/.well-known/openid-configuration", "dev-auth.example.test", nil)
	var doc map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&doc))
	resp.Body.Close()
	assert.Equal(t, d.url, doc["issuer"])
	assert.Equal(t, d.url+"/jwks", doc["jwks_uri"])
	assert.Equal(t, d.url+"/token", doc["token_endpoint"])

	resp = send("POST", "/token", "dev-auth.example.test", url.Values{"grant_type": {"client_credentials"}, "resource": {"https://api.example.com"}})
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(tok.AccessToken, ".")[1])
	require.NoError(t, err)
	var claims map[string]any
	require.NoError(t, json.Unmarshal(payload, &claims))
	assert.Equal(t, d.url, claims["iss"])

	local := send("GET", "/jwks", strings.TrimPrefix(strings.TrimSuffix(d.local, "/oidc"), "http://"), nil)
	local.Body.Close()
	assert.Equal(t, http.StatusOK, local.StatusCode, "the listen address is answered too")
	foreign := send("GET", "/jwks", "evil.example.com", nil)
	foreign.Body.Close()
	assert.Equal(t, http.StatusMisdirectedRequest, foreign.StatusCode)
}

// TestDevIssuerDPoP: a token request with a DPoP proof (RFC 9449 section 5)
// gets a DPoP-bound token ("token_type": "DPoP", "cnf.jkt" the proof key's
// thumbprint) that an authz validator accepts with a proof by that key,
// and refuses as a bearer token; a bad proof is 400 invalid_dpop_proof.
func TestDevIssuerDPoP(t *testing.T) {
	d := startDevIssuer(t)
	tokenURL := d.url + "/token"
	key, err := authztest.NewDPoPKey("ES256", nil)
	require.NoError(t, err)
	body := url.Values{"grant_type": {"client_credentials"}, "resource": {"https://api.example.com"}, "scope": {"read:documents"}}.Encode()
	request := func(proofs ...string) tokenReply {
		req, err := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("m2m-app", "m2m-secret")
		for _, p := range proofs {
			req.Header.Add("DPoP", p)
		}
		return do(t, req)
	}
	proof := func(method, url string, opts ...authztest.ProofOption) string {
		p, err := key.Proof(method, url, "", opts...)
		require.NoError(t, err)
		return p
	}

	r := request(proof("POST", tokenURL))
	require.Equal(t, http.StatusOK, r.status, "%v", r.body)
	assert.Equal(t, "DPoP", r.body["token_type"])
	tok := r.token()
	assert.Eventually(t, func() bool { return strings.Contains(d.stderr.String(), "bound to DPoP key "+key.Thumbprint()) },
		10*time.Second, 10*time.Millisecond, "the log names the key (read from the process's stderr as it comes)")

	v, err := authz.New(d.url, []string{"https://api.example.com"}, authz.WithDPoP(authz.DPoPConfig{}))
	require.NoError(t, err)
	defer v.Close()
	api := "https://api.example.com/documents"
	p, err := key.Proof("GET", api, tok)
	require.NoError(t, err)
	c, err := v.ValidateDPoP(context.Background(), tok, authz.DPoPRequest{Proof: p, Method: "GET", URL: api})
	require.NoError(t, err)
	assert.Equal(t, key.Thumbprint(), c.KeyThumbprint)
	_, err = v.Validate(context.Background(), tok)
	assert.ErrorIs(t, err, authz.ErrSenderConstrained)

	plain := request()
	require.Equal(t, http.StatusOK, plain.status)
	assert.Equal(t, "Bearer", plain.body["token_type"], "no proof, a bearer token")

	for name, proofs := range map[string][]string{
		"wrong htm":        {proof("GET", tokenURL)},
		"wrong htu":        {proof("POST", d.url+"/other")},
		"typ JWT":          {proof("POST", tokenURL, authztest.ProofHeader("typ", "JWT"))},
		"private key":      {proof("POST", tokenURL, authztest.ProofWithPrivateKey())},
		"alg HS256":        {proof("POST", tokenURL, authztest.ProofAlgorithm("HS256"))},
		"stale":            {proof("POST", tokenURL, authztest.ProofIssuedAt(time.Now().Add(-time.Hour)))},
		"two proofs":       {proof("POST", tokenURL), proof("POST", tokenURL)},
		"another signer":   {proof("POST", tokenURL, authztest.ProofSignedBy(mustKey(t)))},
		"no jti":           {proof("POST", tokenURL, authztest.WithoutProofClaim("jti"))},
		"not a JWT at all": {"junk"},
	} {
		r := request(proofs...)
		assert.Equal(t, http.StatusBadRequest, r.status, name)
		assert.Equal(t, "invalid_dpop_proof", r.body["error"], name)
	}
}

func mustKey(t *testing.T) *authztest.DPoPKey {
	t.Helper()
	k, err := authztest.NewDPoPKey("ES256", nil)
	require.NoError(t, err)
	return k
}
