// Command quickstart shows authz protecting an API, with no Logto tenant:
// it starts an in-process issuer shaped like a Logto tenant (package
// authztest) and an API protected by authz on free localhost ports, mints a
// token for each scenario, sends real HTTP requests and prints what the API
// answered.
//
//	go run ./examples/quickstart          # print the table, exit 0 if every answer is as expected
//	go run ./examples/quickstart -serve   # keep both running and print curl commands
//
// The API answers for all four Logto scenarios at once: routes any valid
// token may call, routes that need permissions (RBAC), organization routes
// for organization tokens, and organization-level API routes. One validator
// accepts both kinds of token (the API's resource indicator and every
// organization as audiences), and each route of the policy says which kind
// it takes: an organization token is never accepted on an API route, nor an
// API token on an organization route, even when their permissions share a
// name.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/middleware"
)

// api is the resource indicator of the demo API, as registered in Logto.
const api = "https://api.example.com"

// policy is what the API enforces, one rule per route. A rule without an
// organization is a global route for access tokens of the API resource
// (aud = api) that are bound to no organization.
var policy = []authz.Rule{
	{Pattern: "GET /healthz", Public: true},
	{Pattern: "GET /me"}, // any valid API token
	{Pattern: "GET /documents", AllOf: []string{"read:documents"}},
	{Pattern: "DELETE /documents/{id}", AnyOf: []string{"delete:documents", "admin:documents"}},
	// API resources under organization-level RBAC: the token carries
	// organization_id, which must be the organization the request names.
	{Pattern: "GET /reports", Token: authz.APIToken, AllOf: []string{"read:reports"}, Organization: &authz.OrgSource{Header: "X-Organization-Id"}},
	// Organization resources: organization tokens (aud =
	// urn:logto:organization:<id>), for the organization in the path...
	{Pattern: "GET /orgs/{orgID}/members", Token: authz.OrganizationToken, AllOf: []string{"read:members"}, Organization: &authz.OrgSource{PathValue: "orgID"}},
	// ...or for whichever organization the token is for.
	{Pattern: "GET /organization", Token: authz.OrganizationToken, AllOf: []string{"read:members"}, Organization: &authz.OrgSource{FromToken: true}},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run is main with its inputs and outputs explicit; it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	flags.SetOutput(stderr)
	serve := flags.Bool("serve", false, "keep the issuer and the API running and print ready-to-paste curl commands")
	origin := flags.String("allow-origin", "http://localhost:3000", "the browser origin (a web app's) allowed to call the API cross-origin")
	if err := flags.Parse(args); err != nil {
		return 2
	}

	logto, err := authztest.NewIssuer() // stands in for https://<tenant>.logto.app/oidc
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer logto.Close()
	apiURL, shutdown, err := startAPI(logto.URL(), *origin, stderr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer shutdown()

	fmt.Fprintf(stdout, "issuer %s\napi    %s (resource indicator %s)\n\n", logto.URL(), apiURL, api)
	if *serve {
		return serveCurl(ctx, logto, apiURL, *origin, stdout, stderr)
	}
	if !printTable(logto, apiURL, stdout, stderr) {
		return 1
	}
	return 0
}

// startAPI serves the protected API on a free localhost port, to browsers
// of origin too.
func startAPI(issuer, origin string, stderr io.Writer) (string, func(), error) {
	quiet := slog.New(slog.DiscardHandler) // the table shows every refusal
	// One validator for both kinds of token: the routes decide which
	// passes.
	v, err := authz.New(issuer, []string{api, authz.AnyOrganization}, authz.WithLogger(quiet))
	if err != nil {
		return "", nil, err
	}
	mw, err := middleware.New(v, middleware.WithLogger(quiet))
	if err != nil {
		v.Close()
		return "", nil, err
	}
	p, err := authz.NewPolicy(policy...)
	if err != nil {
		v.Close()
		return "", nil, err
	}

	routes := http.NewServeMux()
	routes.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	for _, rule := range policy {
		if !rule.Public {
			routes.HandleFunc(rule.Pattern, whoami)
		}
	}
	// CORS goes around authz: it answers a browser's preflight (which
	// carries no token) itself, and lets the real request through to
	// authz.
	handler := cors(origin, mw.Enforce(p)(routes))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		v.Close()
		return "", nil, err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(stderr, err)
		}
	}()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close(); v.Close() }, nil
}

