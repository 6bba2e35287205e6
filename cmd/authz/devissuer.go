package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"strings"

	"github.com/seed31d61d31/authz/authztest"
)

// devIssuerAlgorithms are the algorithms authztest signs with.
var devIssuerAlgorithms = []string{"ES256", "ES384", "ES512", "RS256"}

type devIssuerOptions struct {
	addr          string
	clientsFile   string
	alg           string
	public        bool
	publicURL     string
	printDefaults bool
}

func devIssuerFlags(fs *flag.FlagSet) *devIssuerOptions {
	o := &devIssuerOptions{}
	fs.StringVar(&o.addr, "addr", "127.0.0.1:7080", "listen on `HOST:PORT` (port 0 picks a free port); the issuer URL is\nhttp://HOST:PORT/oidc")
	fs.StringVar(&o.clientsFile, "clients", "", "read the clients and their grants from JSON `FILE` (default: the\nbuilt-in clients below)")
	fs.StringVar(&o.alg, "alg", "ES384", "sign with `ALG`: ES384 (Logto's default), ES256, ES512 or RS256")
	fs.BoolVar(&o.public, "insecure-public", false, "allow a non-loopback --addr, and answer any Host header (by default\nonly the listen address and localhost:PORT, against DNS rebinding):\nanyone who can reach it can mint tokens")
	fs.StringVar(&o.publicURL, "public-url", "", "serve under `URL` (scheme://host[:port], no path) instead of\nhttp://HOST:PORT: the issuer is URL/oidc, for a port that Docker\npublishes under another number, or a tunnel; requests for URL's host\nare answered besides the local names")
	fs.BoolVar(&o.printDefaults, "print-default-clients", false, "print the built-in clients file and exit")
	return o
}

func devIssuerHelp(w io.Writer) {
	fmt.Fprint(w, `Usage: authz dev-issuer [--addr 127.0.0.1:7080] [--clients FILE] [--alg ES384]
                        [--public-url URL] [--insecure-public] [--print-default-clients]

Run a local issuer shaped like a Logto tenant, for development: it serves
discovery, the JWK Set and a token endpoint, and mints real signed tokens
that authz (and any RFC 9068 validator) accepts. Keys are generated at start
and live only in memory. It prints the issuer URL first ("issuer <URL>"),
then example curl commands, and serves until interrupted.

  GET  <issuer>/.well-known/openid-configuration
  GET  <issuer>/jwks
  POST <issuer>/token

The token endpoint takes grant_type=client_credentials, as Logto does, with
the client authenticated by HTTP Basic (curl -u id:secret) or by client_id
and client_secret in the form body:

  resource=<API>                       API resource token, "aud" = the API
  organization_id=<id>                 organization token,
                                       "aud" = urn:logto:organization:<id>
  resource=<API>&organization_id=<id>  organization-level API token,
                                       "aud" = the API, "organization_id" = <id>

A DPoP header with a proof (RFC 9449 section 5: "htm" POST, "htu" the token
endpoint) binds the token to the proof's key: "cnf.jkt" is its thumbprint,
and "token_type" is "DPoP".

scope=<space-separated permissions> asks for permissions; the token gets
those the client's grants allow for that API or organization, and the rest
are dropped (Logto does the same). No scope asked, none granted. Every token
is machine-to-machine ("sub" = "client_id" = the client) and lasts 1h.

Errors follow RFC 6749 section 5.2: invalid_client (401), invalid_request,
unsupported_grant_type, invalid_scope (a malformed scope), invalid_target (an
unknown or malformed resource, RFC 8707), and access_denied (403) for an
organization the client is not a member of, as Logto answers.

Flags:

`)
	printFlags(w, flagSetFor(devIssuerFlags))
	fmt.Fprintf(w, "\n%s\n\nThe built-in clients (--print-default-clients):\n\n%s", clientsFormat, indent(defaultClients, "  "))
	fmt.Fprint(w, `
Example:

  authz dev-issuer &
  TOKEN=$(curl -s -u m2m-app:m2m-secret -d grant_type=client_credentials \
      --data-urlencode resource=https://api.example.com --data-urlencode scope=read:documents \
      http://127.0.0.1:7080/oidc/token | jq -r .access_token)
  authz verify --issuer http://127.0.0.1:7080/oidc --audience https://api.example.com \
      --scope read:documents "$TOKEN"

Exit status: 0 after SIGINT or SIGTERM, 1 if it cannot serve, 2 usage error
(including a non-loopback --addr without --insecure-public).
`)
}

func indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if l != "" && l != "\n" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "")
}

