package authz_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz"
)

// policyDoc builds a policy document with one rule per line: rule i is on
// line i+2.
func policyDoc(rules ...string) string {
	return "{\"rules\": [\n" + strings.Join(rules, ",\n") + "\n]}"
}

func TestLoadPolicy(t *testing.T) {
	in := `{
  "rules": [
    {"route": "GET /orgs/{orgID}/documents", "organization": {"pathValue": "orgID"}, "allOf": ["read:documents"]},
    {
      "route": "POST /documents",
      "anyOf": ["write:documents", "admin"],
      "organization": {"header": "X-Organization-Id"}
    },
    {"route": "GET /me"},
    {"route": "/healthz", "public": true},
    {"route": "POST api.example.com/x", "allOf": ["a", "b"], "anyOf": ["c"], "public": false, "organization": null}
  ]
}
`
	p, err := authz.LoadPolicy(strings.NewReader(in))
	require.NoError(t, err)
	assert.Equal(t, []authz.Rule{
		{Pattern: "GET /orgs/{orgID}/documents", Organization: &authz.OrgSource{PathValue: "orgID"}, AllOf: []string{"read:documents"}},
		{Pattern: "POST /documents", AnyOf: []string{"write:documents", "admin"}, Organization: &authz.OrgSource{Header: "X-Organization-Id"}},
		{Pattern: "GET /me"},
		{Pattern: "/healthz", Public: true},
		{Pattern: "POST api.example.com/x", AllOf: []string{"a", "b"}, AnyOf: []string{"c"}},
	}, p.Rules())

	t.Run("round trip through encoding/json", func(t *testing.T) {
		out, err := json.Marshal(map[string]any{"rules": p.Rules()})
		require.NoError(t, err)
		again, err := authz.LoadPolicy(strings.NewReader(string(out)))
		require.NoError(t, err, "%s", out)
		assert.Equal(t, p.Rules(), again.Rules())
	})
}

