// Command organization-api is an API resource with organization-level RBAC:
// the same API serves every organization, and what a user may do in one
// depends on the user's organization roles there.
//
// In the Logto console:
//   - API resources: create https://api.example.com with the permissions
//     read:projects and write:projects;
//   - Organization template: create organization roles holding those API
//     permissions, e.g. "viewer" (read:projects) and "editor" (read:projects,
//     write:projects), and give users roles in each organization.
//
// The client asks for a token for the API *and* an organization
// (organization_id in the token request; with a Logto JS SDK:
// getAccessToken("https://api.example.com", orgID)). The token's "aud" is the
// API, its "organization_id" the organization, and its "scope" the
// permissions the user's roles grant in that organization.
//
// The trap: a token for the same API requested without organization_id has
// no "organization_id" and carries the scopes of the user's roles in every
// organization at once. A scope check alone would let a viewer of org A who
// is an editor of org B write in org A. So every organization route here
// names its organization (from a path value or a header) and the policy
// requires the token to be for that very organization.
//
// The routes and their requirements are in policy.json, embedded in the
// binary and logged at start-up. Run it against your tenant:
//
//	LOGTO_ISSUER=https://<tenant>.logto.app/oidc API_RESOURCE=https://api.example.com go run ./examples/organization-api
//	curl -H "Authorization: Bearer $TOKEN" -H "X-Organization-Id: $ORG_ID" http://127.0.0.1:8080/projects
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

const usage = `usage: LOGTO_ISSUER=https://<tenant>.logto.app/oidc API_RESOURCE=https://api.example.com go run ./examples/organization-api

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
	p, err := loadPolicy()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	for _, rule := range p.Rules() {
		log.Info("policy", "rule", rule.String())
	}
	return serve.Serve(ctx, cmp.Or(getenv("ADDR"), "127.0.0.1:8080"), newHandler(mw, p), log)
}
