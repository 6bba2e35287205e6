package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultClients(t *testing.T) {
	r, err := loadClients("")
	require.NoError(t, err)
	require.Len(t, r.clients, 2)
	m2m := r.client("m2m-app")
	require.NotNil(t, m2m)
	assert.Equal(t, "m2m-secret", m2m.Secret)
	assert.Equal(t, []string{"read:documents", "write:documents"}, m2m.Resources["https://api.example.com"])
	assert.Equal(t, []string{"read:members", "invite:members"}, m2m.Organizations["org-a"].Scopes)
	assert.Equal(t, []string{"read:reports"}, m2m.Organizations["org-a"].Resources["https://api.example.com"])
	assert.Equal(t, map[string]bool{"https://api.example.com": true}, r.resources)

	ex := examples(r)
	require.Len(t, ex, 3, "one example of each kind")
	assert.Equal(t, "https://api.example.com", ex[0].audience())
	assert.Equal(t, "urn:logto:organization:org-a", ex[1].audience())
	assert.Equal(t, "curl -s -u m2m-app:m2m-secret -d grant_type=client_credentials --data-urlencode resource=https://api.example.com"+
		" --data-urlencode organization_id=org-a --data-urlencode scope=read:reports http://x/oidc/token", ex[2].curl("http://x/oidc/token"))
}

func TestParseClientsErrors(t *testing.T) {
	tests := []struct {
		name string
		json string
		want string
	}{
		{name: "syntax error names the line", json: "{\n  \"clients\": [\n    {\"id\": \"a\",}\n  ]\n}", want: "line 3, column"},
		{name: "wrong type names the line", json: "{\n\"clients\": {}\n}", want: "line 2, column"},
		{name: "unknown field", json: `{"clients": [{"id": "a", "secret": "b", "scope": "x"}]}`, want: `unknown field "scope"`},
		{name: "no clients", json: `{"clients": []}`, want: "no clients"},
		{name: "null client", json: `{"clients": [null]}`, want: "client 1 is null"},
		{name: "trailing data", json: `{"clients": [{"id": "a", "secret": "b"}]} {}`, want: "data after the JSON object"},
		{name: "missing id", json: `{"clients": [{"secret": "b"}]}`, want: `client 1: "id" must be`},
		{name: "secret with a colon", json: `{"clients": [{"id": "a", "secret": "b:c"}]}`, want: `client "a": "secret" must be`},
		{name: "duplicate id", json: `{"clients": [{"id": "a", "secret": "b"}, {"id": "a", "secret": "c"}]}`, want: `client "a": the id is given twice`},
		{name: "relative resource", json: `{"clients": [{"id": "a", "secret": "b", "resources": {"api": ["read"]}}]}`, want: `resource "api": a resource indicator is an absolute URI`},
		{name: "resource with fragment", json: `{"clients": [{"id": "a", "secret": "b", "resources": {"https://api#x": ["read"]}}]}`, want: "without a fragment"},
		{name: "organization audience as a resource", json: `{"clients": [{"id": "a", "secret": "b", "resources": {"urn:logto:organization:o": []}}]}`, want: `come from "organizations"`},
		{name: "permission with a space", json: `{"clients": [{"id": "a", "secret": "b", "resources": {"https://api": ["read all"]}}]}`, want: `permission "read all"`},
		{name: "empty permission", json: `{"clients": [{"id": "a", "secret": "b", "organizations": {"o": {"scopes": [""]}}}]}`, want: `organization "o": permission ""`},
		{name: "bad organization id", json: `{"clients": [{"id": "a", "secret": "b", "organizations": {"o*": {}}}]}`, want: `organization "o*"`},
		{name: "null organization", json: `{"clients": [{"id": "a", "secret": "b", "organizations": {"o": null}}]}`, want: `give {} for a membership`},
		{name: "organization resource", json: `{"clients": [{"id": "a", "secret": "b", "organizations": {"o": {"resources": {"x": []}}}}]}`, want: `organization "o": resource "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseClients([]byte(tt.json))
			assert.ErrorContains(t, err, tt.want)
		})
	}
}

func TestParseClientsRegistersEveryResource(t *testing.T) {
	r, err := parseClients([]byte(`{"clients": [
		{"id": "a", "secret": "s", "resources": {"https://one": []}},
		{"id": "b", "secret": "s", "organizations": {"o": {"resources": {"https://two": ["x"]}}}}
	]}`))
	require.NoError(t, err)
	assert.Equal(t, map[string]bool{"https://one": true, "https://two": true}, r.resources)
}
