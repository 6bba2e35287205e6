package grpcauthz_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health/grpc_health_v1"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/grpcauthz"
)

// row is one call and what it must end with.
type row struct {
	name string
	md   []string // metadata pairs
	code codes.Code
	msg  string // in the status message
	sub  string // the subject the handler saw, for OK
	org  string // the organization the handler saw, for OK
}

// assertResult checks a call's result against r, and that no token of r's
// metadata appears in the status message.
func assertResult(t *testing.T, r row, got result) {
	t.Helper()
	assert.Equal(t, r.code, got.status.Code(), "message: %s", got.status.Message())
	assert.Contains(t, got.status.Message(), r.msg)
	if r.code == codes.OK {
		assert.Equal(t, r.sub, got.subject, "the handler sees the claims")
		assert.Equal(t, r.org, got.org)
	} else {
		assert.Empty(t, got.subject, "the handler is not called")
		assert.True(t, strings.HasPrefix(got.status.Message(), "authz: "), got.status.Message())
	}
	for i := 1; i < len(r.md); i += 2 {
		for _, part := range strings.Fields(r.md[i]) {
			if len(part) > 20 {
				assert.NotContains(t, got.status.Message(), part, "the token is never in a message")
			}
		}
	}
}

func TestUnary(t *testing.T) {
	iss := newIssuer(t)
	other := newIssuer(t)
	client := newClient(t, newValidator(t, iss), grpcauthz.Methods{
		check: {AllOf: []string{"read:health"}},
	})
	tok := must(t)(iss.APIToken(api, authztest.Scopes("read:health")))

	rows := []row{
		{name: "no token", code: codes.Unauthenticated, msg: "authz: missing token: the call has no bearer token"},
		{name: "another scheme", md: []string{"authorization", "Basic dXNlcjpwYXNz"}, code: codes.Unauthenticated, msg: "missing token"},
		{name: "not a JWT", md: bearer("not-a-jwt"), code: codes.Unauthenticated, msg: "authz: malformed token: token is not a JWT"},
		{name: "bad signature", md: bearer(must(t)(iss.APIToken(api, authztest.Scopes("read:health"), authztest.SignedByUnknownKey(), authztest.KeyID(iss.KeyID())))),
			code: codes.Unauthenticated, msg: "authz: invalid signature"},
		{name: "expired", md: bearer(must(t)(iss.APIToken(api, authztest.Scopes("read:health"), authztest.Expired()))), code: codes.Unauthenticated, msg: "authz: token expired"},
		{name: "wrong audience", md: bearer(must(t)(iss.APIToken("https://other.example.com", authztest.Scopes("read:health")))), code: codes.Unauthenticated, msg: "authz: wrong audience"},
		{name: "organization token", md: bearer(must(t)(iss.OrganizationToken("org-a", authztest.Scopes("read:health")))), code: codes.Unauthenticated, msg: "organization token"},
		{name: "another issuer", md: bearer(must(t)(other.APIToken(api, authztest.Scopes("read:health")))), code: codes.Unauthenticated, msg: "authz: untrusted issuer"},
		{name: "ID token", md: bearer(must(t)(iss.APIToken(api, authztest.Scopes("read:health"), authztest.TokenType("JWT")))), code: codes.Unauthenticated, msg: "authz: not an access token"},
		{name: "missing permission", md: bearer(must(t)(iss.APIToken(api, authztest.Scopes("write:health")))), code: codes.PermissionDenied, msg: "authz: insufficient scope: missing permission read:health"},
		{name: "no scope at all", md: bearer(must(t)(iss.APIToken(api))), code: codes.PermissionDenied, msg: "missing permission read:health"},
		{name: "valid", md: bearer(tok), code: codes.OK, sub: "test-user"},
		{name: "scheme in lower case", md: []string{"authorization", "bearer " + tok}, code: codes.OK, sub: "test-user"},
		{name: "scheme in upper case, several spaces", md: []string{"authorization", "BEARER   " + tok}, code: codes.OK, sub: "test-user"},
		{name: "machine to machine", md: bearer(must(t)(iss.MachineToken(api, "app-1", authztest.Scopes("read:health")))), code: codes.OK, sub: "app-1"},
		{name: "authorization twice", md: append(bearer(tok), bearer(tok)...), code: codes.InvalidArgument, msg: "authz: invalid request: the metadata authorization is given more than once"},
		{name: "Bearer without a token", md: []string{"authorization", "Bearer"}, code: codes.InvalidArgument, msg: "no token"},
		{name: "two tokens in one value", md: []string{"authorization", "Bearer " + tok + ", Bearer " + tok}, code: codes.InvalidArgument, msg: "exactly one bearer token"},
		{name: "space inside the token", md: []string{"authorization", "Bearer " + tok[:10] + " " + tok[10:]}, code: codes.InvalidArgument, msg: "exactly one bearer token"},
		{name: "empty value", md: []string{"authorization", ""}, code: codes.InvalidArgument, msg: "authorization is empty"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			assertResult(t, r, callCheck(t, client, r.md...))
		})
	}
}