// cors lets the browser origin call next cross-origin, with a bearer
// token: it answers preflights and marks the answers of real requests. A
// real API would use a CORS package (github.com/rs/cors, for one) in the
// same place.
func cors(origin string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Origin")
		if origin == "" || r.Header.Get("Origin") != origin {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Access-Control-Allow-Origin", origin)
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			w.Header().Set("Access-Control-Allow-Methods", "GET, DELETE")
			w.Header().Set("Access-Control-Allow-Headers", "Authorization, X-Organization-Id")
			w.Header().Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		// The challenge of a 401 or 403, for the web app to read.
		w.Header().Set("Access-Control-Expose-Headers", "WWW-Authenticate")
		next.ServeHTTP(w, r)
	})
}

// whoami answers with who called, as the handlers of a real API would
// read it from the context.
func whoami(w http.ResponseWriter, r *http.Request) {
	c, _ := authz.FromContext(r.Context())
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"route": r.Pattern, "sub": c.Subject, "machine": c.IsMachine(),
		"organization": c.OrganizationID, "scopes": c.Scopes,
	})
}

// scenario is one request of the table.
type scenario struct {
	method, path string
	header       http.Header
	kind         string // the token's kind, for the table
	token        func(*authztest.Issuer) (string, error)
	want         int
}

func scenarios() []scenario {
	user := func(scopes ...string) func(*authztest.Issuer) (string, error) {
		return func(i *authztest.Issuer) (string, error) { return i.APIToken(api, authztest.Scopes(scopes...)) }
	}
	orgToken := func(org string, scopes ...string) func(*authztest.Issuer) (string, error) {
		return func(i *authztest.Issuer) (string, error) {
			return i.OrganizationToken(org, authztest.Scopes(scopes...))
		}
	}
	orgAPI := func(org string, scopes ...string) func(*authztest.Issuer) (string, error) {
		return func(i *authztest.Issuer) (string, error) {
			return i.OrganizationAPIToken(api, org, authztest.Scopes(scopes...))
		}
	}
	orgHeader := func(org string) http.Header { return http.Header{"X-Organization-Id": {org}} }
	return []scenario{
		{method: "GET", path: "/healthz", kind: "none", want: 200},
		{method: "GET", path: "/me", kind: "none", want: 401},
		{method: "GET", path: "/me", kind: "API", token: user(), want: 200},
		{method: "GET", path: "/me", kind: "API, expired", token: func(i *authztest.Issuer) (string, error) { return i.APIToken(api, authztest.Expired()) }, want: 401},
		{method: "GET", path: "/me", kind: "API, other resource", token: func(i *authztest.Issuer) (string, error) { return i.APIToken("https://billing.example.com") }, want: 401},
		{method: "GET", path: "/me", kind: "ID token (typ JWT)", token: func(i *authztest.Issuer) (string, error) { return i.APIToken(api, authztest.TokenType("JWT")) }, want: 401},
		{method: "GET", path: "/me", kind: "API, unknown key", token: func(i *authztest.Issuer) (string, error) { return i.APIToken(api, authztest.SignedByUnknownKey()) }, want: 401},
		{method: "GET", path: "/documents", kind: "API read:documents", token: user("read:documents"), want: 200},
		{method: "GET", path: "/documents", kind: "API, no scope", token: user(), want: 403},
		{method: "DELETE", path: "/documents/7", kind: "API admin:documents", token: user("admin:documents"), want: 200},
		{method: "GET", path: "/documents", kind: "M2M read:documents", token: func(i *authztest.Issuer) (string, error) {
			return i.MachineToken(api, "sync-job", authztest.Scopes("read:documents"))
		}, want: 200},
		{method: "GET", path: "/orgs/org-a/members", kind: "organization org-a", token: orgToken("org-a", "read:members"), want: 200},
		{method: "GET", path: "/orgs/org-b/members", kind: "organization org-a", token: orgToken("org-a", "read:members"), want: 403},
		{method: "GET", path: "/organization", kind: "organization org-b", token: orgToken("org-b", "read:members"), want: 200},
		{method: "GET", path: "/documents", kind: "organization, read:documents", token: orgToken("org-a", "read:documents"), want: 401},
		{method: "GET", path: "/orgs/org-a/members", kind: "API read:members", token: user("read:members"), want: 401},
		{method: "GET", path: "/organization", kind: "org-level API org-a", token: orgAPI("org-a", "read:members"), want: 401},
		{method: "GET", path: "/reports", header: orgHeader("org-a"), kind: "org-level API org-a", token: orgAPI("org-a", "read:reports"), want: 200},
		{method: "GET", path: "/reports", header: orgHeader("org-b"), kind: "org-level API org-a", token: orgAPI("org-a", "read:reports"), want: 403},
		{method: "GET", path: "/reports", header: orgHeader("org-a"), kind: "API, no organization", token: user("read:reports"), want: 403},
		{method: "GET", path: "/documents", kind: "org-level API org-a, read:documents", token: orgAPI("org-a", "read:documents"), want: 403},
		{method: "GET", path: "/admin", kind: "API (route not in policy)", token: user("read:documents"), want: 403},
		{method: "GET", path: "/me", header: http.Header{"Authorization": {"Bearer a, Bearer b"}}, kind: "two tokens", want: 400},
	}
}

