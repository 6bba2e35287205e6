package authz_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/internal/routematrix"
)

// TestRouteMatrix is the middleware's route matrix through the Check
// functions on a context, as business logic calls them behind
// Authenticate: every kind of requirement, with every kind of token, on one
// validator that accepts API and organization tokens.
func TestRouteMatrix(t *testing.T) {
	f := newFixture(t, []string{api, authz.AnyOrganization}, nil)
	perm, other, org := routematrix.Permission, routematrix.Other, routematrix.Org
	checks := []func(ctx context.Context) error{
		func(ctx context.Context) error { return authz.Check(ctx, perm) },
		func(ctx context.Context) error { return authz.CheckAny(ctx, perm, other) },
		func(ctx context.Context) error {
			return authz.Authorize(ctx, authz.Requirement{Token: authz.APIToken, AllOf: []string{perm}, Organization: authz.OrganizationFromRequest}, org)
		},
		func(ctx context.Context) error {
			return authz.Authorize(ctx, authz.Requirement{Token: authz.APIToken, AllOf: []string{perm}, Organization: authz.OrganizationFromToken}, "")
		},
		func(ctx context.Context) error {
			return authz.Authorize(ctx, authz.Requirement{Token: authz.OrganizationToken, AllOf: []string{perm}, Organization: authz.OrganizationFromRequest}, org)
		},
		func(ctx context.Context) error {
			return authz.Authorize(ctx, authz.Requirement{Token: authz.OrganizationToken, AllOf: []string{perm}, Organization: authz.OrganizationFromToken}, "")
		},
	}
	m := must(t)
	for i, route := range routematrix.Routes {
		for _, tok := range routematrix.Tokens {
			t.Run(route.Name+", "+tok.Name, func(t *testing.T) {
				want := route.Want(tok)
				claims, err := f.v.Validate(context.Background(), m(routematrix.Mint(f.iss, api, tok)))
				if err == nil {
					err = checks[i](authz.NewContext(context.Background(), claims))
				}
				if want.Status == http.StatusOK {
					assert.NoError(t, err)
					return
				}
				var e *authz.Error
				require.True(t, errors.As(err, &e), "%v", err)
				assert.Equal(t, want.Sentinel, authz.OutcomeOf(err).Name, "%v", err)
				assert.Equal(t, want.Status, authz.OutcomeOf(err).HTTPStatus)
				assert.Equal(t, want.Reason, e.Reason)
			})
		}
	}
}

// TestOutcomeTable: every sentinel has one row, with a distinct name and
// code, and errors are classified by their kind.
func TestOutcomeTable(t *testing.T) {
	all := []error{
		authz.ErrMissingToken, authz.ErrInvalidRequest, authz.ErrMalformed, authz.ErrAlgorithm, authz.ErrTokenType,
		authz.ErrUnknownKey, authz.ErrSignature, authz.ErrIssuer, authz.ErrAudience, authz.ErrExpired,
		authz.ErrNotYetValid, authz.ErrInsufficientScope, authz.ErrOrganization, authz.ErrKeysUnavailable,
	}
	names, codes := map[string]bool{}, map[string]bool{}
	for _, s := range all {
		o := authz.OutcomeOf(s)
		assert.Equal(t, s, o.Kind)
		assert.NotEmpty(t, o.Name)
		assert.False(t, names[o.Name] || codes[o.Code], "%s", o.Name)
		names[o.Name], codes[o.Code] = true, true
		assert.Equal(t, o, authz.OutcomeOf(&authz.Error{Kind: s, Reason: "x"}), "an *Error is its Kind's")
	}
	for _, tt := range []struct {
		err               error
		name, code, oauth string
		status            int
		grpc              uint32
	}{
		{err: authz.ErrMissingToken, name: "ErrMissingToken", code: "missing_token", oauth: "unauthorized", status: 401, grpc: 16},
		{err: authz.ErrInvalidRequest, name: "ErrInvalidRequest", code: "invalid_request", oauth: "invalid_request", status: 400, grpc: 3},
		{err: authz.ErrExpired, name: "ErrExpired", code: "expired", oauth: "invalid_token", status: 401, grpc: 16},
		{err: authz.ErrAudience, name: "ErrAudience", code: "audience", oauth: "invalid_token", status: 401, grpc: 16},
		{err: authz.ErrInsufficientScope, name: "ErrInsufficientScope", code: "insufficient_scope", oauth: "insufficient_scope", status: 403, grpc: 7},
		{err: authz.ErrOrganization, name: "ErrOrganization", code: "organization", oauth: "insufficient_scope", status: 403, grpc: 7},
		{err: authz.ErrKeysUnavailable, name: "ErrKeysUnavailable", code: "keys_unavailable", oauth: "temporarily_unavailable", status: 503, grpc: 14},
		{err: nil, code: "ok", status: 200, grpc: 0},
		{err: errors.New("database down"), code: "error", status: 500, grpc: 13},
		{err: &authz.Error{}, code: "error", status: 500, grpc: 13},
		{err: errors.Join(errors.New("x"), authz.ErrExpired), name: "ErrExpired", code: "expired", oauth: "invalid_token", status: 401, grpc: 16},
	} {
		o := authz.OutcomeOf(tt.err)
		assert.Equal(t, tt.name, o.Name, "%v", tt.err)
		assert.Equal(t, tt.code, o.Code, "%v", tt.err)
		assert.Equal(t, tt.oauth, o.ErrorCode, "%v", tt.err)
		assert.Equal(t, tt.status, o.HTTPStatus, "%v", tt.err)
		assert.Equal(t, tt.grpc, o.GRPCCode, "%v", tt.err)
	}
}