func TestAnyOf(t *testing.T) {
	iss := newIssuer(t)
	client := newClient(t, newValidator(t, iss), grpcauthz.Methods{
		check: {AnyOf: []string{"read:health", "admin:health"}},
	})
	withScopes := func(scopes ...string) []string {
		return bearer(must(t)(iss.APIToken(api, authztest.Scopes(scopes...))))
	}
	rows := []row{
		{name: "the first", md: withScopes("read:health"), code: codes.OK, sub: "test-user"},
		{name: "the second", md: withScopes("admin:health"), code: codes.OK, sub: "test-user"},
		{name: "both", md: withScopes("admin:health", "read:health"), code: codes.OK, sub: "test-user"},
		{name: "neither", md: withScopes("write:health"), code: codes.PermissionDenied, msg: "needs one of the permissions read:health admin:health"},
		{name: "no token", code: codes.Unauthenticated, msg: "missing token"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			assertResult(t, r, callCheck(t, client, r.md...))
		})
	}
}

func TestAllOfAndAnyOf(t *testing.T) {
	iss := newIssuer(t)
	client := newClient(t, newValidator(t, iss), grpcauthz.Methods{
		check: {AllOf: []string{"read:health"}, AnyOf: []string{"ops", "admin"}},
	})
	withScopes := func(scopes ...string) []string {
		return bearer(must(t)(iss.APIToken(api, authztest.Scopes(scopes...))))
	}
	rows := []row{
		{name: "both hold", md: withScopes("read:health", "admin"), code: codes.OK, sub: "test-user"},
		{name: "all of fails", md: withScopes("admin", "ops"), code: codes.PermissionDenied, msg: "missing permission read:health"},
		{name: "any of fails", md: withScopes("read:health"), code: codes.PermissionDenied, msg: "needs one of the permissions ops admin"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			assertResult(t, r, callCheck(t, client, r.md...))
		})
	}
}

func TestOrganization(t *testing.T) {
	iss := newIssuer(t)
	// One validator for API tokens and organization tokens: each method
	// says which kind it takes, and either is checked against the
	// organization the call names.
	client := newClient(t, newValidator(t, iss, api, authz.AnyOrganization), grpcauthz.Methods{
		// Metadata keys are case-insensitive.
		check: {Token: authz.OrganizationToken, OrganizationKey: "X-Organization-Id", AllOf: []string{"read:health"}},
		watch: {Token: authz.APIToken, OrganizationKey: "x-organization-id", AllOf: []string{"read:health"}},
	})
	orgA := bearer(must(t)(iss.OrganizationToken("org-a", authztest.Scopes("read:health"))))
	orgAPI := bearer(must(t)(iss.OrganizationAPIToken(api, "org-a", authztest.Scopes("read:health"))))
	// A Logto API token requested without an organization carries the
	// scopes of all the user's organizations.
	noOrg := bearer(must(t)(iss.APIToken(api, authztest.Scopes("read:health"))))
	inOrg := func(md []string, org ...string) []string {
		md = append([]string(nil), md...)
		for _, o := range org {
			md = append(md, "x-organization-id", o)
		}
		return md
	}
	orgTokenMethod := []row{
		{name: "organization token, same organization", md: inOrg(orgA, "org-a"), code: codes.OK, sub: "test-user", org: "org-a"},
		{name: "organization token, other organization", md: inOrg(orgA, "org-b"), code: codes.PermissionDenied, msg: "authz: wrong organization: token is for another organization"},
		{name: "organization token, no organization in the call", md: orgA, code: codes.PermissionDenied, msg: "authz: wrong organization: the request names no organization"},
		{name: "organization token, empty organization in the call", md: inOrg(orgA, ""), code: codes.PermissionDenied, msg: "the request names no organization"},
		{name: "organization-level API token", md: inOrg(orgAPI, "org-a"), code: codes.Unauthenticated, msg: "authz: wrong audience: token is an access token for an API resource, not an organization token"},
		{name: "same organization, missing permission", md: inOrg(bearer(must(t)(iss.OrganizationToken("org-a"))), "org-a"), code: codes.PermissionDenied, msg: "missing permission read:health"},
		{name: "organization given twice", md: inOrg(orgA, "org-a", "org-a"), code: codes.InvalidArgument, msg: "x-organization-id is given more than once"},
		{name: "no token", md: inOrg(nil, "org-a"), code: codes.Unauthenticated, msg: "missing token"},
	}
	for _, r := range orgTokenMethod {
		t.Run("organization tokens: "+r.name, func(t *testing.T) {
			assertResult(t, r, callCheck(t, client, r.md...))
		})
	}
	apiTokenMethod := []row{
		{name: "organization-level API token, same organization", md: inOrg(orgAPI, "org-a"), code: codes.OK, sub: "test-user", org: "org-a"},
		{name: "organization-level API token, other organization", md: inOrg(orgAPI, "org-b"), code: codes.PermissionDenied, msg: "another organization"},
		{name: "token for no organization", md: inOrg(noOrg, "org-a"), code: codes.PermissionDenied, msg: "token is not for any organization"},
		{name: "organization token with a permission of the same name", md: inOrg(orgA, "org-a"), code: codes.Unauthenticated, msg: "authz: wrong audience: token is an organization token, not an access token for this API"},
	}
	for _, r := range apiTokenMethod {
		t.Run("API tokens: "+r.name, func(t *testing.T) {
			assertResult(t, r, callWatch(t, client, r.md...))
		})
	}
}

