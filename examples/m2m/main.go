// Command m2m is an API called by machines: services that authenticate to
// Logto as themselves with the client credentials grant, with no user
// involved. Their tokens have "sub" equal to "client_id" (the app's id),
// which is how the API tells them from users (Claims.IsMachine).
//
// In the Logto console:
//   - API resources: create https://api.example.com with the permission
//     sync:data;
//   - Roles: create a machine-to-machine role holding sync:data;
//   - Applications: create a machine-to-machine application and assign it
//     that role.
//
// The machine gets a token from the token endpoint with its app id and
// secret (HTTP Basic), naming the resource and the permissions it wants:
//
//	TOKEN=$(curl -s https://<tenant>.logto.app/oidc/token \
//	  -u "$APP_ID:$APP_SECRET" \
//	  -d grant_type=client_credentials \
//	  -d resource=https://api.example.com \
//	  -d scope=sync:data | jq -r .access_token)
//	curl -X POST -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/sync
//
// Always send "resource": a token requested without it is not a JWT for
// your API. Without "scope" the token grants no permission (403). A token
// for Logto's Management API (resource https://<tenant>.logto.app/api) is
// for that API, not yours, and is refused with 401.
//
// Run it against your tenant:
//
//	LOGTO_ISSUER=https://<tenant>.logto.app/oidc API_RESOURCE=https://api.example.com go run ./examples/m2m
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

const usage = `usage: LOGTO_ISSUER=https://<tenant>.logto.app/oidc API_RESOURCE=https://api.example.com go run ./examples/m2m

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
