package main

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/internal/permission"
)

// tokenLifetime is the lifetime of every token the dev issuer mints:
// Logto's default, and the fixed lifetime of its organization tokens.
const tokenLifetime = time.Hour

// maxTokenRequest caps the body of a token request.
const maxTokenRequest = 64 << 10

// tokenEndpoint serves the OAuth 2.0 token endpoint of the dev issuer for
// the client credentials grant (RFC 6749 section 4.4), as Logto does:
//
//   - resource alone: an API resource token with the client's permissions
//     for that API;
//   - organization_id alone: an organization token with the client's
//     organization permissions in that organization;
//   - resource and organization_id: an organization-level API token with
//     the API permissions of the client's roles in that organization.
//
// Every token is machine-to-machine: "sub" and "client_id" are the client.
// Requested scopes the client is not granted are dropped, not refused, as
// Logto does; no scope requested means none granted.
type tokenEndpoint struct {
	issuer  *authztest.Issuer
	clients *registry
	log     *log.Logger
}

// oauthError is an error response (RFC 6749 section 5.2).
type oauthError struct {
	status      int
	code        string
	description string
	basic       bool // the client tried HTTP Basic: answer with a Basic challenge
}

func (e *oauthError) Error() string { return e.code + ": " + e.description }

func badRequest(code, format string, args ...any) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: code, description: fmt.Sprintf(format, args...)}
}

// tokenResponse is a successful response (RFC 6749 section 5.1).
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope,omitempty"`
}

// grantRequest is a token request that passed every check.
type grantRequest struct {
	client       *client
	resource     string
	organization string
	requested    []string
	// jkt is the thumbprint of the DPoP key the token is bound to, or "".
	jkt string
}