func TestPublicMethod(t *testing.T) {
	iss := newIssuer(t)
	client := newClient(t, newValidator(t, iss), grpcauthz.Methods{
		check: {Public: true},
		watch: {},
	})
	tok := must(t)(iss.APIToken(api))
	rows := []row{
		{name: "no token", code: codes.OK, sub: "anonymous"},
		// A public method does not look at the metadata at all.
		{name: "invalid token", md: bearer("not-a-jwt"), code: codes.OK, sub: "anonymous"},
		{name: "valid token", md: bearer(tok), code: codes.OK, sub: "anonymous"},
		{name: "malformed metadata", md: append(bearer(tok), bearer(tok)...), code: codes.OK, sub: "anonymous"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			assertResult(t, r, callCheck(t, client, r.md...))
		})
	}
	t.Run("the other method still needs a token", func(t *testing.T) {
		assertResult(t, row{code: codes.Unauthenticated, msg: "missing token"}, callWatch(t, client))
	})
}

func TestUnlistedMethod(t *testing.T) {
	iss := newIssuer(t)
	client := newClient(t, newValidator(t, iss), grpcauthz.Methods{watch: {}})
	tok := must(t)(iss.APIToken(api, authztest.Scopes("read:health", "admin")))
	rows := []row{
		{name: "no token", code: codes.Unauthenticated, msg: "missing token"},
		{name: "invalid token", md: bearer("not-a-jwt"), code: codes.Unauthenticated, msg: "malformed token"},
		{name: "valid token", md: bearer(tok), code: codes.PermissionDenied, msg: "authz: insufficient scope: no rule lists this method"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			assertResult(t, r, callCheck(t, client, r.md...))
		})
	}
	t.Run("listed method", func(t *testing.T) {
		assertResult(t, row{code: codes.OK, sub: "test-user"}, callWatch(t, client, bearer(tok)...))
	})
}

func TestServiceRule(t *testing.T) {
	iss := newIssuer(t)
	client := newClient(t, newValidator(t, iss), grpcauthz.Methods{
		"/grpc.health.v1.Health/*": {Public: true},
		watch:                      {AllOf: []string{"watch:health"}}, // its own rule wins
	})
	assertResult(t, row{code: codes.OK, sub: "anonymous"}, callCheck(t, client))
	assertResult(t, row{code: codes.Unauthenticated, msg: "missing token"}, callWatch(t, client))
	tok := must(t)(iss.APIToken(api, authztest.Scopes("watch:health")))
	assertResult(t, row{code: codes.OK, sub: "test-user"}, callWatch(t, client, bearer(tok)...))
}