func TestLoadPolicyErrors(t *testing.T) {
	const ok = `{"route": "GET /ok", "allOf": ["read"]}`
	tests := []struct {
		name      string
		in        string
		wantIndex int
		wantLine  int
		wantRoute string
		wantIn    string // a part of Reason
	}{
		{
			name:      "invalid pattern",
			in:        policyDoc(ok, `{"route": "GET /a/{x"}`),
			wantIndex: 1, wantLine: 3, wantRoute: "GET /a/{x",
			wantIn: "invalid route: at offset 7: bad wildcard segment",
		},
		{
			name:      "pattern without a path",
			in:        policyDoc(`{"route": "GET"}`),
			wantIndex: 0, wantLine: 2, wantRoute: "GET",
			wantIn: "invalid route",
		},
		{
			name:      "pattern with surrounding whitespace",
			in:        policyDoc(`{"route": "GET /a "}`),
			wantIndex: 0, wantLine: 2, wantRoute: "GET /a ",
			wantIn: "leading or trailing whitespace",
		},
		{
			name:      "pattern with two methods",
			in:        policyDoc(`{"route": "GET POST /a"}`),
			wantIndex: 0, wantLine: 2, wantRoute: "GET POST /a",
			wantIn: "has whitespace",
		},
		{
			name:      "empty pattern",
			in:        policyDoc(`{"route": ""}`),
			wantIndex: 0, wantLine: 2,
			wantIn: "empty route",
		},
		{
			name:      "duplicate pattern",
			in:        policyDoc(`{"route": "GET /a"}`, ok, `{"route": "GET /a", "allOf": ["x"]}`),
			wantIndex: 2, wantLine: 4, wantRoute: "GET /a",
			wantIn: `duplicate route: same as rule 0 ("GET /a") at line 2`,
		},
		{
			name:      "equivalent patterns",
			in:        policyDoc(`{"route": "/a/{x}"}`, `{"route": "/a/{y}"}`),
			wantIndex: 1, wantLine: 3, wantRoute: "/a/{y}",
			wantIn: `conflicts with rule 0 ("/a/{x}") at line 2: /a/{y} matches the same requests as /a/{x}`,
		},
		{
			name:      "conflicting patterns",
			in:        policyDoc(ok, `{"route": "GET /a/{x}"}`, `{"route": "GET /{y}/b"}`),
			wantIndex: 2, wantLine: 4, wantRoute: "GET /{y}/b",
			wantIn: `conflicts with rule 1 ("GET /a/{x}") at line 3: `,
		},
		{
			name:      "empty permission",
			in:        policyDoc(ok, `{"route": "GET /a", "allOf": ["read", ""]}`),
			wantIndex: 1, wantLine: 3, wantRoute: "GET /a",
			wantIn: "allOf[1] is an empty permission",
		},
		{
			name:      "permission with whitespace",
			in:        policyDoc(`{"route": "GET /a", "anyOf": ["read documents"]}`),
			wantIndex: 0, wantLine: 2, wantRoute: "GET /a",
			wantIn: `anyOf[0] "read documents" has whitespace`,
		},
		{
			name:      "permission with a tab",
			in:        policyDoc(`{"route": "GET /a", "allOf": ["read\t"]}`),
			wantIndex: 0, wantLine: 2, wantRoute: "GET /a",
			wantIn: `allOf[0] "read\t" has whitespace`,
		},
		{
			name:      "public with permissions",
			in:        policyDoc(`{"route": "/healthz", "public": true, "allOf": ["read"]}`),
			wantIndex: 0, wantLine: 2, wantRoute: "/healthz",
			wantIn: "a public rule needs no token, yet it also requires all-of permissions",
		},
		{
			name:      "public with any-of permissions",
			in:        policyDoc(`{"route": "/healthz", "public": true, "anyOf": ["read"]}`),
			wantIndex: 0, wantLine: 2, wantRoute: "/healthz",
			wantIn: "requires any-of permissions",
		},
		{
			name:      "public with an organization",
			in:        policyDoc(`{"route": "/orgs/{id}", "public": true, "organization": {"pathValue": "id"}}`),
			wantIndex: 0, wantLine: 2, wantRoute: "/orgs/{id}",
			wantIn: "requires an organization",
		},
		{
			name:      "organization from both a path value and a header",
			in:        policyDoc(`{"route": "/orgs/{id}", "organization": {"pathValue": "id", "header": "X-Org"}}`),
			wantIndex: 0, wantLine: 2, wantRoute: "/orgs/{id}",
			wantIn: "more than one of a path value, a header and the token",
		},
		{
			name:      "organization from nowhere",
			in:        policyDoc(`{"route": "/orgs/{id}", "organization": {}}`),
			wantIndex: 0, wantLine: 2, wantRoute: "/orgs/{id}",
			wantIn: "neither a path value, a header nor the token",
		},
		{
			name:      "unknown path value",
			in:        policyDoc(`{"route": "/orgs/{id}/docs/{doc...}", "organization": {"pathValue": "orgID"}}`),
			wantIndex: 0, wantLine: 2, wantRoute: "/orgs/{id}/docs/{doc...}",
			wantIn: `unknown path value "orgID": the route's wildcards are id, doc`,
		},
		{
			name:      "path value on a route without wildcards",
			in:        policyDoc(`{"route": "/orgs/{$}", "organization": {"pathValue": "$"}}`),
			wantIndex: 0, wantLine: 2, wantRoute: "/orgs/{$}",
			wantIn: `unknown path value "$": the route has no wildcards`,
		},
		{
			name:      "invalid header name",
			in:        policyDoc(`{"route": "/docs", "organization": {"header": "X Org"}}`),
			wantIndex: 0, wantLine: 2, wantRoute: "/docs",
			wantIn: `header "X Org" is not a valid header field name`,
		},
		{
			name:      "empty rules",
			in:        `{"rules": []}`,
			wantIndex: -1, wantLine: 1,
			wantIn: "no rules",
		},
		{
			name:      "null rules",
			in:        "\n{\"rules\": null}",
			wantIndex: -1, wantLine: 2,
			wantIn: "no rules",
		},
		{
			name:      "no rules field",
			in:        `{}`,
			wantIndex: -1, wantLine: 1,
			wantIn: "no rules",
		},
		{
			name:      "empty input",
			in:        " \n",
			wantIndex: -1,
			wantIn:    "empty input",
		},
		{
			name:      "not an object",
			in:        `[{"route": "/a"}]`,
			wantIndex: -1, wantLine: 1,
			wantIn: "not a JSON object",
		},
		{
			name:      "rules not an array",
			in:        `{"rules": {"route": "/a"}}`,
			wantIndex: -1, wantLine: 1,
			wantIn: `"rules" is not an array`,
		},
		{
			name:      "rule not an object",
			in:        policyDoc(ok, `"GET /a"`),
			wantIndex: 1, wantLine: 3,
			wantIn: "rule is not a JSON object",
		},
		{
			name:      "unknown top-level field",
			in:        "{\"rules\": [" + ok + "],\n \"version\": 1}",
			wantIndex: -1, wantLine: 2,
			wantIn: `unknown field "version"`,
		},
		{
			name:      "rules given twice",
			in:        "{\"rules\": [" + ok + "],\n \"rules\": []}",
			wantIndex: -1, wantLine: 2,
			wantIn: `field "rules" given twice`,
		},
		{
			name:      "unknown field in a rule, named before the route",
			in:        policyDoc(ok, `{"allof": ["read"], "route": "GET /a"}`),
			wantIndex: 1, wantLine: 3, wantRoute: "GET /a",
			wantIn: `unknown field "allof"`,
		},
		{
			name:      "field name in the wrong case",
			in:        policyDoc(`{"Route": "GET /a"}`),
			wantIndex: 0, wantLine: 2,
			wantIn: `unknown field "Route"`,
		},
		{
			name:      "unknown field in an organization",
			in:        policyDoc("{\"route\": \"/orgs/{id}\",\n \"organization\": {\"pathValue\": \"id\",\n \"from\": \"path\"}}"),
			wantIndex: 0, wantLine: 4, wantRoute: "/orgs/{id}",
			wantIn: `unknown field "from" in "organization"`,
		},
		{
			name:      "repeated field in a rule",
			in:        policyDoc(`{"route": "GET /a", "allOf": ["admin"], "allOf": []}`),
			wantIndex: 0, wantLine: 2, wantRoute: "GET /a",
			wantIn: `field "allOf" given twice`,
		},
		{
			name:      "repeated field in an organization",
			in:        policyDoc(`{"route": "/orgs/{a}/{b}", "organization": {"pathValue": "a", "pathValue": "b"}}`),
			wantIndex: 0, wantLine: 2, wantRoute: "/orgs/{a}/{b}",
			wantIn: `field "pathValue" given twice`,
		},
		{
			name:      "missing route",
			in:        policyDoc(ok, "{\n\"allOf\": [\"read\"]}"),
			wantIndex: 1, wantLine: 3,
			wantIn: `missing "route"`,
		},
		{
			name:      "null route",
			in:        policyDoc(`{"route": null}`),
			wantIndex: 0, wantLine: 2,
			wantIn: `"route" is null`,
		},
		{
			name:      "permissions not an array",
			in:        policyDoc(`{"route": "GET /a", "allOf": "read"}`),
			wantIndex: 0, wantLine: 2, wantRoute: "GET /a",
			wantIn: `field "allOf": want an array of strings`,
		},
		{
			name:      "public not a boolean",
			in:        policyDoc(`{"route": "GET /a", "public": "yes"}`),
			wantIndex: 0, wantLine: 2, wantRoute: "GET /a",
			wantIn: `field "public": want true or false`,
		},
		{
			name:      "organization not an object",
			in:        policyDoc(`{"route": "/orgs/{id}", "organization": "id"}`),
			wantIndex: 0, wantLine: 2, wantRoute: "/orgs/{id}",
			wantIn: `"organization" is not a JSON object`,
		},
		{
			name:      "trailing data",
			in:        policyDoc(ok) + "\n\n{}",
			wantIndex: -1, wantLine: 5,
			wantIn: "data after the policy object",
		},
		{
			name:      "trailing garbage",
			in:        policyDoc(ok) + " x",
			wantIndex: -1, wantLine: 3,
			wantIn: "data after the policy object",
		},
		{
			name:      "syntax error",
			in:        policyDoc(ok, `{"route": "GET /a",}`),
			wantIndex: -1, wantLine: 3,
			wantIn: "invalid JSON: invalid character '}'",
		},
		{
			name:      "truncated input",
			in:        "{\"rules\": [\n" + ok,
			wantIndex: -1, wantLine: 2,
			wantIn: "invalid JSON: unexpected end of input",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := authz.LoadPolicy(strings.NewReader(tt.in))
			require.Error(t, err)
			assert.Nil(t, p)
			var pe *authz.PolicyError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tt.wantIndex, pe.Index, "Index")
			assert.Equal(t, tt.wantLine, pe.Line, "Line")
			assert.Equal(t, tt.wantRoute, pe.Route, "Route")
			assert.Contains(t, pe.Reason, tt.wantIn)

			msg := err.Error()
			assert.True(t, strings.HasPrefix(msg, "authz: policy"), msg)
			assert.True(t, strings.HasSuffix(msg, ": "+pe.Reason), msg)
			if tt.wantIndex >= 0 {
				assert.Contains(t, msg, fmt.Sprintf("policy rule %d", tt.wantIndex))
			} else {
				assert.NotContains(t, msg, "policy rule")
			}
			if tt.wantLine > 0 {
				assert.Contains(t, msg, fmt.Sprintf(" at line %d: ", tt.wantLine))
			}
			if tt.wantRoute != "" {
				assert.Contains(t, msg, fmt.Sprintf("(%q)", tt.wantRoute))
			}
		})
	}
}

