package middleware_test

import (
	"log/slog"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/middleware"
)

func TestNew(t *testing.T) {
	e := newEnv(t, false)
	handler := func(http.ResponseWriter, *http.Request, error) {}
	tests := []struct {
		name    string
		v       *authz.Validator
		opts    []middleware.Option
		wantErr string
	}{
		{name: "no options", v: e.apiV},
		{name: "every option", v: e.apiV, opts: []middleware.Option{
			middleware.WithRealm("docs"), middleware.WithErrorHandler(handler), middleware.WithLogger(slog.Default()),
			middleware.AllowQueryToken(), middleware.AllowFormToken(),
		}},
		{name: "empty realm", v: e.apiV, opts: []middleware.Option{middleware.WithRealm("")}},
		{name: "nil validator", v: nil, wantErr: "middleware: nil *authz.Validator"},
		{name: "nil option", v: e.apiV, opts: []middleware.Option{nil}, wantErr: "middleware: nil Option"},
		{name: "nil error handler", v: e.apiV, opts: []middleware.Option{middleware.WithErrorHandler(nil)}, wantErr: "middleware: WithErrorHandler(nil)"},
		{name: "nil logger", v: e.apiV, opts: []middleware.Option{middleware.WithLogger(nil)}, wantErr: "middleware: WithLogger(nil)"},
		{name: "realm with a quote", v: e.apiV, opts: []middleware.Option{middleware.WithRealm(`a"b`)}, wantErr: `middleware: realm "a\"b" has a character outside printable ASCII, or '"' or '\'`},
		{name: "realm with a backslash", v: e.apiV, opts: []middleware.Option{middleware.WithRealm(`a\b`)}, wantErr: `middleware: realm "a\\b" has a character outside printable ASCII, or '"' or '\'`},
		{name: "realm with non-ASCII", v: e.apiV, opts: []middleware.Option{middleware.WithRealm("café")}, wantErr: `middleware: realm "café" has a character outside printable ASCII, or '"' or '\'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := middleware.New(tt.v, tt.opts...)
			if tt.wantErr != "" {
				assert.EqualError(t, err, tt.wantErr)
				assert.Nil(t, m)
				return
			}
			require.NoError(t, err)
			assert.NotNil(t, m)
		})
	}
}

// TestConstructorsPanicOnBadArguments: arguments are checked once, when the
// middleware is built, never per request.
func TestConstructorsPanicOnBadArguments(t *testing.T) {
	e := newEnv(t, false)
	mw := e.middleware(t, e.apiV)
	orgs := e.middleware(t, e.orgV)
	both := e.middleware(t, e.validator(t, api, authz.AnyOrganization))
	tests := []struct {
		name  string
		build func()
		want  string
	}{
		{name: "Require with an empty permission", build: func() { mw.Require("read", "") }, want: `middleware: Require: authz: requirement: AllOf[1] is an empty permission`},
		{name: "Require with a space", build: func() { mw.Require("read write") }, want: `middleware: Require: authz: requirement: AllOf[0] "read write" has whitespace: a permission is a single scope token`},
		{name: "Require with a control character", build: func() { mw.Require("read\x7f") }, want: `middleware: Require: authz: requirement: AllOf[0] "read\x7f" has a control character`},
		{name: "RequireAny with none", build: func() { mw.RequireAny() }, want: "middleware: RequireAny needs at least one permission"},
		{name: "RequireAny with invalid UTF-8", build: func() { mw.RequireAny("lire:caf\xe9") }, want: `middleware: RequireAny: authz: requirement: AnyOf[0] "lire:caf\xe9" is not valid UTF-8`},
		{name: "Require with a validator of organizations", build: func() { orgs.Require("read") }, want: `middleware: Require: authz: requirement: API tokens are required, but the validator accepts no API audience (give New the API's resource indicator)`},
		{name: "organization route of a validator of both kinds", build: func() { both.RequireOrganizationFromPath("org", "read") }, want: `middleware: RequireOrganizationFromPath: authz: requirement: the validator accepts both API and organization tokens, so an operation inside an organization must say which it takes (set Requirement.Token); say it with mw.Accept(authz.APIToken) or mw.Accept(authz.OrganizationToken), or a policy rule's Token`},
		{name: "organization-token route of a validator of APIs", build: func() { mw.Accept(authz.OrganizationToken).RequireOrganizationFromToken() }, want: `middleware: RequireOrganizationFromToken: authz: requirement: organization tokens are required, but the validator accepts no organization (give New OrganizationAudience(id) or AnyOrganization)`},
		{name: "Accept of no kind", build: func() { mw.Accept(0) }, want: `middleware: Accept(unset): want authz.APIToken or authz.OrganizationToken`},
		{name: "Enforce an organization rule of a validator of both kinds", build: func() {
			both.Enforce(mustPolicy(t, authz.Rule{Pattern: "GET /orgs/{org}", Organization: &authz.OrgSource{PathValue: "org"}}))
		}, want: `middleware: Enforce: rule 0 ("GET /orgs/{org}"): authz: requirement: the validator accepts both API and organization tokens, so an operation inside an organization must say which it takes (set Requirement.Token); say it with mw.Accept(authz.APIToken) or mw.Accept(authz.OrganizationToken), or a policy rule's Token`},
		{name: "Enforce a global rule of a validator of organizations", build: func() {
			orgs.Enforce(mustPolicy(t, authz.Rule{Pattern: "GET /me"}))
		}, want: `middleware: Enforce: rule 0 ("GET /me"): authz: requirement: API tokens are required, but the validator accepts no API audience (give New the API's resource indicator)`},
		{name: "organization from an empty path value", build: func() { mw.RequireOrganizationFromPath("") }, want: "middleware: RequireOrganizationFromPath: empty path value name"},
		{name: "organization from an invalid header", build: func() { mw.RequireOrganizationFromHeader("X Org") }, want: `middleware: RequireOrganizationFromHeader: "X Org" is not a valid header name`},
		{name: "organization from an empty header", build: func() { mw.RequireOrganizationFromHeader("") }, want: `middleware: RequireOrganizationFromHeader: "" is not a valid header name`},
		{name: "Enforce a nil policy", build: func() { mw.Enforce(nil) }, want: "middleware: Enforce(nil *authz.Policy)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.PanicsWithValue(t, tt.want, tt.build)
		})
	}
}