func TestStream(t *testing.T) {
	iss := newIssuer(t)
	client := newClient(t, newValidator(t, iss, api, authz.AnyOrganization), grpcauthz.Methods{
		watch: {Token: authz.OrganizationToken, OrganizationKey: "x-organization-id", AnyOf: []string{"watch:health", "admin"}},
	})
	orgA := func(scopes ...string) []string {
		return bearer(must(t)(iss.OrganizationToken("org-a", authztest.Scopes(scopes...))))
	}
	rows := []row{
		{name: "no token", md: []string{"x-organization-id", "org-a"}, code: codes.Unauthenticated, msg: "missing token"},
		{name: "bad token", md: append(bearer("a.b.c"), "x-organization-id", "org-a"), code: codes.Unauthenticated, msg: "malformed token"},
		{name: "expired", md: append(bearer(must(t)(iss.OrganizationToken("org-a", authztest.Scopes("admin"), authztest.Expired()))), "x-organization-id", "org-a"),
			code: codes.Unauthenticated, msg: "token expired"},
		{name: "missing permission", md: append(orgA("read:health"), "x-organization-id", "org-a"), code: codes.PermissionDenied, msg: "needs one of the permissions watch:health admin"},
		{name: "other organization", md: append(orgA("admin"), "x-organization-id", "org-b"), code: codes.PermissionDenied, msg: "another organization"},
		{name: "no organization", md: orgA("admin"), code: codes.PermissionDenied, msg: "names no organization"},
		{name: "malformed", md: append(append(orgA("admin"), "x-organization-id", "org-a"), "authorization", "Bearer"), code: codes.InvalidArgument, msg: "more than once"},
		{name: "valid", md: append(orgA("admin"), "x-organization-id", "org-a"), code: codes.OK, sub: "test-user", org: "org-a"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			assertResult(t, r, callWatch(t, client, r.md...))
		})
	}
}

func TestKeysUnavailable(t *testing.T) {
	iss := newIssuer(t)
	tok := must(t)(iss.APIToken(api, authztest.Scopes("read:health")))
	iss.SetUnavailable(true)
	client := newClient(t, newValidator(t, iss), grpcauthz.Methods{check: {}, watch: {}})
	want := row{code: codes.Unavailable, msg: "authz: signing keys unavailable"}
	assertResult(t, want, callCheck(t, client, bearer(tok)...))
	assertResult(t, want, callWatch(t, client, bearer(tok)...))
}

// Claims put in the context by an earlier interceptor are used as they are.
func TestClaimsAlreadyInContext(t *testing.T) {
	iss := newIssuer(t)
	v := newValidator(t, iss)
	claims, err := v.Validate(t.Context(), must(t)(iss.MachineToken(api, "app-1", authztest.Scopes("read:health"))))
	require.NoError(t, err)
	a, err := grpcauthz.New(v, grpcauthz.Methods{check: {AllOf: []string{"read:health"}}, list: {AllOf: []string{"admin"}}}, quiet)
	require.NoError(t, err)
	outer := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		return handler(authz.NewContext(ctx, claims), req)
	}
	client := serve(t, a, outer)
	assertResult(t, row{code: codes.OK, sub: "app-1"}, callCheck(t, client))
}

func TestRefusalsAreLoggedWithoutTheToken(t *testing.T) {
	iss := newIssuer(t)
	var buf bytes.Buffer
	var quiet bytes.Buffer // at slog's default level, Info: routine refusals log nothing
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := grpcauthz.New(newValidator(t, iss), grpcauthz.Methods{check: {AllOf: []string{"read:health"}}}, grpcauthz.WithLogger(log))
	require.NoError(t, err)
	b, err := grpcauthz.New(newValidator(t, iss), grpcauthz.Methods{check: {AllOf: []string{"read:health"}}}, grpcauthz.WithLogger(slog.New(slog.NewTextHandler(&quiet, nil))))
	require.NoError(t, err)
	client := serve(t, a)
	quietClient := serve(t, b)

	weak := must(t)(iss.APIToken(api, authztest.Subject("user-7"), authztest.Scopes("write:health")))
	expired := must(t)(iss.APIToken(api, authztest.Expired()))
	for _, c := range []grpc_health_v1.HealthClient{client, quietClient} {
		assertResult(t, row{code: codes.PermissionDenied}, callCheck(t, c, bearer(weak)...))
		assertResult(t, row{code: codes.Unauthenticated}, callCheck(t, c, bearer(expired)...))
	}
	assert.Empty(t, quiet.String(), "refusals are logged at Debug")
	assert.Contains(t, buf.String(), "level=DEBUG")

	out := buf.String()
	assert.Contains(t, out, "code=PermissionDenied")
	assert.Contains(t, out, `reason="authz: insufficient scope"`)
	assert.Contains(t, out, "method="+check)
	assert.Contains(t, out, "sub=user-7")
	assert.Contains(t, out, "missing=[read:health]")
	assert.Contains(t, out, "code=Unauthenticated")
	for _, tok := range []string{weak, expired} {
		for part := range strings.SplitSeq(tok, ".") {
			assert.NotContains(t, out, part)
		}
	}
}
