package middleware_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/middleware"
)

// issuer is a Logto issuer identifier for metadata that is never fetched.
const issuer = "https://tenant.logto.app/oidc"

func newMetadata(t *testing.T, md middleware.Metadata) *middleware.MetadataHandler {
	t.Helper()
	h, err := middleware.NewMetadataHandler(md)
	require.NoError(t, err)
	return h
}

// get serves one request through h and returns the recorded response.
func get(h http.Handler, method string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, "/.well-known/oauth-protected-resource/mcp", nil))
	return rec
}

// TestMetadataDocument: the document is RFC 9728 section 2 JSON, byte for
// byte, with the default bearer method filled in and empty optional
// members left out.
func TestMetadataDocument(t *testing.T) {
	tests := []struct {
		name string
		md   middleware.Metadata
		want string
	}{
		{
			name: "every field",
			md: middleware.Metadata{
				Resource:               "https://mcp.example.com/mcp",
				AuthorizationServers:   []string{issuer, "https://auth.example.com/oidc"},
				ScopesSupported:        []string{"read:documents", "write:documents"},
				BearerMethodsSupported: []string{"header", "query"},
				ResourceName:           "Documents & files",
				ResourceDocumentation:  "https://docs.example.com/mcp?lang=en&v=2",
			},
			want: `{"resource":"https://mcp.example.com/mcp",` +
				`"authorization_servers":["https://tenant.logto.app/oidc","https://auth.example.com/oidc"],` +
				`"scopes_supported":["read:documents","write:documents"],` +
				`"bearer_methods_supported":["header","query"],` +
				`"resource_name":"Documents & files",` +
				`"resource_documentation":"https://docs.example.com/mcp?lang=en&v=2"}` + "\n",
		},
		{
			name: "required fields only",
			md:   middleware.Metadata{Resource: "https://api.example.com", AuthorizationServers: []string{issuer}},
			want: `{"resource":"https://api.example.com","authorization_servers":["https://tenant.logto.app/oidc"],"bearer_methods_supported":["header"]}` + "\n",
		},
		{
			name: "empty bearer methods mean the default",
			md:   middleware.Metadata{Resource: "https://api.example.com", AuthorizationServers: []string{issuer}, BearerMethodsSupported: []string{}},
			want: `{"resource":"https://api.example.com","authorization_servers":["https://tenant.logto.app/oidc"],"bearer_methods_supported":["header"]}` + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(newMetadata(t, tt.md), http.MethodGet)
			assert.Equal(t, http.StatusOK, rec.Code)
			assert.Equal(t, tt.want, rec.Body.String())
			assert.Equal(t, http.Header{
				"Content-Type":                {"application/json"},
				"Content-Length":              {fmt.Sprint(len(tt.want))},
				"Cache-Control":               {"public, max-age=3600"},
				"Access-Control-Allow-Origin": {"*"},
			}, rec.Header())
		})
	}
}

// TestMetadataIsCopied: changing the Metadata after NewMetadataHandler
// changes nothing.
func TestMetadataIsCopied(t *testing.T) {
	md := middleware.Metadata{Resource: "https://api.example.com", AuthorizationServers: []string{issuer}, ScopesSupported: []string{"read"}}
	h := newMetadata(t, md)
	md.AuthorizationServers[0] = "https://evil.example.com"
	md.ScopesSupported[0] = "admin"
	assert.Equal(t, `{"resource":"https://api.example.com","authorization_servers":["https://tenant.logto.app/oidc"],"scopes_supported":["read"],"bearer_methods_supported":["header"]}`+"\n",
		get(h, http.MethodGet).Body.String())
}

