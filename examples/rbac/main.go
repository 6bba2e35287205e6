// Command rbac is an API protected by Logto with role-based access control:
// each route requires permissions, which Logto puts in the token's "scope".
//
// In the Logto console:
//   - API resources: create https://api.example.com and give it the
//     permissions read:documents, write:documents, delete:documents,
//     admin:documents and read:drafts;
//   - Roles: create user roles that bundle them, e.g. "reader"
//     (read:documents), "editor" (read:documents, write:documents,
//     delete:documents, read:drafts) and "admin" (admin:documents), and
//     assign them to users.
//
// A client asks for a token for the resource and the permissions it wants
// (with a Logto SDK: "resources" and "scopes" in its config); Logto grants
// those that the user's roles allow.
//
// Run it against your tenant:
//
//	LOGTO_ISSUER=https://<tenant>.logto.app/oidc API_RESOURCE=https://api.example.com go run ./examples/rbac
//	curl -H "Authorization: Bearer $TOKEN" 'http://127.0.0.1:8080/documents?include=drafts'
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

const usage = `usage: LOGTO_ISSUER=https://<tenant>.logto.app/oidc API_RESOURCE=https://api.example.com go run ./examples/rbac

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