func runDevIssuer(ctx context.Context, args []string, s streams) int {
	fs := newFlagSet("dev-issuer", s.stderr)
	o := devIssuerFlags(fs)
	pos, code, stop := parseFlags(fs, args, devIssuerHelp, s)
	if stop {
		return code
	}
	if len(pos) > 0 {
		return usageError(s, "dev-issuer", "unexpected argument %q", pos[0])
	}
	if o.printDefaults {
		fmt.Fprint(s.stdout, defaultClients)
		return exitOK
	}
	if !containsFold(devIssuerAlgorithms, o.alg) {
		return usageError(s, "dev-issuer", "--alg %q: choose one of %s", o.alg, strings.Join(devIssuerAlgorithms, ", "))
	}
	clients, err := loadClients(o.clientsFile)
	if err != nil {
		return usageError(s, "dev-issuer", "--clients: %v", err)
	}
	if msg := checkAddr(o.addr, o.public); msg != "" {
		return usageError(s, "dev-issuer", "%s", msg)
	}

	l, err := net.Listen("tcp", o.addr)
	if err != nil {
		fmt.Fprintf(s.stderr, "authz dev-issuer: %v\n", err)
		return exitFailure
	}
	if msg := checkBound(l.Addr(), o.addr, o.public); msg != "" {
		_ = l.Close()
		return usageError(s, "dev-issuer", "%s", msg)
	}
	opts := []authztest.Option{authztest.WithListener(l), authztest.WithAlgorithm(strings.ToUpper(o.alg))}
	if o.publicURL != "" {
		opts = append(opts, authztest.WithPublicURL(o.publicURL))
	}
	if !o.public {
		// Only the names the developer's own tools use: a DNS-rebound name
		// would make a web page same-origin with the issuer.
		_, port, _ := net.SplitHostPort(l.Addr().String())
		opts = append(opts, authztest.WithHosts(l.Addr().String(), net.JoinHostPort("localhost", port), net.JoinHostPort("127.0.0.1", port), net.JoinHostPort("::1", port)))
	}
	iss, err := authztest.NewIssuer(opts...)
	if err != nil { // NewIssuer closed l
		if o.publicURL != "" && strings.Contains(err.Error(), "WithPublicURL") {
			return usageError(s, "dev-issuer", "--public-url: %s", strings.TrimPrefix(err.Error(), "authztest: WithPublicURL: "))
		}
		fmt.Fprintf(s.stderr, "authz dev-issuer: %v\n", err)
		return exitFailure
	}
	defer iss.Close()
	iss.Handle("POST /token", &tokenEndpoint{
		issuer:  iss,
		clients: clients,
		log:     log.New(s.stderr, "dev-issuer: ", log.Ltime),
	})

	if o.public && !isLoopbackAddr(l.Addr()) {
		fmt.Fprintf(s.stderr, "WARNING: --insecure-public: anyone who can reach %s can get tokens with the client secrets above.\n"+
			"The issuer URL is plain http on a non-loopback host: an API needs authz.InsecureAllowHTTP() to trust it.\n", l.Addr())
	}
	printStart(s.stdout, iss, l.Addr(), clients, o)

	<-ctx.Done()
	fmt.Fprintln(s.stderr, "dev-issuer: stopping")
	return exitOK
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// checkAddr refuses, before listening, an address that would be reachable
// from other machines unless public is set, and an unspecified address
// (0.0.0.0, [::], ":7080") always: the issuer URL is built from the address,
// and every token's "iss" with it, so it must be one clients can use.
func checkAddr(addr string, public bool) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Sprintf("--addr %q is not HOST:PORT, e.g. 127.0.0.1:7080", addr)
	}
	ip := net.ParseIP(host)
	switch {
	case host == "" || (ip != nil && ip.IsUnspecified()):
		return fmt.Sprintf("--addr %q listens on every interface, which would make the issuer URL (the \"iss\" of every token) unusable; "+
			"give the address clients connect to, e.g. --addr 127.0.0.1:7080, or a LAN address with --insecure-public", addr)
	case strings.EqualFold(host, "localhost") || (ip != nil && ip.IsLoopback()):
		return ""
	case !public:
		return fmt.Sprintf("--addr %q is not a loopback address: anyone who can reach it could mint tokens that your API accepts. "+
			"Use 127.0.0.1 or localhost, or add --insecure-public to serve on it anyway", addr)
	}
	return ""
}

// checkBound checks the address actually bound (a host name may resolve to
// anything).
func checkBound(bound net.Addr, addr string, public bool) string {
	tcp, ok := bound.(*net.TCPAddr)
	switch {
	case !ok:
		return ""
	case tcp.IP.IsUnspecified():
		return fmt.Sprintf("--addr %q bound every interface (%s); give the address clients connect to", addr, bound)
	case !tcp.IP.IsLoopback() && !public:
		return fmt.Sprintf("--addr %q bound the non-loopback address %s; add --insecure-public to serve on it anyway", addr, bound)
	}
	return ""
}