// TestResolve: a requirement is checked against the validator once, and
// the kind of an organization requirement is the validator's own unless it
// accepts both.
func TestResolve(t *testing.T) {
	apiV := newFixture(t, []string{api}, nil).v
	orgV := newFixture(t, []string{authz.AnyOrganization}, nil).v
	both := newFixture(t, []string{api, authz.OrganizationAudience("org-a")}, nil).v
	inOrg := authz.Requirement{Organization: authz.OrganizationFromRequest, AllOf: []string{"read"}}
	for _, tt := range []struct {
		name string
		v    *authz.Validator
		req  authz.Requirement
		kind authz.TokenKind
		err  string
	}{
		{name: "global", v: apiV, req: authz.Requirement{}, kind: authz.APIToken},
		{name: "global on organizations", v: orgV, req: authz.Requirement{}, err: "accepts no API audience"},
		{name: "organization on APIs", v: apiV, req: inOrg, kind: authz.APIToken},
		{name: "organization on organizations", v: orgV, req: inOrg, kind: authz.OrganizationToken},
		{name: "organization on both", v: both, req: inOrg, err: "must say which it takes"},
		{name: "organization token outside organizations", v: both, req: authz.Requirement{Token: authz.OrganizationToken}, err: "always bound to its organization"},
		{name: "organization tokens on APIs", v: apiV, req: authz.Requirement{Token: authz.OrganizationToken, Organization: authz.OrganizationFromToken}, err: "accepts no organization"},
		{name: "bad kind", v: apiV, req: authz.Requirement{Token: 9}, err: "invalid token kind 9"},
		{name: "bad binding", v: apiV, req: authz.Requirement{Organization: 9}, err: "invalid organization binding 9"},
		{name: "bad permission", v: apiV, req: authz.Requirement{AnyOf: []string{"a", "b c"}}, err: `AnyOf[1] "b c" has whitespace`},
		{name: "non-ASCII permission", v: apiV, req: authz.Requirement{AllOf: []string{"lire:données"}}, kind: authz.APIToken},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.v.Resolve(tt.req)
			if tt.err != "" {
				assert.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.kind, got.Token)
			assert.Equal(t, tt.req.AllOf, got.AllOf)
			assert.Equal(t, tt.req.Organization, got.Organization)
		})
	}
	req := authz.Requirement{AllOf: []string{"a"}}
	got, err := apiV.Resolve(req)
	require.NoError(t, err)
	got.AllOf[0] = "changed"
	assert.Equal(t, "a", req.AllOf[0], "Resolve copies the lists")
}

// TestMixedAudience: a token for an API and an organization at once is
// refused, so that the kind of every token is plain.
func TestMixedAudience(t *testing.T) {
	f := newFixture(t, []string{api, authz.AnyOrganization}, nil)
	apiOnly := newFixture(t, []string{api}, nil)
	for _, fx := range []*fixture{f, apiOnly} {
		tok := must(t)(fx.iss.APIToken(api, authztest.Audiences(api, "urn:logto:organization:org-a")))
		_, err := fx.v.Validate(context.Background(), tok)
		assert.ErrorIs(t, err, authz.ErrAudience)
		assert.ErrorContains(t, err, "a token is for one or the other")
	}
}

// TestTokenKindText: the JSON form of a token kind.
func TestTokenKindText(t *testing.T) {
	for k, text := range map[authz.TokenKind]string{authz.APIToken: "api", authz.OrganizationToken: "organization", 0: ""} {
		b, err := k.MarshalText()
		require.NoError(t, err)
		assert.Equal(t, text, string(b))
		var back authz.TokenKind
		require.NoError(t, back.UnmarshalText(b))
		assert.Equal(t, k, back)
	}
	var k authz.TokenKind
	assert.Error(t, k.UnmarshalText([]byte("API")))
	_, err := authz.TokenKind(7).MarshalText()
	assert.Error(t, err)
}

// TestAsError: a transport gets this package's errors as they are, and a
// foreign error as a refusal of the fallback kind that does not show its
// text.
func TestAsError(t *testing.T) {
	assert.Nil(t, authz.AsError(nil, authz.ErrMalformed))
	e := &authz.Error{Kind: authz.ErrExpired, Reason: "expired 1s ago"}
	assert.Same(t, e, authz.AsError(e, authz.ErrMalformed))
	assert.Same(t, e, authz.AsError(fmt.Errorf("wrapped: %w", e), authz.ErrMalformed))
	got := authz.AsError(errors.New("password=hunter2"), authz.ErrInsufficientScope)
	assert.ErrorIs(t, got, authz.ErrInsufficientScope)
	assert.NotContains(t, got.Error(), "hunter2")
}