func TestNewPolicyErrors(t *testing.T) {
	good := authz.Rule{Pattern: "GET /ok", AllOf: []string{"read"}}
	tests := []struct {
		name      string
		rules     []authz.Rule
		wantIndex int
		wantRoute string
		wantMsg   string
	}{
		{
			name:      "no rules",
			wantIndex: -1,
			wantMsg:   "authz: policy: no rules: the policy would deny every route",
		},
		{
			name:      "invalid pattern",
			rules:     []authz.Rule{good, {Pattern: "/{1x}"}},
			wantIndex: 1, wantRoute: "/{1x}",
			wantMsg: `authz: policy rule 1 ("/{1x}"): invalid route: at offset 1: bad wildcard name "1x"`,
		},
		{
			name:      "duplicate pattern",
			rules:     []authz.Rule{good, good},
			wantIndex: 1, wantRoute: "GET /ok",
			wantMsg: `authz: policy rule 1 ("GET /ok"): duplicate route: same as rule 0 ("GET /ok")`,
		},
		{
			name:      "empty permission",
			rules:     []authz.Rule{{Pattern: "/a", AnyOf: []string{""}}},
			wantIndex: 0, wantRoute: "/a",
			wantMsg: `authz: policy rule 0 ("/a"): anyOf[0] is an empty permission`,
		},
		{
			name:      "public with an organization",
			rules:     []authz.Rule{{Pattern: "/{org}", Public: true, Organization: &authz.OrgSource{PathValue: "org"}}},
			wantIndex: 0, wantRoute: "/{org}",
			wantMsg: `authz: policy rule 0 ("/{org}"): a public rule needs no token, yet it also requires an organization`,
		},
		{
			name:      "unknown path value",
			rules:     []authz.Rule{good, {Pattern: "GET /orgs/{id}", Organization: &authz.OrgSource{PathValue: "orgID"}}},
			wantIndex: 1, wantRoute: "GET /orgs/{id}",
			wantMsg: `authz: policy rule 1 ("GET /orgs/{id}"): organization from unknown path value "orgID": the route's wildcards are id`,
		},
		{
			name:      "invalid header",
			rules:     []authz.Rule{{Pattern: "/a", Organization: &authz.OrgSource{Header: "X-Org:"}}},
			wantIndex: 0, wantRoute: "/a",
			wantMsg: `authz: policy rule 0 ("/a"): organization header "X-Org:" is not a valid header field name`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := authz.NewPolicy(tt.rules...)
			assert.Nil(t, p)
			var pe *authz.PolicyError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tt.wantIndex, pe.Index, "Index")
			assert.Zero(t, pe.Line, "Line")
			assert.Equal(t, tt.wantRoute, pe.Route, "Route")
			assert.EqualError(t, err, tt.wantMsg)
		})
	}
}