// TestMetadataMethods: HEAD is GET without a body, OPTIONS answers a CORS
// preflight, and nothing else is allowed.
func TestMetadataMethods(t *testing.T) {
	h := newMetadata(t, middleware.Metadata{Resource: "https://mcp.example.com/mcp", AuthorizationServers: []string{issuer}})
	doc := get(h, http.MethodGet).Body.String()

	head := get(h, http.MethodHead)
	assert.Equal(t, http.StatusOK, head.Code)
	assert.Empty(t, head.Body.String())
	assert.Equal(t, "application/json", head.Header().Get("Content-Type"))
	assert.Equal(t, fmt.Sprint(len(doc)), head.Header().Get("Content-Length"))

	options := get(h, http.MethodOptions)
	assert.Equal(t, http.StatusNoContent, options.Code)
	assert.Empty(t, options.Body.String())
	assert.Equal(t, http.Header{
		"Allow":                        {"GET, HEAD, OPTIONS"},
		"Access-Control-Allow-Origin":  {"*"},
		"Access-Control-Allow-Methods": {"GET, HEAD, OPTIONS"},
		"Access-Control-Allow-Headers": {"*"},
	}, options.Header())

	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		rec := get(h, method)
		assert.Equal(t, http.StatusMethodNotAllowed, rec.Code, method)
		assert.Equal(t, "GET, HEAD, OPTIONS", rec.Header().Get("Allow"), method)
		assert.NotContains(t, rec.Body.String(), "resource", method)
	}
}

// TestMetadataURL: the metadata URL is the resource's origin, then the
// well-known suffix, then the resource's path (RFC 9728 section 3.1).
func TestMetadataURL(t *testing.T) {
	tests := []struct {
		resource string
		wantURL  string
		wantPath string
	}{
		{resource: "https://api.example.com", wantURL: "https://api.example.com/.well-known/oauth-protected-resource", wantPath: "/.well-known/oauth-protected-resource"},
		{resource: "https://api.example.com/", wantURL: "https://api.example.com/.well-known/oauth-protected-resource", wantPath: "/.well-known/oauth-protected-resource"},
		{resource: "https://mcp.example.com/mcp", wantURL: "https://mcp.example.com/.well-known/oauth-protected-resource/mcp", wantPath: "/.well-known/oauth-protected-resource/mcp"},
		{resource: "https://example.com/tenant-1/mcp/", wantURL: "https://example.com/.well-known/oauth-protected-resource/tenant-1/mcp/", wantPath: "/.well-known/oauth-protected-resource/tenant-1/mcp/"},
		{resource: "https://example.com:8443/v1/api", wantURL: "https://example.com:8443/.well-known/oauth-protected-resource/v1/api", wantPath: "/.well-known/oauth-protected-resource/v1/api"},
		{resource: "HTTPS://Example.COM/MCP", wantURL: "https://Example.COM/.well-known/oauth-protected-resource/MCP", wantPath: "/.well-known/oauth-protected-resource/MCP"},
		{resource: "http://127.0.0.1:8080/mcp", wantURL: "http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp", wantPath: "/.well-known/oauth-protected-resource/mcp"},
		{resource: "http://localhost:3000", wantURL: "http://localhost:3000/.well-known/oauth-protected-resource", wantPath: "/.well-known/oauth-protected-resource"},
		{resource: "http://[::1]:9000/a;b=c/d", wantURL: "http://[::1]:9000/.well-known/oauth-protected-resource/a;b=c/d", wantPath: "/.well-known/oauth-protected-resource/a;b=c/d"},
	}
	for _, tt := range tests {
		t.Run(tt.resource, func(t *testing.T) {
			h := newMetadata(t, middleware.Metadata{Resource: tt.resource, AuthorizationServers: []string{issuer}})
			assert.Equal(t, tt.wantURL, h.URL())
			assert.Equal(t, tt.wantPath, h.Path())
			var doc struct{ Resource string }
			require.NoError(t, json.Unmarshal(get(h, http.MethodGet).Body.Bytes(), &doc))
			assert.Equal(t, tt.resource, doc.Resource, "the resource is served exactly as given (RFC 9728 section 3.3)")
			assert.NotPanics(t, func() { http.NewServeMux().Handle(h.Path(), h) }, "Path is a ServeMux pattern")
		})
	}
}

