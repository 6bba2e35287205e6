package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/seed31d61d31/authz"
)

// defaultKeyWait bounds the wait for the issuer's keys.
const defaultKeyWait = 10 * time.Second

func verifyFlags(fs *flag.FlagSet) *verifyOptions {
	o := &verifyOptions{}
	fs.StringVar(&o.issuer, "issuer", "", "trust tokens whose \"iss\" is `URL` (required); for Logto,\nhttps://<tenant>.logto.app/oidc")
	fs.Var(&o.audiences, "audience", "accept tokens for audience `AUD` (required; repeat for more): the API's\nresource indicator, urn:logto:organization:<id> for one organization's\ntokens, or 'urn:logto:organization:*' for any organization's")
	fs.StringVar(&o.organization, "organization", "", "require a token for organization `ID`: an organization token, or an\nAPI token with \"organization_id\"; a token for no organization is\nrejected whatever its scopes")
	fs.Var(&o.scopes, "scope", "require permission `S`; repeat, or separate with spaces, for more\n(all are required)")
	fs.StringVar(&o.jwksURL, "jwks", "", "fetch keys from JWK Set `URL` instead of finding it through\n<issuer>/.well-known/openid-configuration")
	fs.DurationVar(&o.wait, "timeout", defaultKeyWait, "wait up to `DURATION` for the issuer's keys to load")
	fs.BoolVar(&o.insecureHTTP, "insecure-allow-http", false, "allow an http:// issuer or JWK Set on a non-loopback host\n(loopback hosts are always allowed)")
	fs.BoolVar(&o.verbose, "v", false, "log key fetches to standard error")
	return o
}

type verifyOptions struct {
	issuer       string
	audiences    listFlag
	organization string
	scopes       listFlag
	jwksURL      string
	wait         time.Duration
	insecureHTTP bool
	verbose      bool
}

func verifyHelp(w io.Writer) {
	fmt.Fprint(w, `Usage: authz verify --issuer URL --audience AUD [--audience AUD2] [--organization ID]
                    [--scope S ...] [--jwks URL] TOKEN|-

Validate an access token as an API protected by authz does: its signature
against the issuer's live JWK Set, "typ" at+jwt (RFC 9068), "iss", "aud",
"exp", "nbf" and "iat"; then every --scope, and --organization. Print VALID
with the subject, kind, scopes, organization and expiry, or REJECTED with the
reason and the authz error (authz.ErrExpired, authz.ErrAudience, ...).

Keys load in the background; verify waits for them up to --timeout.

Flags:

`)
	printFlags(w, flagSetFor(verifyFlags))
	fmt.Fprint(w, `
Examples:

  authz verify --issuer https://tenant.logto.app/oidc --audience https://api.example.com \
      --scope read:documents "$TOKEN"
  authz verify --issuer http://127.0.0.1:7080/oidc --audience 'urn:logto:organization:*' \
      --organization org-a --scope read:members - < token.txt

Exit status: 0 valid, 1 rejected (or the keys could not be loaded), 2 usage error.
`)
}

// flagSetFor returns a flag set with a command's flags, for its help.
func flagSetFor[T any](define func(*flag.FlagSet) T) *flag.FlagSet {
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	define(fs)
	return fs
}