// printTable sends every scenario and prints request, token kind, expected
// and actual status, and the WWW-Authenticate challenge. It reports whether
// every answer was the expected one.
func printTable(logto *authztest.Issuer, apiURL string, stdout, stderr io.Writer) bool {
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REQUEST\tTOKEN\tEXPECTED\tGOT\t\tWWW-AUTHENTICATE")
	allOK := true
	for _, s := range scenarios() {
		got, challenge, err := send(logto, apiURL, s)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return false
		}
		mark := "ok"
		if got != s.want {
			mark, allOK = "UNEXPECTED", false
		}
		req := s.method + " " + s.path
		if org := s.header.Get("X-Organization-Id"); org != "" {
			req += " [X-Organization-Id: " + org + "]"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\n", req, s.kind, s.want, got, mark, challenge)
	}
	_ = tw.Flush()
	if allOK {
		fmt.Fprintln(stdout, "\nEvery answer is as expected.")
	}
	return allOK
}

func send(logto *authztest.Issuer, apiURL string, s scenario) (status int, challenge string, err error) {
	req, err := http.NewRequest(s.method, apiURL+s.path, nil)
	if err != nil {
		return 0, "", err
	}
	for k, v := range s.header {
		req.Header[k] = v
	}
	if s.token != nil {
		tok, err := s.token(logto)
		if err != nil {
			return 0, "", err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate"), nil
}

// serveCurl prints curl commands with fresh tokens and waits for ctx.
func serveCurl(ctx context.Context, logto *authztest.Issuer, apiURL, origin string, stdout, stderr io.Writer) int {
	examples := []struct {
		comment, method, path, header string
		token                         func() (string, error)
	}{
		{"any valid token", "GET", "/me", "", func() (string, error) { return logto.APIToken(api) }},
		{"RBAC: needs read:documents", "GET", "/documents", "", func() (string, error) {
			return logto.APIToken(api, authztest.Scopes("read:documents"))
		}},
		{"RBAC: the same route without the permission (403)", "GET", "/documents", "", func() (string, error) { return logto.APIToken(api) }},
		{"organization token for org-a", "GET", "/orgs/org-a/members", "", func() (string, error) {
			return logto.OrganizationToken("org-a", authztest.Scopes("read:members"))
		}},
		{"organization token: the organization comes from the token", "GET", "/organization", "", func() (string, error) {
			return logto.OrganizationToken("org-b", authztest.Scopes("read:members"))
		}},
		{"organization-level API token for org-a", "GET", "/reports", "X-Organization-Id: org-a", func() (string, error) {
			return logto.OrganizationAPIToken(api, "org-a", authztest.Scopes("read:reports"))
		}},
	}
	fmt.Fprintln(stdout, "Tokens are valid for one hour. Try:")
	for _, e := range examples {
		tok, err := e.token()
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		header := ""
		if e.header != "" {
			header = " -H '" + e.header + "'"
		}
		fmt.Fprintf(stdout, "\n# %s\ncurl -i -X %s%s -H 'Authorization: Bearer %s' %s%s\n", e.comment, e.method, header, tok, apiURL, e.path)
	}
	if origin != "" {
		tok, err := logto.APIToken(api, authztest.Scopes("read:documents"))
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintf(stdout, "\n# a web app at %[1]s: the browser's CORS preflight (no token; answered before authz)\n"+
			"curl -i -X OPTIONS -H 'Origin: %[1]s' -H 'Access-Control-Request-Method: GET' -H 'Access-Control-Request-Headers: authorization' %[2]s/documents\n"+
			"\n# then the request itself\n"+
			"curl -i -X GET -H 'Origin: %[1]s' -H 'Authorization: Bearer %[3]s' %[2]s/documents\n", origin, apiURL, tok)
	}
	fmt.Fprintln(stdout, "\n"+strings.Repeat("-", 20)+"\nServing until interrupted (Ctrl-C).")
	<-ctx.Done()
	return 0
}