func (te *tokenEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	g, err := te.parse(w, r)
	var resp *tokenResponse
	if err == nil {
		resp, err = te.grant(g)
	}
	var oe *oauthError
	if err != nil && !errors.As(err, &oe) {
		oe = &oauthError{status: http.StatusInternalServerError, code: "server_error", description: err.Error()}
	}
	who := "-"
	if g != nil {
		who = g.client.ID
	}
	if oe != nil {
		te.log.Printf("token request from %s: %d %s: %s", who, oe.status, oe.code, oe.description)
		if oe.basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="authz dev-issuer", charset="UTF-8"`)
		}
		writeJSON(w, oe.status, map[string]string{"error": oe.code, "error_description": oe.description})
		return
	}
	te.log.Printf("token request from %s: 200 %s", who, describeGrant(g, resp.Scope))
	writeJSON(w, http.StatusOK, resp)
}

func describeGrant(g *grantRequest, granted string) string {
	var b strings.Builder
	switch {
	case g.resource != "" && g.organization != "":
		fmt.Fprintf(&b, "organization-level API token for %s in organization %s", g.resource, g.organization)
	case g.organization != "":
		fmt.Fprintf(&b, "organization token for organization %s", g.organization)
	default:
		fmt.Fprintf(&b, "API resource token for %s", g.resource)
	}
	fmt.Fprintf(&b, ", scope %q (requested %q)", granted, strings.Join(g.requested, " "))
	if g.jkt != "" {
		fmt.Fprintf(&b, ", bound to DPoP key %s", g.jkt)
	}
	return b.String()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false) // error descriptions say <indicator>, not \u003cindicator\u003e
	if err := enc.Encode(v); err != nil {
		http.Error(w, `{"error":"server_error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body.Bytes())
}

// parse checks the request, authenticates the client and reads the grant.
// Once the client is authenticated, the grant is returned even with an
// error, so the log can name the client.
func (te *tokenEndpoint) parse(w http.ResponseWriter, r *http.Request) (*grantRequest, error) {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/x-www-form-urlencoded" {
		return nil, badRequest("invalid_request", "the body must be application/x-www-form-urlencoded (RFC 6749 section 4.4.2)")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxTokenRequest)
	if err := r.ParseForm(); err != nil {
		return nil, badRequest("invalid_request", "the body is not a valid form, or is over %d bytes", maxTokenRequest)
	}
	form := r.PostForm
	for _, name := range []string{"grant_type", "scope", "organization_id", "client_id", "client_secret"} {
		if len(form[name]) > 1 {
			return nil, badRequest("invalid_request", "%s is given more than once (RFC 6749 section 3.2)", name)
		}
	}

	c, err := te.authenticate(r, form)
	if err != nil {
		return nil, err
	}

	g := &grantRequest{client: c}
	if err := g.read(form, te.clients); err != nil {
		return g, err
	}
	if g.jkt, err = te.dpopKey(r); err != nil {
		return g, err
	}
	return g, nil
}

// read reads the grant_type, scope, organization_id and resource
// parameters of an authenticated client's request.
func (g *grantRequest) read(form url.Values, clients *registry) error {
	c := g.client
	switch gt := form.Get("grant_type"); gt {
	case "":
		return badRequest("invalid_request", "grant_type is missing")
	case "client_credentials":
	default:
		return badRequest("unsupported_grant_type", "grant_type %s is not supported: the dev issuer serves client_credentials only", quoteValue(gt))
	}
	for _, s := range strings.Split(form.Get("scope"), " ") {
		switch {
		case s == "":
		case !permission.Valid(s):
			return badRequest("invalid_scope", "scope %s is malformed: scopes are separated by single spaces, with no other whitespace or control character", quoteValue(s))
		case !slices.Contains(g.requested, s):
			g.requested = append(g.requested, s)
		}
	}

	if org := form.Get("organization_id"); org != "" {
		if !validOrgID(org) {
			return badRequest("invalid_request", "organization_id %s is not a valid organization id", quoteValue(org))
		}
		if c.Organizations[org] == nil {
			// Logto answers this way for an app that is not a member.
			return &oauthError{status: http.StatusForbidden, code: "access_denied",
				description: fmt.Sprintf("app has not associated with the organization %s", quoteValue(org))}
		}
		g.organization = org
	}

	switch resources := form["resource"]; {
	case len(resources) > 1:
		return badRequest("invalid_target", "only a single resource indicator value is supported for this grant type")
	case len(resources) == 1 && resources[0] != "":
		res := resources[0]
		switch {
		case clients.resources[res]:
		case strings.HasPrefix(res, organizationPrefix):
			return badRequest("invalid_target", "resource %s is an organization audience: ask for an organization token with organization_id=<id> and no resource", quoteValue(res))
		case checkResource(res) != nil:
			return badRequest("invalid_target", "resource %s is not an absolute URI without a fragment (RFC 8707 section 2)", quoteValue(res))
		default:
			return badRequest("invalid_target", "resource %s is not a registered API resource", quoteValue(res))
		}
		g.resource = res
	case g.organization == "":
		return badRequest("invalid_target", "both resource and organization_id are missing: ask for an API with resource=<indicator>, an organization with organization_id=<id>, or both")
	}
	return nil
}

// authenticate checks the client's credentials: HTTP Basic
// (client_secret_basic) or client_id and client_secret in the body
// (client_secret_post), not both (RFC 6749 section 2.3.1).
func (te *tokenEndpoint) authenticate(r *http.Request, form url.Values) (*client, error) {
	var id, secret string
	header := r.Header.Get("Authorization")
	basic := header != ""
	if basic {
		user, pass, ok := r.BasicAuth()
		if !ok {
			return nil, &oauthError{status: http.StatusUnauthorized, code: "invalid_client", basic: true,
				description: "the Authorization header is not HTTP Basic client_id:client_secret"}
		}
		var errID, errSecret error
		id, errID = url.QueryUnescape(user)
		secret, errSecret = url.QueryUnescape(pass)
		switch {
		case errID != nil || errSecret != nil:
			return nil, badRequest("invalid_request", "the HTTP Basic credentials are not form-encoded (RFC 6749 section 2.3.1)")
		case form.Has("client_secret"):
			return nil, badRequest("invalid_request", "the client authenticates with HTTP Basic and with client_secret in the body; use one method (RFC 6749 section 2.3)")
		case form.Has("client_id") && form.Get("client_id") != id:
			return nil, badRequest("invalid_request", "client_id in the body is not the HTTP Basic client")
		}
	} else {
		id, secret = form.Get("client_id"), form.Get("client_secret")
		if id == "" {
			return nil, &oauthError{status: http.StatusUnauthorized, code: "invalid_client",
				description: "no client authentication: send HTTP Basic client_id:client_secret, or client_id and client_secret in the body"}
		}
	}
	c := te.clients.client(id)
	// Compare the secret even for an unknown client, so the answer takes as
	// long either way.
	want := "\x00no such client"
	if c != nil {
		want = c.Secret
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(want)) != 1 || c == nil {
		return nil, &oauthError{status: http.StatusUnauthorized, code: "invalid_client", basic: basic,
			description: "client authentication failed: unknown client_id or wrong client_secret"}
	}
	return c, nil
}

// grant mints the token for a checked request.
func (te *tokenEndpoint) grant(g *grantRequest) (*tokenResponse, error) {
	var allowed []string
	switch {
	case g.organization != "" && g.resource != "":
		allowed = g.client.Organizations[g.organization].Resources[g.resource]
	case g.organization != "":
		allowed = g.client.Organizations[g.organization].Scopes
	default:
		allowed = g.client.Resources[g.resource]
	}
	granted := intersect(allowed, g.requested)

	now := time.Now()
	opts := []authztest.TokenOption{
		authztest.Subject(g.client.ID),
		authztest.ClientID(g.client.ID),
		authztest.IssuedAt(now),
		authztest.ExpiresAt(now.Add(tokenLifetime)),
	}
	if len(granted) > 0 {
		opts = append(opts, authztest.Scopes(granted...))
	}
	tokenType := "Bearer"
	if g.jkt != "" {
		opts = append(opts, authztest.Claim("cnf", map[string]string{"jkt": g.jkt}))
		tokenType = "DPoP"
	}
	var token string
	var err error
	switch {
	case g.organization != "" && g.resource != "":
		token, err = te.issuer.OrganizationAPIToken(g.resource, g.organization, opts...)
	case g.organization != "":
		token, err = te.issuer.OrganizationToken(g.organization, opts...)
	default:
		token, err = te.issuer.MachineToken(g.resource, g.client.ID, opts...)
	}
	if err != nil {
		return nil, err
	}
	return &tokenResponse{
		AccessToken: token,
		TokenType:   tokenType,
		ExpiresIn:   int(tokenLifetime / time.Second),
		Scope:       strings.Join(granted, " "),
	}, nil
}

// quoteValue quotes a request value for an error description, shortened.
func quoteValue(s string) string {
	if len(s) > 100 {
		s = s[:100] + "..."
	}
	return fmt.Sprintf("%q", s)
}
