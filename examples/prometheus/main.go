// Command prometheus exports what authz decides as Prometheus metrics: every
// token validation and authorization decision (by stage, reason and cache
// use, with latency) and every JWKS fetch (by issuer and outcome, with the
// number of keys). The API itself needs read:documents on GET /documents.
//
//	LOGTO_ISSUER=https://<tenant>.logto.app/oidc API_RESOURCE=https://api.example.com go run .
//	curl http://127.0.0.1:8080/metrics
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/middleware"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Getenv, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, getenv func(string) string, stderr io.Writer) int {
	issuer, resource := getenv("LOGTO_ISSUER"), getenv("API_RESOURCE")
	if issuer == "" || resource == "" {
		fmt.Fprintln(stderr, "usage: LOGTO_ISSUER=https://<tenant>.logto.app/oidc API_RESOURCE=https://api.example.com go run .")
		return 2
	}
	reg := prometheus.NewRegistry()
	h, closeFn, err := newHandler(issuer, resource, reg)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	defer closeFn()
	srv := &http.Server{Addr: "127.0.0.1:8080", Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// newHandler returns the API with its /metrics endpoint, and a function
// that stops the validator.
func newHandler(issuer, resource string, reg *prometheus.Registry) (http.Handler, func(), error) {
	obs := newMetrics(reg).observer()
	v, err := authz.New(issuer, []string{resource}, authz.WithObserver(obs))
	if err != nil {
		return nil, nil, err
	}
	mw, err := middleware.New(v, middleware.WithObserver(obs), middleware.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		v.Close()
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("GET /documents", mw.Require("read:documents")(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `["roadmap"]`+"\n")
	})))
	return mux, v.Close, nil
}
