package grpcauthz_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/grpcauthz"
)

func TestNewRejectsBadConfiguration(t *testing.T) {
	iss := newIssuer(t)
	v := newValidator(t, iss)
	ok := grpcauthz.Methods{check: {}}
	tests := []struct {
		name    string
		v       *authz.Validator
		methods grpcauthz.Methods
		opts    []grpcauthz.Option
		want    string
	}{
		{name: "nil validator", methods: ok, want: "grpcauthz: nil *authz.Validator"},
		{name: "nil methods", v: v, want: "grpcauthz: no methods: every call would be refused"},
		{name: "empty methods", v: v, methods: grpcauthz.Methods{}, want: "no methods"},
		{name: "nil option", v: v, methods: ok, opts: []grpcauthz.Option{nil}, want: "grpcauthz: nil Option"},
		{name: "nil logger", v: v, methods: ok, opts: []grpcauthz.Option{grpcauthz.WithLogger(nil)}, want: "grpcauthz: WithLogger(nil)"},
		{name: "no leading slash", v: v, methods: grpcauthz.Methods{"grpc.health.v1.Health/Check": {}}, want: `grpcauthz: method "grpc.health.v1.Health/Check": does not start with '/'`},
		{name: "no method", v: v, methods: grpcauthz.Methods{"/grpc.health.v1.Health": {}}, want: "names no service or no method"},
		{name: "empty method", v: v, methods: grpcauthz.Methods{"/grpc.health.v1.Health/": {}}, want: "names no service or no method"},
		{name: "no service", v: v, methods: grpcauthz.Methods{"//Check": {}}, want: "names no service or no method"},
		{name: "three parts", v: v, methods: grpcauthz.Methods{"/a/b/c": {}}, want: "has more than two parts"},
		{name: "catch-all", v: v, methods: grpcauthz.Methods{"/*": {}}, want: "names no service or no method"},
		{name: "wildcard service", v: v, methods: grpcauthz.Methods{"/*/Check": {}}, want: `"*" in the service name`},
		{name: "partial wildcard", v: v, methods: grpcauthz.Methods{"/a.B/Get*": {}}, want: `"*" in the method name`},
		{name: "whitespace", v: v, methods: grpcauthz.Methods{"/a.B/Get ": {}}, want: "whitespace"},
		{name: "public with a permission", v: v, methods: grpcauthz.Methods{check: {Public: true, AllOf: []string{"read"}}},
			want: `grpcauthz: method "/grpc.health.v1.Health/Check": a public rule needs no token, yet it also requires something`},
		{name: "public with an organization", v: v, methods: grpcauthz.Methods{check: {Public: true, OrganizationKey: "x-org"}}, want: "also requires something"},
		{name: "empty permission", v: v, methods: grpcauthz.Methods{check: {AllOf: []string{""}}}, want: "AllOf[0] is an empty permission"},
		{name: "permission with a space", v: v, methods: grpcauthz.Methods{check: {AnyOf: []string{"read", "read write"}}}, want: `AnyOf[1] "read write" has whitespace`},
		{name: "organization key with a space", v: v, methods: grpcauthz.Methods{check: {OrganizationKey: "x org"}}, want: `organization key "x org" is not a valid metadata key`},
		{name: "reserved organization key", v: v, methods: grpcauthz.Methods{check: {OrganizationKey: "grpc-org"}}, want: "is reserved"},
		{name: "binary organization key", v: v, methods: grpcauthz.Methods{check: {OrganizationKey: "x-org-bin"}}, want: "is a binary key"},
		{name: "organization key is the token's", v: v, methods: grpcauthz.Methods{check: {OrganizationKey: "Authorization"}}, want: "is the key of the token"},
		{name: "first bad key in sorted order", v: v, methods: grpcauthz.Methods{"b": {}, "a": {}}, want: `method "a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				a   *grpcauthz.Interceptor
				err error
			)
			require.NotPanics(t, func() { a, err = grpcauthz.New(tt.v, tt.methods, tt.opts...) })
			require.Error(t, err)
			assert.Nil(t, a)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// New copies the map: changing it afterwards changes nothing.
func TestNewCopiesMethods(t *testing.T) {
	iss := newIssuer(t)
	methods := grpcauthz.Methods{check: {AllOf: []string{"read:health"}}}
	a, err := grpcauthz.New(newValidator(t, iss), methods, quiet)
	require.NoError(t, err)
	methods[check].AllOf[0] = "nothing"
	methods[watch] = grpcauthz.Rule{Public: true}
	client := serve(t, a)

	tok := must(t)(iss.APIToken(api, authztest.Scopes("nothing")))
	assertResult(t, row{code: codes.PermissionDenied, msg: "missing permission read:health"}, callCheck(t, client, bearer(tok)...))
	assertResult(t, row{code: codes.Unauthenticated, msg: "missing token"}, callWatch(t, client))
}

func TestRuleString(t *testing.T) {
	tests := []struct {
		rule grpcauthz.Rule
		want string
	}{
		{rule: grpcauthz.Rule{}, want: "any valid token"},
		{rule: grpcauthz.Rule{Public: true}, want: "public"},
		{rule: grpcauthz.Rule{AllOf: []string{"a", "b"}, AnyOf: []string{"c", "d"}}, want: "all of a, b; any of c, d"},
		{rule: grpcauthz.Rule{OrganizationKey: "x-organization-id", AllOf: []string{"read:members"}}, want: `organization from metadata "x-organization-id"; all of read:members`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.rule.String())
		})
	}
}

func TestError(t *testing.T) {
	tests := []struct {
		name string
		err  error
		code codes.Code
		msg  string
	}{
		{name: "missing token", err: authz.ErrMissingToken, code: codes.Internal, msg: "internal error"}, // a bare sentinel is not an *authz.Error
		{name: "no claims", err: authz.Check(t.Context(), "read"), code: codes.Unauthenticated, msg: "authz: missing token: no claims in the context"},
		{name: "expired", err: &authz.Error{Kind: authz.ErrExpired, Reason: "expired 5m0s ago"}, code: codes.Unauthenticated, msg: "authz: token expired: expired 5m0s ago"},
		{name: "insufficient scope", err: (&authz.Claims{}).Check("write:documents"), code: codes.PermissionDenied, msg: "authz: insufficient scope: missing permission write:documents"},
		{name: "organization", err: (&authz.Claims{}).CheckOrganization("org-a"), code: codes.PermissionDenied, msg: "authz: wrong organization: token is not for any organization"},
		{name: "invalid request", err: &authz.Error{Kind: authz.ErrInvalidRequest, Reason: "two tokens"}, code: codes.InvalidArgument, msg: "authz: invalid request: two tokens"},
		{name: "keys unavailable", err: &authz.Error{Kind: authz.ErrKeysUnavailable}, code: codes.Unavailable, msg: "authz: signing keys unavailable"},
		{name: "wrapped", err: fmt.Errorf("loading: %w", &authz.Error{Kind: authz.ErrOrganization, Reason: "r"}), code: codes.PermissionDenied, msg: "authz: wrong organization: r"},
		{name: "no kind", err: &authz.Error{}, code: codes.Internal, msg: "authz: call refused"},
		{name: "another error", err: errors.New("database password is hunter2"), code: codes.Internal, msg: "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, ok := status.FromError(grpcauthz.Error(tt.err))
			require.True(t, ok)
			assert.Equal(t, tt.code, st.Code())
			assert.Equal(t, tt.msg, st.Message())
		})
	}
	assert.NoError(t, grpcauthz.Error(nil))
}