func TestPolicyErrorUnwrapsTheJSONError(t *testing.T) {
	_, err := authz.LoadPolicy(strings.NewReader(`{"rules": [}`))
	var se *json.SyntaxError
	assert.ErrorAs(t, err, &se)
}

func TestRuleAuthorize(t *testing.T) {
	docs := authz.Rule{Pattern: "GET /documents", AllOf: []string{"read:documents", "list:documents"}}
	anyOf := authz.Rule{Pattern: "POST /documents", AnyOf: []string{"write:documents", "admin"}}
	both := authz.Rule{Pattern: "PUT /documents", AllOf: []string{"read:documents"}, AnyOf: []string{"write:documents", "admin"}}
	org := authz.Rule{
		Pattern:      "GET /orgs/{orgID}/documents",
		Organization: &authz.OrgSource{PathValue: "orgID"},
		AllOf:        []string{"read:documents"},
	}
	allScopes := []string{"read:documents", "list:documents", "write:documents", "admin"}
	tests := []struct {
		name        string
		rule        authz.Rule
		claims      *authz.Claims
		orgID       string
		wantErr     error // a sentinel; nil: allowed
		wantMissing []string
	}{
		{
			name: "public, no token",
			rule: authz.Rule{Pattern: "/healthz", Public: true},
		},
		{
			name:   "public, with a token",
			rule:   authz.Rule{Pattern: "/healthz", Public: true},
			claims: &authz.Claims{},
		},
		{
			name:    "no claims",
			rule:    authz.Rule{Pattern: "GET /me"},
			wantErr: authz.ErrMissingToken,
		},
		{
			name:    "no claims for an organization route",
			rule:    org,
			orgID:   "org-a",
			wantErr: authz.ErrMissingToken,
		},
		{
			name:   "any valid token, with no scopes",
			rule:   authz.Rule{Pattern: "GET /me"},
			claims: &authz.Claims{},
		},
		{
			name:   "all of: satisfied",
			rule:   docs,
			claims: &authz.Claims{Scopes: []string{"list:documents", "read:documents"}},
		},
		{
			name:        "all of: one missing",
			rule:        docs,
			claims:      &authz.Claims{Scopes: []string{"read:documents", "write:documents"}},
			wantErr:     authz.ErrInsufficientScope,
			wantMissing: []string{"list:documents"},
		},
		{
			name:   "any of: satisfied by the second",
			rule:   anyOf,
			claims: &authz.Claims{Scopes: []string{"read:documents", "admin"}},
		},
		{
			name:        "any of: none",
			rule:        anyOf,
			claims:      &authz.Claims{Scopes: []string{"read:documents"}},
			wantErr:     authz.ErrInsufficientScope,
			wantMissing: []string{"write:documents", "admin"},
		},
		{
			name:   "all of and any of: both hold",
			rule:   both,
			claims: &authz.Claims{Scopes: []string{"read:documents", "admin"}},
		},
		{
			name:        "all of and any of: any of fails",
			rule:        both,
			claims:      &authz.Claims{Scopes: []string{"read:documents"}},
			wantErr:     authz.ErrInsufficientScope,
			wantMissing: []string{"write:documents", "admin"},
		},
		{
			name:        "all of and any of: all of fails",
			rule:        both,
			claims:      &authz.Claims{Scopes: []string{"admin"}},
			wantErr:     authz.ErrInsufficientScope,
			wantMissing: []string{"read:documents"},
		},
		{
			name:   "organization: same organization",
			rule:   org,
			claims: &authz.Claims{Scopes: []string{"read:documents"}, OrganizationID: "org-a"},
			orgID:  "org-a",
		},
		{
			name:    "organization: another organization",
			rule:    org,
			claims:  &authz.Claims{Scopes: allScopes, OrganizationID: "org-a"},
			orgID:   "org-b",
			wantErr: authz.ErrOrganization,
		},
		{
			name:    "organization: token without organization, with every scope",
			rule:    org,
			claims:  &authz.Claims{Scopes: allScopes},
			orgID:   "org-a",
			wantErr: authz.ErrOrganization,
		},
		{
			name:    "organization: request names none",
			rule:    org,
			claims:  &authz.Claims{Scopes: allScopes, OrganizationID: "org-a"},
			orgID:   "",
			wantErr: authz.ErrOrganization,
		},
		{
			name:    "organization: neither names one",
			rule:    org,
			claims:  &authz.Claims{Scopes: allScopes},
			wantErr: authz.ErrOrganization,
		},
		{
			name:        "organization: same organization, missing permission",
			rule:        org,
			claims:      &authz.Claims{Scopes: []string{"list:documents"}, OrganizationID: "org-a"},
			orgID:       "org-a",
			wantErr:     authz.ErrInsufficientScope,
			wantMissing: []string{"read:documents"},
		},
		{
			name:   "organization with no permissions: any token of that organization",
			rule:   authz.Rule{Pattern: "/orgs/{id}", Organization: &authz.OrgSource{Header: "X-Org"}},
			claims: &authz.Claims{OrganizationID: "org-a"},
			orgID:  "org-a",
		},
		{
			name:    "contradictory public rule fails closed",
			rule:    authz.Rule{Pattern: "/a", Public: true, AllOf: []string{"admin"}},
			wantErr: authz.ErrMissingToken,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.rule.Authorize(tt.claims, tt.orgID)
			if tt.wantErr == nil {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.wantErr)
			var ae *authz.Error
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tt.wantMissing, ae.Missing)
		})
	}
}

