package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
	assert.Equal(t, []int{200, 200, 403, 200, 200, 200}, statuses)

	cancel()
	select {
	case code := <-done:
		assert.Equal(t, 0, code)
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
}
