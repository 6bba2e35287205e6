// Command dpop is an API that accepts only DPoP-bound access tokens (RFC
// 9449): GET /documents needs read:documents, a token bound to the
// client's key ("cnf.jkt") sent as "Authorization: DPoP <token>", and a
// fresh proof of that key for this very request in the DPoP header. A
// stolen token is of no use without the key, and a proof cannot be
// replayed.
//
//	LOGTO_ISSUER=https://<tenant>.logto.app/oidc API_RESOURCE=https://api.example.com go run .
//
// Every proof names the URL the client used ("htu"), which the API checks.
// By default that is built from the request (its Host header; https when
// it came over TLS). Behind a load balancer or a proxy, set EXTERNAL_URL to
// the URL clients use, so that every replica checks proofs against the
// same one. Proofs are remembered in this process until they expire; with
// DPOP_REPLAY_REDIS=host:port they are remembered in that Redis server, so
// that a proof accepted by one replica is refused by all the others:
//
//	DPOP_REPLAY_REDIS=127.0.0.1:6379 EXTERNAL_URL=http://127.0.0.1:8080 ADDR=127.0.0.1:8081 go run . &
//	DPOP_REPLAY_REDIS=127.0.0.1:6379 EXTERNAL_URL=http://127.0.0.1:8080 ADDR=127.0.0.1:8082 go run . &
//
// If Redis cannot be reached, DPoP requests are refused with 503: the
// replay check fails closed.
//
// client/ is a DPoP client written with Go's standard library only: it
// makes a key, gets a DPoP-bound token from the issuer's token endpoint
// (authz dev-issuer issues them) and calls the API with proofs.
//
// This example is a module of its own, so that Redis never becomes a
// dependency of authz.
package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/dpopredis"
	"github.com/seed31d61d31/authz/examples/internal/serve"
	"github.com/seed31d61d31/authz/middleware"
)

const usage = `usage: LOGTO_ISSUER=https://<tenant>.logto.app/oidc API_RESOURCE=https://api.example.com go run .

  LOGTO_ISSUER       your Logto endpoint followed by /oidc
  API_RESOURCE       the API identifier of your API resource in the Logto console
  ADDR               the address to listen on (default 127.0.0.1:8080)
  EXTERNAL_URL       the URL clients use (https://api.example.com), when it is not
                     the one requests arrive with: behind a load balancer or proxy
  DPOP_REPLAY_REDIS  host:port of a Redis server that replicas share for replay
                     checks (default: this process's memory)

No Logto tenant yet? go run ./examples/quickstart, from the root of the
authz repository, runs a demo with a built-in issuer; authz dev-issuer
issues DPoP-bound tokens.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Getenv, os.Stderr)
	stop()
	os.Exit(code)
}

// run serves the API until ctx is done and returns the exit code: 2 for a
// configuration error, 1 if the server fails, 0 after a graceful shutdown.
func run(ctx context.Context, getenv func(string) string, stderr io.Writer) int {
	issuer, resource := getenv("LOGTO_ISSUER"), getenv("API_RESOURCE")
	if issuer == "" || resource == "" {
		fmt.Fprint(stderr, usage)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	cfg := config{issuer: issuer, resource: resource, externalURL: getenv("EXTERNAL_URL")}
	if addr := getenv("DPOP_REPLAY_REDIS"); addr != "" {
		// Short timeouts: an unreachable Redis costs a request half a
		// second, not go-redis's default of five.
		rdb := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 500 * time.Millisecond, ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond})
		defer rdb.Close()
		cfg.replay = dpopredis.New(rdb)
		log.Info("DPoP proofs are remembered in Redis", "addr", addr)
	}
	h, closeAPI, err := newAPI(cfg, log)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	defer closeAPI()
	return serve.Serve(ctx, cmp.Or(getenv("ADDR"), "127.0.0.1:8080"), h, log)
}

// config is what newAPI needs.
type config struct {
	issuer, resource string
	externalURL      string            // "" to build htu from the request
	replay           authz.ReplayCache // nil for the in-memory one
	options          []authz.Option    // for tests: a clock
}

// newAPI returns the API and a function that stops its validator.
func newAPI(c config, log *slog.Logger) (http.Handler, func(), error) {
	opts := append([]authz.Option{authz.WithLogger(log), authz.WithDPoP(authz.DPoPConfig{Replay: c.replay})}, c.options...)
	v, err := authz.New(c.issuer, []string{c.resource}, opts...)
	if err != nil {
		return nil, nil, err
	}
	mwOpts := []middleware.Option{middleware.WithDPoP(authz.DPoPRequired), middleware.WithLogger(log)}
	if c.externalURL != "" {
		mwOpts = append(mwOpts, middleware.WithExternalURL(c.externalURL))
	}
	mw, err := middleware.New(v, mwOpts...)
	if err != nil {
		v.Close()
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		serve.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.Handle("GET /documents", mw.Require("read:documents")(http.HandlerFunc(documents)))
	return mux, v.Close, nil
}

// documents answers with the documents, and says who called with which key.
func documents(w http.ResponseWriter, r *http.Request) {
	c, _ := authz.FromContext(r.Context()) // always there behind the middleware
	serve.WriteJSON(w, http.StatusOK, map[string]any{
		"documents": []string{"roadmap", "budget"},
		"subject":   c.Subject,
		"dpop_key":  c.KeyThumbprint,
	})
}