func TestPolicyRulesIsADeepCopy(t *testing.T) {
	in := []authz.Rule{
		{Pattern: "GET /orgs/{orgID}/documents", AllOf: []string{"read:documents"}, AnyOf: []string{"a", "b"}, Organization: &authz.OrgSource{PathValue: "orgID"}},
		{Pattern: "/healthz", Public: true},
	}
	want := []authz.Rule{
		{Pattern: "GET /orgs/{orgID}/documents", AllOf: []string{"read:documents"}, AnyOf: []string{"a", "b"}, Organization: &authz.OrgSource{PathValue: "orgID"}},
		{Pattern: "/healthz", Public: true},
	}
	p, err := authz.NewPolicy(in...)
	require.NoError(t, err)

	// Changing the input after NewPolicy does not reach the policy.
	in[0].AllOf[0] = "nothing"
	in[0].Organization.PathValue = "other"
	in[1].Public = false
	assert.Equal(t, want, p.Rules())

	// Nor does changing what Rules returned.
	got := p.Rules()
	got[0].AllOf[0] = "nothing"
	got[0].AnyOf = append(got[0].AnyOf[:0], "c")
	got[0].Organization.Header = "X-Org"
	got[1].Pattern = "/"
	assert.Equal(t, want, p.Rules())

	var nilPolicy *authz.Policy
	assert.Nil(t, nilPolicy.Rules())
}

