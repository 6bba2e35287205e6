package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/examples/internal/exampletest"
)

func TestTable(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), nil, &out, &errOut)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	assert.Contains(t, out.String(), "Every answer is as expected.")
	assert.NotContains(t, out.String(), "UNEXPECTED")
	rows := 0
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.Contains(line, "  ok  ") {
			rows++
		}
	}
	assert.Equal(t, len(scenarios()), rows, "one ok row per scenario")
	assert.Contains(t, out.String(), `Bearer realm="api", error="insufficient_scope", error_description="token is for another organization", scope="read:members"`)
	assert.Empty(t, errOut.String())
}

func TestBadFlag(t *testing.T) {
	var out, errOut bytes.Buffer
	assert.Equal(t, 2, run(context.Background(), []string{"-nope"}, &out, &errOut))
	assert.Contains(t, errOut.String(), "-serve")
}

func TestServePrintsWorkingCurlCommands(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out exampletest.LogBuffer // read while run is still running
	done := make(chan int)
	go func() { done <- run(ctx, []string{"-serve"}, &out, io.Discard) }()
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "Serving until interrupted") }, 10*time.Second, 10*time.Millisecond)

	curl := regexp.MustCompile(`^curl -i -X (\S+)((?: -H '[^']+')+) (\S+)$`)
	header := regexp.MustCompile(`-H '([^:]+): ([^']+)'`)
	var statuses []int
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for sc.Scan() {
		m := curl.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		req, err := http.NewRequest(m[1], m[3], nil)
		require.NoError(t, err)
		for _, h := range header.FindAllStringSubmatch(m[2], -1) {
			req.Header.Set(h[1], h[2])
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
	}
	assert.Equal(t, []int{200, 200, 403, 200, 200, 200, 204, 200}, statuses)

	cancel()
	select {
	case code := <-done:
		assert.Equal(t, 0, code)
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
}

// TestCORS: a browser's preflight from the allowed origin is answered
// before authz (no token needed), the real request then needs its token
// like any other, and another origin gets no CORS headers.
func TestCORS(t *testing.T) {
	logto, err := authztest.NewIssuer()
	require.NoError(t, err)
	defer logto.Close()
	const origin = "https://app.example.com"
	apiURL, shutdown, err := startAPI(logto.URL(), origin, io.Discard)
	require.NoError(t, err)
	defer shutdown()
	send := func(method, from, token string) *http.Response {
		req, err := http.NewRequest(method, apiURL+"/documents", nil)
		require.NoError(t, err)
		req.Header.Set("Origin", from)
		if method == http.MethodOptions {
			req.Header.Set("Access-Control-Request-Method", "GET")
			req.Header.Set("Access-Control-Request-Headers", "authorization")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}

	pre := send(http.MethodOptions, origin, "")
	assert.Equal(t, http.StatusNoContent, pre.StatusCode)
	assert.Equal(t, origin, pre.Header.Get("Access-Control-Allow-Origin"))
	assert.Contains(t, pre.Header.Get("Access-Control-Allow-Headers"), "Authorization")

	tok, err := logto.APIToken(api, authztest.Scopes("read:documents"))
	require.NoError(t, err)
	ok := send(http.MethodGet, origin, tok)
	assert.Equal(t, http.StatusOK, ok.StatusCode)
	assert.Equal(t, origin, ok.Header.Get("Access-Control-Allow-Origin"))

	noToken := send(http.MethodGet, origin, "")
	assert.Equal(t, http.StatusUnauthorized, noToken.StatusCode, "CORS lets the request through, authz still wants its token")
	assert.Equal(t, "WWW-Authenticate", noToken.Header.Get("Access-Control-Expose-Headers"))

	other := send(http.MethodOptions, "https://evil.example", "")
	assert.Equal(t, http.StatusUnauthorized, other.StatusCode, "a preflight from another origin reaches authz, which wants a token")
	assert.Empty(t, other.Header.Get("Access-Control-Allow-Origin"))
}

// TestAnswersNameTheRoute: the API's JSON names the policy's route.
func TestAnswersNameTheRoute(t *testing.T) {
	logto, err := authztest.NewIssuer()
	require.NoError(t, err)
	defer logto.Close()
	apiURL, shutdown, err := startAPI(logto.URL(), "", io.Discard)
	require.NoError(t, err)
	defer shutdown()
	for path, tok := range map[string]func() (string, error){
		"/documents":          func() (string, error) { return logto.APIToken(api, authztest.Scopes("read:documents")) },
		"/orgs/org-a/members": func() (string, error) { return logto.OrganizationToken("org-a", authztest.Scopes("read:members")) },
	} {
		token, err := tok()
		require.NoError(t, err)
		req, err := http.NewRequest(http.MethodGet, apiURL+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		var body struct{ Route string }
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		resp.Body.Close()
		want := map[string]string{"/documents": "GET /documents", "/orgs/org-a/members": "GET /orgs/{orgID}/members"}[path]
		assert.Equal(t, want, body.Route, path)
	}
}
