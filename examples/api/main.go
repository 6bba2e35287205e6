// Command api is an API protected by Logto without RBAC: any valid access
// token issued for the API resource is enough.
//
// In the Logto console, open API resources and create one with the API
// identifier (resource indicator) https://api.example.com. No permissions or
// roles are needed. A client signs in and asks for a token for that resource
// (with a Logto SDK: list it in "resources", then
// getAccessToken("https://api.example.com")), and sends it as
// "Authorization: Bearer <token>".
//
// Run it against your tenant:
//
//	LOGTO_ISSUER=https://<tenant>.logto.app/oidc API_RESOURCE=https://api.example.com go run ./examples/api
//	curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/me
package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/examples/internal/serve"
	"github.com/seed31d61d31/authz/middleware"
)

const usage = `usage: LOGTO_ISSUER=https://<tenant>.logto.app/oidc API_RESOURCE=https://api.example.com go run ./examples/api

  LOGTO_ISSUER  your Logto endpoint followed by /oidc
  API_RESOURCE  the API identifier of your API resource in the Logto console
  ADDR          the address to listen on (default 127.0.0.1:8080)

No Logto tenant yet? go run ./examples/quickstart runs a demo with a built-in issuer.
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

	// One validator for the process. It finds the tenant's keys through OIDC
	// discovery and keeps them fresh in the background, so a key rotation in
	// Logto needs no restart.
	v, err := authz.New(issuer, []string{resource}, authz.WithLogger(log))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	defer v.Close()
	mw, err := middleware.New(v, middleware.WithLogger(log))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	return serve.Serve(ctx, cmp.Or(getenv("ADDR"), "127.0.0.1:8080"), newHandler(mw), log)
}