func TestPolicyIsSafeForConcurrentUse(t *testing.T) {
	p, err := authz.NewPolicy(
		authz.Rule{Pattern: "GET /documents", AllOf: []string{"read:documents"}},
		authz.Rule{Pattern: "/orgs/{id}/", Organization: &authz.OrgSource{PathValue: "id"}},
	)
	require.NoError(t, err)
	c := &authz.Claims{Scopes: []string{"read:documents"}, OrganizationID: "o"}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				for _, r := range p.Rules() {
					_ = r.Authorize(c, "o")
					_ = r.String()
				}
			}
		})
	}
	wg.Wait()
}

func TestRuleString(t *testing.T) {
	tests := []struct {
		name string
		rule authz.Rule
		want string
	}{
		{
			name: "organization from a path value, all of",
			rule: authz.Rule{Pattern: "GET /orgs/{orgID}/documents", Organization: &authz.OrgSource{PathValue: "orgID"}, AllOf: []string{"read:documents"}},
			want: `GET /orgs/{orgID}/documents: organization from path value "orgID"; all of read:documents`,
		},
		{
			name: "public",
			rule: authz.Rule{Pattern: "/healthz", Public: true},
			want: `/healthz: public`,
		},
		{
			name: "any valid token",
			rule: authz.Rule{Pattern: "GET /me"},
			want: `GET /me: any valid token`,
		},
		{
			name: "organization from a header, all of and any of",
			rule: authz.Rule{
				Pattern:      "POST /documents",
				Organization: &authz.OrgSource{Header: "X-Organization-Id"},
				AllOf:        []string{"read:documents", "write:documents"},
				AnyOf:        []string{"editor", "admin"},
			},
			want: `POST /documents: organization from header "X-Organization-Id"; all of read:documents, write:documents; any of editor, admin`,
		},
		{
			name: "organization only",
			rule: authz.Rule{Pattern: "/orgs/{id}/", Organization: &authz.OrgSource{PathValue: "id"}},
			want: `/orgs/{id}/: organization from path value "id"`,
		},
		{
			name: "contradictory rule shows all it says",
			rule: authz.Rule{Pattern: "/x", Public: true, AnyOf: []string{"a"}},
			want: `/x: public; any of a`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.rule.String())
			assert.Equal(t, tt.want, fmt.Sprint(tt.rule))
		})
	}
}

