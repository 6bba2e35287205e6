// Command organizations is an API for Logto organizations: it accepts
// organization tokens, whose audience is urn:logto:organization:<id> and
// whose "scope" holds the organization permissions the user's organization
// roles grant in that one organization.
//
// In the Logto console, open Organization template:
//   - Organization permissions: read:members and invite:member;
//   - Organization roles: e.g. "member" (read:members) and "admin"
//     (read:members, invite:member).
//
// Then create organizations, add users and give them roles there.
//
// How a user gets an organization token: the app signs in with the scopes
// "openid offline_access urn:logto:scope:organizations read:members
// invite:member" (the ID token's "organizations" claim lists the user's
// organization ids), then trades its refresh token for an organization
// token (with a Logto JS SDK: getOrganizationToken(orgID)):
//
//	curl https://<tenant>.logto.app/oidc/token \
//	  -d grant_type=refresh_token -d client_id=$APP_ID \
//	  -d refresh_token=$REFRESH_TOKEN -d organization_id=$ORG_ID
//
// Logto issues it only to members of the organization. Run the API against
// your tenant:
//
//	LOGTO_ISSUER=https://<tenant>.logto.app/oidc go run ./examples/organizations
//	curl -H "Authorization: Bearer $ORG_TOKEN" http://127.0.0.1:8080/orgs/$ORG_ID/members
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

const usage = `usage: LOGTO_ISSUER=https://<tenant>.logto.app/oidc go run ./examples/organizations

  LOGTO_ISSUER  your Logto endpoint followed by /oidc
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
	issuer := getenv("LOGTO_ISSUER")
	if issuer == "" {
		fmt.Fprint(stderr, usage)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	// One validator for the process. It finds the tenant's keys through OIDC
	// discovery and keeps them fresh in the background, so a key rotation in
	// Logto needs no restart. AnyOrganization accepts the organization token
	// of every organization; each route then checks it is for the one the
	// request names.
	v, err := authz.New(issuer, []string{authz.AnyOrganization}, authz.WithLogger(log))
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
