// Command multitenant is one API for many customers, each with a Logto
// tenant of its own: it trusts the issuers listed in a file, read while it
// runs, so adding a customer needs no restart. GET /documents needs
// read:documents, and the answer names the caller's tenant.
//
//	echo '{"tenants": [{"id": "acme", "issuer": "https://acme.logto.app/oidc"}]}' > tenants.json
//	TENANTS=tenants.json API_RESOURCE=https://api.example.com go run ./examples/multitenant
//
// The file is looked at every 250 ms, whether it is rewritten in place or
// replaced by a rename. A tenant added to it is trusted within a second
// (a token from an issuer that was refused is asked about again after a
// second). A tenant removed from it stops working within a minute, tokens
// already accepted included: trust is re-confirmed once a minute
// (TENANT_RECONFIRM). Tokens from an issuer not in the file get 401, never
// 503, and cost no request to that issuer; only an unreadable file makes
// the API answer 503.
//
// Trust must come from your own data, never from the issuer's name alone:
// "every https://*.logto.app/oidc" would trust an attacker's own Logto
// tenant, where they can create an API with your resource indicator.
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

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/examples/internal/serve"
	"github.com/seed31d61d31/authz/middleware"
)

const usage = `usage: TENANTS=tenants.json API_RESOURCE=https://api.example.com go run ./examples/multitenant

  TENANTS           a JSON file {"tenants": [{"id": "acme", "issuer": "https://acme.logto.app/oidc"}]},
                    read while the API runs
  API_RESOURCE      the API identifier of your API resource, the same in every tenant
  ADDR              the address to listen on (default 127.0.0.1:8080)
  TENANT_RECONFIRM  how often a tenant's trust is checked again (default 1m): a
                    removed tenant stops working within that time
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
	path, resource := getenv("TENANTS"), getenv("API_RESOURCE")
	if path == "" || resource == "" {
		fmt.Fprint(stderr, usage)
		return 2
	}
	reconfirm := time.Minute
	if s := getenv("TENANT_RECONFIRM"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			fmt.Fprintf(stderr, "TENANT_RECONFIRM %q is not a positive duration\n", s)
			return 2
		}
		reconfirm = d
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	tenants, err := newTenantsFile(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	h, closeAPI, err := newAPI(tenants, resource, reconfirm, log)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	defer closeAPI()
	return serve.Serve(ctx, cmp.Or(getenv("ADDR"), "127.0.0.1:8080"), h, log)
}

// newAPI returns the API, trusting the issuers of tenants, and a function
// that stops its validator.
func newAPI(tenants *tenantsFile, resource string, reconfirm time.Duration, log *slog.Logger, opts ...authz.Option) (http.Handler, func(), error) {
	// No static issuer (""): the resolver decides every one.
	v, err := authz.New("", []string{resource}, append([]authz.Option{
		authz.WithLogger(log),
		authz.WithIssuerResolver(tenants.resolve, authz.ResolverConfig{Reconfirm: reconfirm}),
	}, opts...)...)
	if err != nil {
		return nil, nil, err
	}
	mw, err := middleware.New(v, middleware.WithLogger(log))
	if err != nil {
		v.Close()
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /documents", mw.Require("read:documents")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := authz.FromContext(r.Context())
		id, _ := tenants.tenant(c.Issuer)
		serve.WriteJSON(w, http.StatusOK, map[string]any{"tenant": id, "subject": c.Subject, "documents": []string{"roadmap", "budget"}})
	})))
	return mux, v.Close, nil
}