func FuzzLoadPolicy(f *testing.F) {
	for _, seed := range []string{
		policyDoc(`{"route": "GET /documents/{id}", "allOf": ["read:documents"]}`),
		policyDoc(
			`{"route": "GET /orgs/{orgID}/documents", "organization": {"pathValue": "orgID"}, "anyOf": ["a", "b"]}`,
			`{"route": "POST api.example.com/x", "organization": {"header": "X-Org"}}`,
			`{"route": "/", "public": true}`,
		),
		policyDoc(`{"route": "/a/{x...}", "organization": {"pathValue": "x"}}`, `{"route": "GET /{$}"}`),
		policyDoc(`{"route": "GET /a/{x}"}`, `{"route": "GET /{y}/b"}`),
		policyDoc(`{"route": "/a", "allOf": ["a b"]}`),
		policyDoc(`{"route": "/a", "Route": "/b"}`),
		`{"rules": []}`,
		`{"rules": [{"route": "/a"}]} x`,
		`{"rules": [{"route": "/a",}]}`,
		`{"rules": [{"route": "/a"}], "rules": null}`,
		``,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := authz.LoadPolicy(strings.NewReader(in))
		if err != nil {
			var pe *authz.PolicyError
			require.ErrorAs(t, err, &pe)
			require.Nil(t, p)
			require.NotEmpty(t, pe.Reason)
			require.GreaterOrEqual(t, pe.Index, -1)
			require.GreaterOrEqual(t, pe.Line, 0)
			require.LessOrEqual(t, pe.Line, strings.Count(in, "\n")+1)
			return
		}
		rules := p.Rules()
		require.NotEmpty(t, rules)
		mux := http.NewServeMux()
		for _, r := range rules {
			require.NotPanics(t, func() { mux.Handle(r.Pattern, http.NotFoundHandler()) }, "pattern %q", r.Pattern)
			_ = r.String()
			_ = r.Authorize(&authz.Claims{Scopes: r.AllOf, OrganizationID: "o"}, "o")
		}
		again, err := authz.NewPolicy(rules...)
		require.NoError(t, err)
		require.Equal(t, rules, again.Rules())

		// What was loaded marshals back to JSON that loads the same rules.
		out, err := json.Marshal(map[string]any{"rules": rules})
		require.NoError(t, err)
		reloaded, err := authz.LoadPolicy(strings.NewReader(string(out)))
		require.NoError(t, err, "%s", out)
		for i, r := range reloaded.Rules() {
			require.Equal(t, rules[i].String(), r.String())
		}
	})
}
