// Command fiber is an API built with Fiber v2 and protected by Logto:
// each route requires permissions, which Logto puts in the token's "scope",
// and the organization routes require a token for the organization the path
// names. adapter.go shows how authz's net/http middleware fits Fiber,
// which runs on fasthttp. Fiber v2 is the version of Logto's Go guide for
// Fiber, and the one most Fiber APIs run.
//
// In the Logto console:
//   - API resources: create https://api.example.com and give it the
//     permissions read:documents, delete:documents, admin:documents,
//     read:members and invite:member;
//   - Roles: user roles that bundle them (assigned to users), and
//     organization roles in the organization template for read:members and
//     invite:member (API resources with organization-level RBAC).
//
// A client asks for a token for the resource and the permissions it wants;
// for the organization routes it also names the organization
// (organization_id), so that the token carries the "organization_id" claim.
//
// This example is a module of its own, so that Fiber never becomes a
// dependency of authz. Run it against your tenant, from this directory:
//
//	LOGTO_ISSUER=https://<tenant>.logto.app/oidc API_RESOURCE=https://api.example.com go run .
//	curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/documents
//	curl -H "Authorization: Bearer $ORG_TOKEN" http://127.0.0.1:8080/orgs/$ORG_ID/members
package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/middleware"
)

const usage = `usage: LOGTO_ISSUER=https://<tenant>.logto.app/oidc API_RESOURCE=https://api.example.com go run .

  LOGTO_ISSUER  your Logto endpoint followed by /oidc
  API_RESOURCE  the API identifier of your API resource in the Logto console
  ADDR          the address to listen on (default 127.0.0.1:8080)

No Logto tenant yet? go run ./examples/quickstart, from the root of the
authz repository, runs a demo with a built-in issuer.
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
	return serve(ctx, cmp.Or(getenv("ADDR"), "127.0.0.1:8080"), newApp(mw), log)
}

// serve runs app on addr until ctx is done, then shuts down gracefully. It
// logs "listening" with the address once it accepts connections, and
// returns the exit code: 1 if the server fails, 0 after a graceful
// shutdown.
func serve(ctx context.Context, addr string, app *fiber.App, log *slog.Logger) int {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Error("listen", "err", err)
		return 1
	}
	errc := make(chan error, 1)
	go func() { errc <- app.Listener(ln) }()
	log.Info("listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		log.Error("serve", "err", err)
		return 1
	case <-ctx.Done():
	}
	log.Info("shutting down")
	if err := app.ShutdownWithTimeout(10 * time.Second); err != nil {
		log.Error("shutdown", "err", err)
		return 1
	}
	return 0
}
