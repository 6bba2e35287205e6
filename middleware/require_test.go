package middleware_test

import (
	"net/http"
	"testing"

	"github.com/seed31d61d31/authz/authztest"
)

func TestRequire(t *testing.T) {
	e := newEnv(t, false)
	m := must(t)
	mw := e.middleware(t, e.apiV)
	none := serve(t, mw.Require()(echo))
	three := serve(t, mw.Require("a:read", "b:read", "c:read")(echo))
	anyOf := serve(t, mw.RequireAny("a:read", "b:read")(echo))
	tests := []struct {
		name   string
		server string
		scopes []string
		want   want
	}{
		{name: "no permissions: any valid token", server: "none", want: allowed("test-user", "")},
		{name: "all of: every one granted", server: "three", scopes: []string{"c:read", "a:read", "b:read", "x"}, want: allowed("test-user", "")},
		{name: "all of: scope lists every required permission, description the missing ones", server: "three", scopes: []string{"b:read"}, want: forbidden("missing permission a:read c:read", "a:read b:read c:read")},
		{name: "all of: empty scope", server: "three", scopes: []string{}, want: forbidden("missing permission a:read b:read c:read", "a:read b:read c:read")},
		{name: "any of: first", server: "any", scopes: []string{"a:read"}, want: allowed("test-user", "")},
		{name: "any of: second", server: "any", scopes: []string{"b:read"}, want: allowed("test-user", "")},
		{name: "any of: both", server: "any", scopes: []string{"b:read", "a:read"}, want: allowed("test-user", "")},
		{name: "any of: none", server: "any", scopes: []string{"c:read"}, want: forbidden("needs one of the permissions a:read b:read", "a:read b:read")},
		{name: "permissions compare exactly", server: "any", scopes: []string{"A:read", "a:read:all"}, want: forbidden("needs one of the permissions a:read b:read", "a:read b:read")},
	}
	servers := map[string]string{"none": none.URL, "three": three.URL, "any": anyOf.URL}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []authztest.TokenOption
			if tt.scopes != nil {
				opts = append(opts, authztest.Scopes(tt.scopes...))
			}
			req, err := http.NewRequest("GET", servers[tt.server], nil)
			if err != nil {
				t.Fatal(err)
			}
			bearer(m(e.iss.APIToken(api, opts...)))(req.Header)
			check(t, none, req, tt.want)
		})
	}
}
