package serve_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/seed31d61d31/authz/examples/internal/exampletest"
	"github.com/seed31d61d31/authz/examples/internal/serve"
)

func TestServeUntilCancelled(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		serve.WriteJSON(w, http.StatusTeapot, map[string]string{"status": "ok"})
	})
	run := func(ctx context.Context, _ func(string) string, stderr io.Writer) int {
		return serve.Serve(ctx, "127.0.0.1:0", h, slog.New(slog.NewTextHandler(stderr, nil)))
	}
	r := exampletest.Start(t, run, nil)

	resp, err := http.Get("http://" + r.Addr + "/")
	assert.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.NoError(t, err)
	assert.Equal(t, http.StatusTeapot, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.JSONEq(t, `{"status":"ok"}`, string(body))

	r.Stop(10 * time.Second)
	assert.Contains(t, r.Log.String(), "msg=\"shutting down\"")
}

func TestServeListenError(t *testing.T) {
	var log strings.Builder
	code := serve.Serve(t.Context(), "not an address", http.NotFoundHandler(), slog.New(slog.NewTextHandler(&log, nil)))
	assert.Equal(t, 1, code)
	assert.Contains(t, log.String(), "msg=listen")
}

func TestWithoutWriteTimeout(t *testing.T) {
	srv := &http.Server{WriteTimeout: 30 * time.Second}
	serve.WithoutWriteTimeout()(srv)
	assert.Zero(t, srv.WriteTimeout)
}