func isLoopbackAddr(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// example is one token request printed at start.
type example struct {
	title        string
	client       *client
	resource     string
	organization string
	scopes       []string
}

// curl returns the curl command of the request.
func (e example) curl(tokenURL string) string {
	parts := []string{"curl", "-s", "-u", shellQuote(e.client.ID + ":" + e.client.Secret), "-d", "grant_type=client_credentials"}
	if e.resource != "" {
		parts = append(parts, "--data-urlencode", shellQuote("resource="+e.resource))
	}
	if e.organization != "" {
		parts = append(parts, "--data-urlencode", shellQuote("organization_id="+e.organization))
	}
	if len(e.scopes) > 0 {
		parts = append(parts, "--data-urlencode", shellQuote("scope="+strings.Join(e.scopes, " ")))
	}
	return strings.Join(append(parts, shellQuote(tokenURL)), " ")
}

// audience is the audience of the token the request gets.
func (e example) audience() string {
	if e.resource != "" {
		return e.resource
	}
	return organizationPrefix + e.organization
}

// examples picks one request of each kind the clients allow: the first
// client (in file order) with such a grant, its first API or organization
// (by name), and every permission of that grant.
func examples(r *registry) []example {
	var api, org, orgAPI *example
	for _, c := range r.clients {
		if api == nil && len(c.Resources) > 0 {
			res := sortedKeys(c.Resources)[0]
			api = &example{title: "an API resource token", client: c, resource: res, scopes: c.Resources[res]}
		}
		for _, id := range sortedKeys(c.Organizations) {
			ref := c.Organizations[id]
			if org == nil {
				org = &example{title: "an organization token", client: c, organization: id, scopes: ref.Scopes}
			}
			if orgAPI == nil && len(ref.Resources) > 0 {
				res := sortedKeys(ref.Resources)[0]
				orgAPI = &example{title: "an organization-level API token", client: c, resource: res, organization: id, scopes: ref.Resources[res]}
			}
		}
	}
	var out []example
	for _, e := range []*example{api, org, orgAPI} {
		if e != nil {
			out = append(out, *e)
		}
	}
	return out
}

// printStart prints the issuer URL on the first line, then the endpoints,
// the clients and ready-to-paste commands.
func printStart(w io.Writer, iss *authztest.Issuer, bound net.Addr, r *registry, o *devIssuerOptions) {
	tokenURL := iss.URL() + "/token"
	fmt.Fprintf(w, "issuer %s\n\n", iss.URL())
	if o.publicURL != "" {
		fmt.Fprintf(w, "  listening  http://%s  (the issuer URL is --public-url's)\n", bound)
	}
	fmt.Fprintf(w, "  discovery  %s/.well-known/openid-configuration\n", iss.URL())
	fmt.Fprintf(w, "  jwks       %s\n", iss.JWKSURL())
	fmt.Fprintf(w, "  token      %s  (POST grant_type=client_credentials)\n", tokenURL)
	fmt.Fprintf(w, "  signing    %s, kid %s\n\n", strings.ToUpper(o.alg), iss.KeyID())

	source := "built-in default clients; --clients FILE for your own, --print-default-clients for the format"
	if o.clientsFile != "" {
		source = "clients from " + o.clientsFile
	}
	fmt.Fprintf(w, "Clients (%s):\n\n", source)
	for _, c := range r.clients {
		fmt.Fprintf(w, "  %s  secret %s\n", c.ID, c.Secret)
		for _, res := range sortedKeys(c.Resources) {
			fmt.Fprintf(w, "    %-44s %s\n", res, orNone(strings.Join(c.Resources[res], " "), "(no permissions)"))
		}
		for _, id := range sortedKeys(c.Organizations) {
			ref := c.Organizations[id]
			fmt.Fprintf(w, "    %-44s %s\n", "organization "+id, orNone(strings.Join(ref.Scopes, " "), "(no permissions)"))
			for _, res := range sortedKeys(ref.Resources) {
				fmt.Fprintf(w, "    %-44s %s\n", "organization "+id+", "+res, orNone(strings.Join(ref.Resources[res], " "), "(no permissions)"))
			}
		}
	}

	ex := examples(r)
	for _, e := range ex {
		fmt.Fprintf(w, "\nGet %s:\n\n  %s\n", e.title, e.curl(tokenURL))
	}
	if len(ex) > 0 {
		e := ex[0]
		fmt.Fprintf(w, "\nThen call your API with it (needs jq; put your API's URL in place of localhost:8080), and check it:\n\n")
		fmt.Fprintf(w, "  TOKEN=$(%s | jq -r .access_token)\n", e.curl(tokenURL))
		fmt.Fprintf(w, "  curl -i -H \"Authorization: Bearer $TOKEN\" http://localhost:8080/\n")
		verify := []string{"authz", "verify", "--issuer", shellQuote(iss.URL()), "--audience", shellQuote(e.audience())}
		if e.organization != "" {
			verify = append(verify, "--organization", shellQuote(e.organization))
		}
		if len(e.scopes) > 0 {
			verify = append(verify, "--scope", shellQuote(strings.Join(e.scopes, " ")))
		}
		fmt.Fprintf(w, "  %s \"$TOKEN\"\n", strings.Join(verify, " "))
		fmt.Fprintf(w, "\nYour API trusts this issuer with:\n\n  authz.New(%q, []string{%q})\n", iss.URL(), e.audience())
	}
	fmt.Fprintf(w, "\nServing until interrupted (Ctrl-C).\n")
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	safeChars := s != ""
	for i := 0; i < len(s) && safeChars; i++ {
		c := s[i]
		safeChars = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.,:/=@%+~", c) >= 0
	}
	if safeChars {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