// TestNewMetadataHandlerRejects: every input is checked when the handler
// is built, and the error names the field.
func TestNewMetadataHandlerRejects(t *testing.T) {
	servers := []string{issuer}
	tests := []struct {
		name    string
		md      middleware.Metadata
		wantErr string
	}{
		{name: "no resource", md: middleware.Metadata{AuthorizationServers: servers}, wantErr: `middleware: Metadata.Resource "" is not an absolute URL`},
		{name: "relative resource", md: middleware.Metadata{Resource: "/mcp", AuthorizationServers: servers}, wantErr: `middleware: Metadata.Resource "/mcp" is not an absolute URL`},
		{name: "resource without host", md: middleware.Metadata{Resource: "https:///mcp", AuthorizationServers: servers}, wantErr: `middleware: Metadata.Resource "https:///mcp" is not an absolute URL`},
		{name: "opaque resource", md: middleware.Metadata{Resource: "urn:logto:organization:o1", AuthorizationServers: servers}, wantErr: `middleware: Metadata.Resource "urn:logto:organization:o1" is not an absolute URL`},
		{name: "unparsable resource", md: middleware.Metadata{Resource: "https://a b/", AuthorizationServers: servers}, wantErr: `middleware: Metadata.Resource "https://a b/" is not an absolute URL`},
		{name: "http resource", md: middleware.Metadata{Resource: "http://mcp.example.com/mcp", AuthorizationServers: servers}, wantErr: `middleware: Metadata.Resource "http://mcp.example.com/mcp" must use https (http only on a loopback host)`},
		{name: "http on a look-alike host", md: middleware.Metadata{Resource: "http://127.0.0.1.example.com/mcp", AuthorizationServers: servers}, wantErr: `middleware: Metadata.Resource "http://127.0.0.1.example.com/mcp" must use https (http only on a loopback host)`},
		{name: "other scheme", md: middleware.Metadata{Resource: "ftp://mcp.example.com", AuthorizationServers: servers}, wantErr: `middleware: Metadata.Resource "ftp://mcp.example.com" must use https (http only on a loopback host)`},
		{name: "user information", md: middleware.Metadata{Resource: "https://user@mcp.example.com/mcp", AuthorizationServers: servers}, wantErr: `middleware: Metadata.Resource "https://user@mcp.example.com/mcp" has user information`},
		{name: "fragment", md: middleware.Metadata{Resource: "https://mcp.example.com/mcp#x", AuthorizationServers: servers}, wantErr: `middleware: Metadata.Resource "https://mcp.example.com/mcp#x" has a fragment`},
		{name: "empty fragment", md: middleware.Metadata{Resource: "https://mcp.example.com/mcp#", AuthorizationServers: servers}, wantErr: `middleware: Metadata.Resource "https://mcp.example.com/mcp#" has a fragment`},
		{name: "query", md: middleware.Metadata{Resource: "https://mcp.example.com/mcp?v=1", AuthorizationServers: servers}, wantErr: `middleware: Metadata.Resource "https://mcp.example.com/mcp?v=1" has a query`},
		{name: "empty query", md: middleware.Metadata{Resource: "https://mcp.example.com/mcp?", AuthorizationServers: servers}, wantErr: `middleware: Metadata.Resource "https://mcp.example.com/mcp?" has a query`},
		{name: "percent-encoded path", md: middleware.Metadata{Resource: "https://mcp.example.com/a%20b", AuthorizationServers: servers}, wantErr: `middleware: Metadata.Resource "https://mcp.example.com/a%20b" has a path that needs percent-encoding`},
		{name: "path with a brace", md: middleware.Metadata{Resource: "https://mcp.example.com/{id}", AuthorizationServers: servers}, wantErr: `middleware: Metadata.Resource "https://mcp.example.com/{id}" has a path that needs percent-encoding`},
		{name: "dot-dot segment", md: middleware.Metadata{Resource: "https://mcp.example.com/a/../mcp", AuthorizationServers: servers}, wantErr: `middleware: Metadata.Resource "https://mcp.example.com/a/../mcp" has an empty, '.' or '..' path segment`},
		{name: "dot segment", md: middleware.Metadata{Resource: "https://mcp.example.com/./mcp", AuthorizationServers: servers}, wantErr: `middleware: Metadata.Resource "https://mcp.example.com/./mcp" has an empty, '.' or '..' path segment`},
		{name: "empty segment", md: middleware.Metadata{Resource: "https://mcp.example.com//mcp", AuthorizationServers: servers}, wantErr: `middleware: Metadata.Resource "https://mcp.example.com//mcp" has an empty, '.' or '..' path segment`},
		{name: "non-ASCII host", md: middleware.Metadata{Resource: "https://café.example.com/mcp", AuthorizationServers: servers}, wantErr: `middleware: Metadata.Resource "https://café.example.com/mcp" has a character outside printable ASCII, or '"' or '\'`},
		{name: "no authorization server", md: middleware.Metadata{Resource: "https://mcp.example.com/mcp"}, wantErr: `middleware: Metadata.AuthorizationServers is empty; list the issuer, e.g. https://<tenant>.logto.app/oidc`},
		{name: "relative authorization server", md: middleware.Metadata{Resource: "https://mcp.example.com/mcp", AuthorizationServers: []string{issuer, "tenant.logto.app"}}, wantErr: `middleware: Metadata.AuthorizationServers[1] "tenant.logto.app" is not an absolute URL`},
		{name: "http authorization server", md: middleware.Metadata{Resource: "https://mcp.example.com/mcp", AuthorizationServers: []string{"http://tenant.logto.app/oidc"}}, wantErr: `middleware: Metadata.AuthorizationServers[0] "http://tenant.logto.app/oidc" must use https (http only on a loopback host)`},
		{name: "authorization server with a query", md: middleware.Metadata{Resource: "https://mcp.example.com/mcp", AuthorizationServers: []string{"https://tenant.logto.app/oidc?x=1"}}, wantErr: `middleware: Metadata.AuthorizationServers[0] "https://tenant.logto.app/oidc?x=1" has a query`},
		{name: "authorization server with a fragment", md: middleware.Metadata{Resource: "https://mcp.example.com/mcp", AuthorizationServers: []string{"https://tenant.logto.app/oidc#x"}}, wantErr: `middleware: Metadata.AuthorizationServers[0] "https://tenant.logto.app/oidc#x" has a fragment`},
		{name: "repeated authorization server", md: middleware.Metadata{Resource: "https://mcp.example.com/mcp", AuthorizationServers: []string{issuer, issuer}}, wantErr: `middleware: Metadata.AuthorizationServers[1] "https://tenant.logto.app/oidc" is repeated`},
		{name: "empty scope", md: middleware.Metadata{Resource: "https://mcp.example.com/mcp", AuthorizationServers: servers, ScopesSupported: []string{"read", ""}}, wantErr: `middleware: Metadata.ScopesSupported[1] "" is not a permission: empty, or with whitespace, a control character or invalid UTF-8`},
		{name: "scope with a space", md: middleware.Metadata{Resource: "https://mcp.example.com/mcp", AuthorizationServers: servers, ScopesSupported: []string{"read write"}}, wantErr: `middleware: Metadata.ScopesSupported[0] "read write" is not a permission: empty, or with whitespace, a control character or invalid UTF-8`},
		{name: "repeated scope", md: middleware.Metadata{Resource: "https://mcp.example.com/mcp", AuthorizationServers: servers, ScopesSupported: []string{"read", "read"}}, wantErr: `middleware: Metadata.ScopesSupported[1] "read" is repeated`},
		{name: "unknown bearer method", md: middleware.Metadata{Resource: "https://mcp.example.com/mcp", AuthorizationServers: servers, BearerMethodsSupported: []string{"cookie"}}, wantErr: `middleware: Metadata.BearerMethodsSupported[0] "cookie" is not "header", "body" or "query" (RFC 9728 section 2)`},
		{name: "bearer method in upper case", md: middleware.Metadata{Resource: "https://mcp.example.com/mcp", AuthorizationServers: servers, BearerMethodsSupported: []string{"Header"}}, wantErr: `middleware: Metadata.BearerMethodsSupported[0] "Header" is not "header", "body" or "query" (RFC 9728 section 2)`},
		{name: "repeated bearer method", md: middleware.Metadata{Resource: "https://mcp.example.com/mcp", AuthorizationServers: servers, BearerMethodsSupported: []string{"header", "header"}}, wantErr: `middleware: Metadata.BearerMethodsSupported[1] "header" is repeated`},
		{name: "relative documentation", md: middleware.Metadata{Resource: "https://mcp.example.com/mcp", AuthorizationServers: servers, ResourceDocumentation: "/docs"}, wantErr: `middleware: Metadata.ResourceDocumentation "/docs" is not an absolute http or https URL`},
		{name: "javascript documentation", md: middleware.Metadata{Resource: "https://mcp.example.com/mcp", AuthorizationServers: servers, ResourceDocumentation: "javascript:alert(1)"}, wantErr: `middleware: Metadata.ResourceDocumentation "javascript:alert(1)" is not an absolute http or https URL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := middleware.NewMetadataHandler(tt.md)
			assert.EqualError(t, err, tt.wantErr)
			assert.Nil(t, h)
		})
	}
}

// TestClientFollowsResourceMetadata: what an MCP client does. A request
// without a token gets a challenge; its resource_metadata leads to the
// document on the same server, whose resource is the URL the client called
// (RFC 9728 section 3.3) and whose authorization server is the issuer; the
// issuer's discovery document leads on to its token endpoint.
func TestClientFollowsResourceMetadata(t *testing.T) {
	e := newEnv(t, false)
	mux := http.NewServeMux()
	srv := serve(t, mux)
	resource := srv.URL + "/mcp"

	prm := newMetadata(t, middleware.Metadata{Resource: resource, AuthorizationServers: []string{e.iss.URL()}, ScopesSupported: []string{"read:documents"}})
	mw := e.middleware(t, e.validator(t, resource), middleware.WithResourceMetadata(prm.URL()))
	mux.Handle(prm.Path(), prm)
	mux.Handle("/mcp", mw.Require("read:documents")(echo))

	resp, err := srv.Client().Post(resource, "application/json", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	m := regexp.MustCompile(`resource_metadata="([^"]+)"`).FindStringSubmatch(resp.Header.Get("WWW-Authenticate"))
	require.NotNil(t, m, resp.Header.Get("WWW-Authenticate"))
	assert.Equal(t, srv.URL+"/.well-known/oauth-protected-resource/mcp", m[1])

	var doc struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
		ScopesSupported      []string `json:"scopes_supported"`
	}
	getJSON(t, srv.Client(), m[1], &doc)
	assert.Equal(t, resource, doc.Resource)
	assert.Equal(t, []string{"read:documents"}, doc.ScopesSupported)
	require.Equal(t, []string{e.iss.URL()}, doc.AuthorizationServers)

	var discovery struct {
		Issuer        string `json:"issuer"`
		TokenEndpoint string `json:"token_endpoint"`
	}
	getJSON(t, srv.Client(), doc.AuthorizationServers[0]+"/.well-known/openid-configuration", &discovery)
	assert.Equal(t, e.iss.URL(), discovery.Issuer)
	assert.NotEmpty(t, discovery.TokenEndpoint)

	tok := must(t)(e.iss.APIToken(doc.Resource, authztest.Scopes(doc.ScopesSupported...), authztest.Subject("agent")))
	req, err := http.NewRequest(http.MethodPost, resource, nil)
	require.NoError(t, err)
	bearer(tok)(req.Header)
	check(t, srv, req, allowed("agent", ""))
}