func runVerify(ctx context.Context, args []string, s streams) int {
	fs := newFlagSet("verify", s.stderr)
	o := verifyFlags(fs)
	pos, code, stop := parseFlags(fs, args, verifyHelp, s)
	if stop {
		return code
	}
	switch {
	case o.issuer == "":
		return usageError(s, "verify", "--issuer is required: the issuer URL, e.g. https://<tenant>.logto.app/oidc")
	case len(o.audiences) == 0:
		return usageError(s, "verify", "--audience is required: the API's resource indicator, or urn:logto:organization:<id>")
	case len(pos) != 1:
		return usageError(s, "verify", "want one TOKEN, or - to read it from standard input; got %d arguments", len(pos))
	case o.wait <= 0:
		return usageError(s, "verify", "--timeout must be positive")
	}
	var required []string
	for _, sc := range o.scopes {
		required = append(required, strings.Fields(sc)...)
	}
	raw, err := readToken(pos[0], s.stdin)
	if err != nil {
		return usageError(s, "verify", "%v", err)
	}

	logger := slog.New(slog.DiscardHandler)
	if o.verbose {
		logger = slog.New(slog.NewTextHandler(s.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	opts := []authz.Option{authz.WithLogger(logger)}
	if o.jwksURL != "" {
		opts = append(opts, authz.WithJWKSURL(o.issuer, o.jwksURL))
	}
	if o.insecureHTTP {
		opts = append(opts, authz.InsecureAllowHTTP())
	}
	v, err := authz.New(o.issuer, o.audiences, opts...)
	if err != nil {
		return usageError(s, "verify", "%v", err)
	}
	defer v.Close()

	claims, err := validate(ctx, v, raw, o.wait)
	if err == nil {
		err = requirement(claims, required, o.organization).Check(claims, o.organization)
	}
	if err != nil {
		printRejected(s.stdout, err, raw, claims, o)
		return exitFailure
	}
	printValid(s.stdout, claims, required, o.organization)
	return exitOK
}

// requirement is what verify checks on a valid token c: the scopes, inside
// the organization org when one is given. The CLI judges one token, not a
// route, so the token kind is the token's own, and without --organization
// a token bound to an organization is checked inside it.
func requirement(c *authz.Claims, scopes []string, org string) authz.Requirement {
	r := authz.Requirement{Token: authz.APIToken, AllOf: scopes}
	if c.IsOrganizationToken() {
		r.Token = authz.OrganizationToken
	}
	switch {
	case org != "":
		r.Organization = authz.OrganizationFromRequest
	case c.OrganizationID != "":
		r.Organization = authz.OrganizationFromToken
	}
	return r
}

// validate waits up to wait for the validator's keys, then validates raw.
func validate(ctx context.Context, v *authz.Validator, raw string, wait time.Duration) (*authz.Claims, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if err := v.Ready(ctx); err != nil {
		return nil, err
	}
	return v.Validate(ctx, raw)
}

// claimsKind is the kind of a validated token.
func claimsKind(c *authz.Claims) tokenKind {
	return tokenKind{
		organizationToken: c.IsOrganizationToken(),
		organizationLevel: !c.IsOrganizationToken() && c.OrganizationID != "",
		machine:           c.IsMachine(),
	}
}

func printValid(w io.Writer, c *authz.Claims, required []string, org string) {
	fmt.Fprintln(w, "VALID")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(label, value string) { fmt.Fprintf(tw, "  %s\t%s\n", label, value) }
	k := claimsKind(c)
	subject := safe(c.Subject)
	if k.machine {
		subject += " (an application: machine-to-machine)"
	} else if c.Subject != "" {
		subject += " (a user)"
	}
	row("subject", subject)
	row("kind", k.String())
	row("client", orNone(safe(c.ClientID), "(none)"))
	if c.Actor != "" {
		row("actor", safe(c.Actor))
	}
	row("scopes", orNone(safeList(c.Scopes), "(none)"))
	row("organization", orNone(safe(c.OrganizationID), "(none)"))
	row("audience", safeList(c.Audience))
	row("issuer", safe(c.Issuer))
	now := time.Now()
	row("expires", timestamp(c.ExpiresAt)+"  "+expiry(c.ExpiresAt, now))
	checked := `signature, "typ", "iss", "aud", "exp"`
	if len(required) > 0 {
		checked += "; scopes " + safeList(required)
	}
	if org != "" {
		checked += "; organization " + safe(org)
	}
	row("checked", checked)
	_ = tw.Flush()
}

func printRejected(w io.Writer, err error, raw string, c *authz.Claims, o *verifyOptions) {
	var ae *authz.Error
	if !errors.As(err, &ae) {
		fmt.Fprintf(w, "REJECTED: %s\n", safe(err.Error()))
		return
	}
	fmt.Fprintf(w, "REJECTED: %s\n", safe(strings.TrimPrefix(ae.Error(), "authz: ")))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(label, value string) { fmt.Fprintf(tw, "  %s\t%s\n", label, value) }
	row("error", sentinelName(ae.Kind))
	if len(ae.Missing) > 0 {
		row("missing", safeList(ae.Missing))
	}
	// What the token says, to compare with the flags. A token that failed
	// before its signature was checked is quoted from its unverified claims.
	d, _ := decodeJWT(raw)
	switch {
	case errors.Is(err, authz.ErrInsufficientScope) && c != nil:
		row("token scopes", orNone(safeList(c.Scopes), "(none)"))
	case errors.Is(err, authz.ErrOrganization) && c != nil:
		row("token organization", orNone(safe(c.OrganizationID), "(none)"))
		row("token kind", claimsKind(c).String())
	case errors.Is(err, authz.ErrAudience) && d != nil:
		auds, _ := audiences(d.claims)
		row("token audience", orNone(safeList(auds), "(none)")+"  (unverified)")
		row("accepted", safeList(o.audiences))
	case errors.Is(err, authz.ErrIssuer) && d != nil:
		row("token issuer", orNone(safe(str(d.claims, "iss")), "(none)")+"  (unverified)")
		row("trusted", safe(o.issuer))
	case errors.Is(err, authz.ErrExpired) && d != nil:
		if exp, ok, e := numericDate(d.claims, "exp"); ok && e == nil {
			row("expired at", timestamp(exp))
		}
	case errors.Is(err, authz.ErrKeysUnavailable):
		for _, cause := range ae.Unwrap() {
			if cause != ae.Kind {
				row("cause", safe(cause.Error()))
			}
		}
		hint := " (--jwks to name the JWK Set URL)"
		if o.jwksURL != "" {
			hint = ""
		}
		row("waited", o.wait.String()+fmt.Sprintf(" for the keys of %s; is the issuer up?%s", safe(o.issuer), hint))
	}
	_ = tw.Flush()
}

// sentinelName is the Go name of the authz sentinel kind, from authz's
// outcome table.
func sentinelName(kind error) string {
	if o := authz.OutcomeOf(kind); o.Name != "" {
		return "authz." + o.Name
	}
	return kind.Error()
}
