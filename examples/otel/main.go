// Command otel traces and measures what authz decides with OpenTelemetry:
// a span for every token validation and authorization decision, each a
// child of the request's span (otelhttp), and metrics of the decisions and
// JWKS fetches (observer.go). The API needs read:documents on
// GET /documents.
//
// It exports to its standard output, so that it runs with nothing else
// installed; a real service would give the same providers OTLP exporters
// (go.opentelemetry.io/otel/exporters/otlp/...) instead.
//
//	LOGTO_ISSUER=https://<tenant>.logto.app/oidc API_RESOURCE=https://api.example.com go run .
//	curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/documents
//
// This example is a module of its own, so that OpenTelemetry never becomes
// a dependency of authz.
package main

import (
	"cmp"
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

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/examples/internal/serve"
	"github.com/seed31d61d31/authz/middleware"
)

const usage = `usage: LOGTO_ISSUER=https://<tenant>.logto.app/oidc API_RESOURCE=https://api.example.com go run .

  LOGTO_ISSUER  your Logto endpoint followed by /oidc
  API_RESOURCE  the API identifier of your API resource in the Logto console
  ADDR          the address to listen on (default 127.0.0.1:8080)

Spans and metrics are written to standard output.

No Logto tenant yet? go run ./examples/quickstart, from the root of the
authz repository, runs a demo with a built-in issuer.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run serves the API until ctx is done, with telemetry written to out, and
// returns the exit code: 2 for a configuration error, 1 if the server
// fails, 0 after a graceful shutdown.
func run(ctx context.Context, getenv func(string) string, out, stderr io.Writer) int {
	issuer, resource := getenv("LOGTO_ISSUER"), getenv("API_RESOURCE")
	if issuer == "" || resource == "" {
		fmt.Fprint(stderr, usage)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	spans, err := stdouttrace.New(stdouttrace.WithWriter(out))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	metrics, err := stdoutmetric.New(stdoutmetric.WithWriter(out))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metrics, sdkmetric.WithInterval(30*time.Second))))
	defer func() {
		// Flush what is left on the way out.
		flush, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := errors.Join(tp.Shutdown(flush), mp.Shutdown(flush)); err != nil {
			log.Error("telemetry shutdown", "err", err)
		}
	}()

	h, closeAPI, err := newAPI(issuer, resource, tp, mp, log)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	defer closeAPI()
	return serve.Serve(ctx, cmp.Or(getenv("ADDR"), "127.0.0.1:8080"), h, log)
}

// newAPI returns the API, instrumented with tp and mp, and a function that
// stops its validator.
func newAPI(issuer, resource string, tp trace.TracerProvider, mp metric.MeterProvider, log *slog.Logger) (http.Handler, func(), error) {
	obs, err := newObserver(tp, mp)
	if err != nil {
		return nil, nil, err
	}
	// The same Observer for the validator (validations, JWKS fetches) and
	// the middleware (authorization decisions).
	v, err := authz.New(issuer, []string{resource}, authz.WithObserver(obs), authz.WithLogger(log))
	if err != nil {
		return nil, nil, err
	}
	mw, err := middleware.New(v, middleware.WithObserver(obs), middleware.WithLogger(log))
	if err != nil {
		v.Close()
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		serve.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.Handle("GET /documents", mw.Require("read:documents")(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		serve.WriteJSON(w, http.StatusOK, map[string][]string{"documents": {"roadmap", "budget"}})
	})))
	// otelhttp starts the request's span before authz runs: authz's spans
	// are its children.
	return otelhttp.NewHandler(mux, "api", otelhttp.WithTracerProvider(tp), otelhttp.WithMeterProvider(mp)), v.Close, nil
}