func getJSON(t *testing.T, c *http.Client, url string, v any) {
	t.Helper()
	resp, err := c.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, url)
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"), url)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, v), url)
}

// An MCP server (or any API) publishes where its tokens come from, and its
// challenges point there.
func ExampleNewMetadataHandler() {
	// In production the issuer is the Logto tenant,
	// https://<tenant>.logto.app/oidc; here authztest plays it.
	iss, err := authztest.NewIssuer()
	if err != nil {
		panic(err)
	}
	defer iss.Close()
	prm, err := middleware.NewMetadataHandler(middleware.Metadata{
		Resource:             "https://mcp.example.com/mcp",
		AuthorizationServers: []string{iss.URL()},
		ScopesSupported:      []string{"read:documents"},
	})
	if err != nil {
		panic(err)
	}
	v, err := authz.New(iss.URL(), []string{"https://mcp.example.com/mcp"})
	if err != nil {
		panic(err)
	}
	defer v.Close()
	mw, err := middleware.New(v, middleware.WithResourceMetadata(prm.URL()), quiet)
	if err != nil {
		panic(err)
	}

	mux := http.NewServeMux()
	mux.Handle(prm.Path(), prm)
	mux.Handle("/mcp", mw.Require("read:documents")(http.NotFoundHandler()))

	send(mux, "POST", "/mcp", "")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/.well-known/oauth-protected-resource/mcp", nil))
	fmt.Print(rec.Code, " ", strings.ReplaceAll(rec.Body.String(), iss.URL(), "https://<tenant>.logto.app/oidc"))
	// Output:
	// 401 Bearer realm="api", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
	// 200 {"resource":"https://mcp.example.com/mcp","authorization_servers":["https://<tenant>.logto.app/oidc"],"scopes_supported":["read:documents"],"bearer_methods_supported":["header"]}
}
