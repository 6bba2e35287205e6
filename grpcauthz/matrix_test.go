package grpcauthz_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/grpcauthz"
	"github.com/seed31d61d31/authz/internal/routematrix"
)

// sentinels are the authz sentinel errors by Go name.
var sentinels = func() map[string]error {
	m := map[string]error{}
	for _, err := range []error{authz.ErrExpired, authz.ErrAudience, authz.ErrOrganization, authz.ErrInsufficientScope} {
		m[authz.OutcomeOf(err).Name] = err
	}
	return m
}()

// TestRouteMatrix is the HTTP middleware's route matrix through gRPC
// (bufconn): every kind of method rule, with every kind of token, on one
// validator that accepts API and organization tokens.
func TestRouteMatrix(t *testing.T) {
	iss := newIssuer(t)
	v := newValidator(t, iss, api, authz.AnyOrganization)
	perm := []string{routematrix.Permission}
	const key = "x-organization-id"
	rules := []grpcauthz.Rule{
		{AllOf: perm},
		{AnyOf: []string{routematrix.Permission, routematrix.Other}},
		{Token: authz.APIToken, OrganizationKey: key, AllOf: perm},
		{Token: authz.APIToken, OrganizationFromToken: true, AllOf: perm},
		{Token: authz.OrganizationToken, OrganizationKey: key, AllOf: perm},
		{Token: authz.OrganizationToken, OrganizationFromToken: true, AllOf: perm},
	}
	m := must(t)
	for i, route := range routematrix.Routes {
		client := newClient(t, v, grpcauthz.Methods{check: rules[i]})
		for _, tok := range routematrix.Tokens {
			t.Run(route.Name+", "+tok.Name, func(t *testing.T) {
				md := bearer(m(routematrix.Mint(iss, api, tok)))
				if route.Binding == routematrix.FromRequest {
					md = append(md, key, routematrix.Org)
				}
				o := route.Want(tok)
				r := row{md: md, code: map[int]codes.Code{
					http.StatusOK: codes.OK, http.StatusUnauthorized: codes.Unauthenticated, http.StatusForbidden: codes.PermissionDenied,
				}[o.Status]}
				if o.Status == http.StatusOK {
					r.sub, r.org = "test-user", tok.OrgID
					if tok.Machine {
						r.sub = "sync-app"
					}
				} else {
					require.Contains(t, sentinels, o.Sentinel)
					r.msg = sentinels[o.Sentinel].Error() + ": " + o.Reason
				}
				got := callCheck(t, client, r.md...)
				assertResult(t, r, got)
				if o.Status != http.StatusOK {
					assert.Equal(t, r.msg, got.status.Message(), "the exact message")
				}
			})
		}
	}
}

// TestOneInterceptorForAPIAndOrganizations: one interceptor, so one
// validator, for API methods and organization methods; an organization
// token whose permission has an API permission's name does not pass the
// API method, and an organization method must say which kind it takes.
func TestOneInterceptorForAPIAndOrganizations(t *testing.T) {
	iss := newIssuer(t)
	v := newValidator(t, iss, api, authz.AnyOrganization)
	client := newClient(t, v, grpcauthz.Methods{
		check: {AllOf: []string{"read:notes"}},
		watch: {Token: authz.OrganizationToken, OrganizationFromToken: true, AllOf: []string{"read:notes"}},
	})
	m := must(t)
	orgTok := bearer(m(iss.OrganizationToken("org-a", authztest.Scopes("read:notes"))))
	assertResult(t, row{code: codes.Unauthenticated, msg: "token is an organization token, not an access token for this API"}, callCheck(t, client, orgTok...))
	assertResult(t, row{code: codes.OK, sub: "test-user", org: "org-a"}, callWatch(t, client, orgTok...))

	_, err := grpcauthz.New(v, grpcauthz.Methods{check: {OrganizationKey: "x-organization-id"}}, quiet)
	assert.ErrorContains(t, err, `grpcauthz: method "/grpc.health.v1.Health/Check": authz: requirement: the validator accepts both API and organization tokens, so an operation inside an organization must say which it takes (set Requirement.Token)`)
}

// TestClaimsOfAnotherValidator: claims that another validator made (an
// earlier interceptor's) are not reused: the call's own token is validated.
func TestClaimsOfAnotherValidator(t *testing.T) {
	iss := newIssuer(t)
	orgV := newValidator(t, iss, authz.AnyOrganization)
	m := must(t)
	orgClaims, err := orgV.Validate(t.Context(), m(iss.OrganizationToken("org-a", authztest.Scopes("delete:notes"))))
	require.NoError(t, err)
	a, err := grpcauthz.New(newValidator(t, iss), grpcauthz.Methods{check: {AllOf: []string{"delete:notes"}}}, quiet)
	require.NoError(t, err)
	withOrgClaims := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		return h(authz.NewContext(ctx, orgClaims), req)
	}
	client := serve(t, a, withOrgClaims)
	assertResult(t, row{code: codes.Unauthenticated, msg: "missing token"}, callCheck(t, client))
	apiTok := bearer(m(iss.APIToken(api, authztest.Subject("bob"), authztest.Scopes("delete:notes"))))
	assertResult(t, row{code: codes.OK, sub: "bob"}, callCheck(t, client, apiTok...))
}

// startedKey carries the stage of Observer.Start in the context it returns.
type startedKey struct{}

// TestWithObserver: every authorization decision reaches the observer,
// with the method key as its route, after its Start.
func TestWithObserver(t *testing.T) {
	iss := newIssuer(t)
	var mu sync.Mutex
	var got []authz.Decision
	var unpaired int
	o := authz.Observer{
		Start: func(ctx context.Context, s authz.Stage) context.Context {
			return context.WithValue(ctx, startedKey{}, s)
		},
		Decision: func(ctx context.Context, d authz.Decision) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, d)
			if ctx.Value(startedKey{}) != d.Stage {
				unpaired++
			}
		},
	}
	a, err := grpcauthz.New(newValidator(t, iss), grpcauthz.Methods{check: {AllOf: []string{"read:health"}}}, quiet, grpcauthz.WithObserver(o))
	require.NoError(t, err)
	client := serve(t, a)
	m := must(t)
	callCheck(t, client, bearer(m(iss.APIToken(api, authztest.Scopes("read:health"))))...)
	callCheck(t, client, bearer(m(iss.APIToken(api)))...)
	callWatch(t, client, bearer(m(iss.APIToken(api)))...)
	callCheck(t, client) // no token: no authorization decision

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 3)
	assert.Zero(t, unpaired, "each Decision gets the context of its own Start")
	for _, d := range got {
		assert.Equal(t, authz.StageAuthorize, d.Stage)
		assert.Equal(t, iss.URL(), d.Issuer)
		assert.Equal(t, []string{api}, d.Audience)
	}
	assert.Equal(t, check, got[0].Route)
	assert.Equal(t, "ok", got[0].Reason())
	assert.Equal(t, "insufficient_scope", got[1].Reason())
	assert.True(t, errors.Is(got[1].Err, authz.ErrInsufficientScope))
	assert.Equal(t, "", got[2].Route, "an unlisted method matches no key")
	assert.Equal(t, "insufficient_scope", got[2].Reason())
}
