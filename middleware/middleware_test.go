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
	tests := []struct {
		name  string
		build func()
		want  string
	}{
		{name: "Require with an empty permission", build: func() { mw.Require("read", "") }, want: `middleware: Require: permission "" is not a valid scope token (RFC 6749 section 3.3)`},
		{name: "Require with a space", build: func() { mw.Require("read write") }, want: `middleware: Require: permission "read write" is not a valid scope token (RFC 6749 section 3.3)`},
		{name: "Require with a quote", build: func() { mw.Require(`read"`) }, want: `middleware: Require: permission "read\"" is not a valid scope token (RFC 6749 section 3.3)`},
		{name: "RequireAny with none", build: func() { mw.RequireAny() }, want: "middleware: RequireAny needs at least one permission"},
		{name: "RequireAny with non-ASCII", build: func() { mw.RequireAny("lire:café") }, want: `middleware: RequireAny: permission "lire:café" is not a valid scope token (RFC 6749 section 3.3)`},
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
