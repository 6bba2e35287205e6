package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/examples/internal/exampletest"
)

// quiet is the logger of the servers under test.
var quiet = slog.New(slog.DiscardHandler)

// newTenant starts an in-process issuer shaped like a Logto tenant. It
// runs on the real clock: the SDK checks "exp" against time.Now.
func newTenant(t *testing.T) *authztest.Issuer {
	t.Helper()
	return exampletest.NewTenant(t, authztest.WithClock(time.Now))
}

// newMCPServer serves newHandler on loopback, trusting iss, and returns the
// URL of its MCP endpoint: the resource its tokens are for.
func newMCPServer(t *testing.T, iss *authztest.Issuer) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	resource := "http://" + srv.Listener.Addr().String() + "/mcp"
	v, err := authz.New(iss.URL(), []string{resource}, authz.WithLogger(quiet))
	require.NoError(t, err)
	t.Cleanup(v.Close)
	h, err := newHandler(v, iss.URL(), resource, quiet)
	require.NoError(t, err)
	srv.Config.Handler = h
	srv.Start()
	t.Cleanup(srv.Close)
	return resource
}

// exchange is one HTTP exchange the MCP client made.
type exchange struct {
	method, url string
	status      int
	challenge   string
}

// bearerTransport adds a bearer token, if any, to every request, and
// records every exchange.
type bearerTransport struct {
	token string

	mu        sync.Mutex
	exchanges []exchange
}

func (b *bearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if b.token != "" {
		req = req.Clone(req.Context())
		req.Header.Set("Authorization", "Bearer "+b.token)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err == nil {
		b.mu.Lock()
		b.exchanges = append(b.exchanges, exchange{req.Method, req.URL.String(), resp.StatusCode, resp.Header.Get("WWW-Authenticate")})
		b.mu.Unlock()
	}
	return resp, err
}

// refused returns the exchanges answered with status.
func (b *bearerTransport) refused(status int) []exchange {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []exchange
	for _, e := range b.exchanges {
		if e.status == status {
			out = append(out, e)
		}
	}
	return out
}

// connect opens an MCP session to endpoint with the SDK's client.
func connect(t *testing.T, endpoint string, tr *mcp.StreamableClientTransport) (*mcp.ClientSession, error) {
	t.Helper()
	tr.Endpoint = endpoint
	tr.MaxRetries = -1
	client := mcp.NewClient(&mcp.Implementation{Name: "authz-test-client", Version: "1.0.0"}, nil)
	cs, err := client.Connect(t.Context(), tr, nil)
	if err == nil {
		t.Cleanup(func() { _ = cs.Close() })
	}
	return cs, err
}

func metadataURL(endpoint string) string {
	return strings.Replace(endpoint, "/mcp", "/.well-known/oauth-protected-resource/mcp", 1)
}

// callReadDocument calls the read_document tool for document 1.
func callReadDocument(t *testing.T, cs *mcp.ClientSession) (*mcp.CallToolResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	return cs.CallTool(ctx, &mcp.CallToolParams{Name: "read_document", Arguments: map[string]any{"id": "1"}})
}

// (a) Without a token, the MCP client cannot even connect: the server
// answers 401 with a challenge that points to its metadata.
func TestNoTokenIsChallenged(t *testing.T) {
	iss := newTenant(t)
	endpoint := newMCPServer(t, iss)
	want := `Bearer realm="api", resource_metadata="` + metadataURL(endpoint) + `"`

	tr := &bearerTransport{}
	_, err := connect(t, endpoint, &mcp.StreamableClientTransport{HTTPClient: &http.Client{Transport: tr}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Unauthorized")
	refused := tr.refused(http.StatusUnauthorized)
	require.NotEmpty(t, refused, "the client's requests were refused with 401")
	for _, e := range refused {
		assert.Equal(t, want, e.challenge, "%s %s", e.method, e.url)
	}

	// The same with a plain HTTP request, body and all.
	resp, err := http.Post(endpoint, "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Equal(t, []string{want}, resp.Header.Values("WWW-Authenticate"))
	assert.JSONEq(t, `{"error":"unauthorized","error_description":"the request has no bearer token"}`, string(body))
}

// TestInvalidTokenIsChallenged: a bad token gets RFC 6750's invalid_token,
// which the SDK's own middleware does not send.
func TestInvalidTokenIsChallenged(t *testing.T) {
	iss := newTenant(t)
	endpoint := newMCPServer(t, iss)
	tests := []struct {
		name, token, desc string
	}{
		{name: "ID token", token: exampletest.Mint(t)(iss.APIToken(endpoint, authztest.Scopes(permReadDocuments), authztest.TokenType("JWT"))), desc: "'typ' is 'JWT', want 'at+jwt' (is this an ID token?)"},
		{name: "forged", token: exampletest.Mint(t)(iss.APIToken(endpoint, authztest.Scopes(permReadDocuments), authztest.SignedByUnknownKey())), desc: "no key in the issuer's JWKS has the token's 'kid'"},
		{name: "for another resource", token: exampletest.Mint(t)(iss.APIToken("https://other.example.com/mcp", authztest.Scopes(permReadDocuments))),
			desc: "token is not for this API: its 'aud' is 'https://other.example.com/mcp'; this API is " + endpoint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &bearerTransport{token: tt.token}
			_, err := connect(t, endpoint, &mcp.StreamableClientTransport{HTTPClient: &http.Client{Transport: tr}})
			require.Error(t, err)
			refused := tr.refused(http.StatusUnauthorized)
			require.NotEmpty(t, refused)
			for _, e := range refused {
				assert.Equal(t, `Bearer realm="api", error="invalid_token", error_description="`+tt.desc+`", resource_metadata="`+metadataURL(endpoint)+`"`, e.challenge)
			}
		})
	}
}

// (b) What an MCP client does with the challenge: follow resource_metadata
// to the metadata document, its authorization server to the issuer's
// discovery document, get a token there, and retry. The SDK's client runs
// this through its OAuthHandler; the token comes straight from authztest
// (a real client would go on to the token endpoint that discovery names).
func TestDiscoveryLeadsToAToken(t *testing.T) {
	iss := newTenant(t)
	endpoint := newMCPServer(t, iss)

	d := &discoverer{t: t, iss: iss, endpoint: endpoint}
	tr := &bearerTransport{}
	cs, err := connect(t, endpoint, &mcp.StreamableClientTransport{HTTPClient: &http.Client{Transport: tr}, OAuthHandler: d})
	require.NoError(t, err)

	res, err := callReadDocument(t, cs)
	require.NoError(t, err)
	require.False(t, res.IsError, "tool error: %v", res.Content)
	got, err := json.Marshal(res.StructuredContent)
	require.NoError(t, err)
	assert.JSONEq(t, `{"id":"1","title":"Quarterly report","owner":"finance"}`, string(got))

	assert.Equal(t, 1, d.calls, "one authorization, on the first 401")
	assert.Equal(t, metadataURL(endpoint), d.followed, "the challenge's resource_metadata")
	assert.Empty(t, tr.refused(http.StatusForbidden))
}

// discoverer is an auth.OAuthHandler that follows the server's challenge
// the way the MCP authorization specification describes.
type discoverer struct {
	t        *testing.T
	iss      *authztest.Issuer
	endpoint string

	calls    int    // how many times Authorize ran
	followed string // the resource_metadata URL it followed
	token    string // the token it obtained
}

func (d *discoverer) TokenSource(context.Context) (oauth2.TokenSource, error) {
	if d.token == "" {
		return nil, nil
	}
	return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: d.token, TokenType: "Bearer"}), nil
}

func (d *discoverer) Authorize(ctx context.Context, req *http.Request, resp *http.Response) error {
	defer resp.Body.Close()
	d.calls++
	if resp.StatusCode != http.StatusUnauthorized {
		return fmt.Errorf("got %d, want 401", resp.StatusCode)
	}
	// 1. The challenge names the metadata document (RFC 9728 section 5.1).
	challenges, err := oauthex.ParseWWWAuthenticate(resp.Header.Values("WWW-Authenticate"))
	if err != nil {
		return err
	}
	if len(challenges) != 1 || challenges[0].Scheme != "bearer" || challenges[0].Params["resource_metadata"] == "" {
		return fmt.Errorf("challenge %q has no resource_metadata", resp.Header.Values("WWW-Authenticate"))
	}
	metadataURL := challenges[0].Params["resource_metadata"]
	d.followed = metadataURL

	// 2. The metadata document, checked by the SDK: its resource must be
	// the URL the client called (RFC 9728 section 3.3).
	prm, err := oauthex.GetProtectedResourceMetadata(ctx, metadataURL, d.endpoint, http.DefaultClient)
	if err != nil {
		return err
	}
	if len(prm.AuthorizationServers) != 1 || prm.AuthorizationServers[0] != d.iss.URL() {
		return fmt.Errorf("authorization_servers %q, want [%q]", prm.AuthorizationServers, d.iss.URL())
	}
	if !slices.Equal(prm.ScopesSupported, []string{permReadDocuments}) || !slices.Equal(prm.BearerMethodsSupported, []string{"header"}) {
		return fmt.Errorf("scopes_supported %q, bearer_methods_supported %q", prm.ScopesSupported, prm.BearerMethodsSupported)
	}

	// 3. The authorization server's OpenID Connect discovery document.
	dreq, err := http.NewRequestWithContext(ctx, http.MethodGet, prm.AuthorizationServers[0]+"/.well-known/openid-configuration", nil)
	if err != nil {
		return err
	}
	dresp, err := http.DefaultClient.Do(dreq)
	if err != nil {
		return err
	}
	defer dresp.Body.Close()
	var discovery struct {
		Issuer        string `json:"issuer"`
		TokenEndpoint string `json:"token_endpoint"`
	}
	if err := json.NewDecoder(dresp.Body).Decode(&discovery); err != nil {
		return err
	}
	if discovery.Issuer != prm.AuthorizationServers[0] || discovery.TokenEndpoint == "" {
		return fmt.Errorf("discovery: issuer %q, token_endpoint %q", discovery.Issuer, discovery.TokenEndpoint)
	}

	// 4. A token for the resource (RFC 8707) with the advertised scopes, as
	// the token endpoint would issue it.
	d.token, err = d.iss.APIToken(prm.Resource, authztest.Scopes(prm.ScopesSupported...), authztest.Subject("agent-user"))
	return err
}

// (c) A valid token without the tool's permission connects (the endpoint
// needs a valid token only), but calling the tool is refused with 403
// insufficient_scope, naming the scope to ask for.
func TestMissingPermissionIsForbidden(t *testing.T) {
	iss := newTenant(t)
	endpoint := newMCPServer(t, iss)
	tr := &bearerTransport{token: exampletest.Mint(t)(iss.APIToken(endpoint, authztest.Scopes("write:documents")))}
	cs, err := connect(t, endpoint, &mcp.StreamableClientTransport{HTTPClient: &http.Client{Transport: tr}})
	require.NoError(t, err)

	tools, err := cs.ListTools(t.Context(), nil)
	require.NoError(t, err)
	require.Len(t, tools.Tools, 1)
	assert.Equal(t, "read_document", tools.Tools[0].Name)

	_, err = callReadDocument(t, cs)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Forbidden")
	forbidden := tr.refused(http.StatusForbidden)
	require.Len(t, forbidden, 1)
	assert.Equal(t, http.MethodPost, forbidden[0].method)
	assert.Equal(t, `Bearer realm="api", error="insufficient_scope", error_description="missing permission read:documents", scope="read:documents", resource_metadata="`+metadataURL(endpoint)+`"`,
		forbidden[0].challenge)
}

// TestToolChecksItsPermission: the tool refuses a token without its
// permission on its own, should a call reach it past the HTTP check.
func TestToolChecksItsPermission(t *testing.T) {
	call := func(scopes ...string) error {
		c := &authz.Claims{Subject: "user-1", Scopes: scopes}
		req := &mcp.CallToolRequest{Extra: &mcp.RequestExtra{TokenInfo: &auth.TokenInfo{Extra: map[string]any{claimsKey: c}}}}
		_, _, err := readDocument(t.Context(), req, readDocumentInput{ID: "1"})
		return err
	}
	assert.NoError(t, call(permReadDocuments))
	err := call("write:documents")
	require.ErrorIs(t, err, authz.ErrInsufficientScope)
	assert.EqualError(t, err, "authz: insufficient scope: missing permission read:documents")

	_, _, err = readDocument(t.Context(), &mcp.CallToolRequest{}, readDocumentInput{ID: "1"})
	assert.EqualError(t, err, "no token")
}

// TestVerifier: the adapter from an authz.Validator to the SDK's
// TokenVerifier.
func TestVerifier(t *testing.T) {
	iss := newTenant(t)
	const resource = "https://mcp.example.com/mcp"
	v, err := authz.New(iss.URL(), []string{resource}, authz.WithLogger(quiet))
	require.NoError(t, err)
	t.Cleanup(v.Close)
	verify := verifier(v)

	t.Run("valid token", func(t *testing.T) {
		exp := time.Now().Add(30 * time.Minute).Truncate(time.Second)
		tok := exampletest.Mint(t)(iss.APIToken(resource, authztest.Subject("user-1"), authztest.Scopes("read:documents", "write:documents"), authztest.ExpiresAt(exp)))
		info, err := verify(t.Context(), tok, nil)
		require.NoError(t, err)
		assert.Equal(t, []string{"read:documents", "write:documents"}, info.Scopes)
		assert.True(t, exp.Equal(info.Expiration), "expiration %s, want %s", info.Expiration, exp)
		assert.Equal(t, "user-1", info.UserID)
		c, ok := claimsOf(&mcp.RequestExtra{TokenInfo: info})
		require.True(t, ok)
		assert.Equal(t, "user-1", c.Subject)
		assert.Equal(t, []string{resource}, c.Audience)
	})

	t.Run("invalid tokens wrap auth.ErrInvalidToken", func(t *testing.T) {
		tests := []struct {
			name  string
			token string
			kind  error
		}{
			{name: "expired", token: exampletest.Mint(t)(iss.APIToken(resource, authztest.Expired())), kind: authz.ErrExpired},
			{name: "another audience", token: exampletest.Mint(t)(iss.APIToken("https://other.example.com")), kind: authz.ErrAudience},
			{name: "not a JWT", token: "opaque-token", kind: authz.ErrMalformed},
			{name: "ID token", token: exampletest.Mint(t)(iss.APIToken(resource, authztest.TokenType("JWT"))), kind: authz.ErrTokenType},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				info, err := verify(t.Context(), tt.token, nil)
				assert.Nil(t, info)
				assert.ErrorIs(t, err, auth.ErrInvalidToken)
				assert.ErrorIs(t, err, tt.kind)
			})
		}
	})

	t.Run("keys unavailable is not an invalid token", func(t *testing.T) {
		down := newTenant(t)
		down.SetUnavailable(true)
		dv, err := authz.New(down.URL(), []string{resource}, authz.WithLogger(quiet))
		require.NoError(t, err)
		t.Cleanup(dv.Close)
		_, err = verifier(dv)(t.Context(), exampletest.Mint(t)(down.APIToken(resource)), nil)
		assert.ErrorIs(t, err, authz.ErrKeysUnavailable)
		assert.NotErrorIs(t, err, auth.ErrInvalidToken)
	})

	t.Run("claims of the same token in the context are reused", func(t *testing.T) {
		tok := exampletest.Mint(t)(iss.APIToken(resource, authztest.Subject("user-2")))
		c, err := v.Validate(t.Context(), tok)
		require.NoError(t, err)
		// A validator for another tenant would reject the token: the claims
		// in the context must be what answers.
		other, err := authz.New(newTenant(t).URL(), []string{resource}, authz.WithLogger(quiet))
		require.NoError(t, err)
		t.Cleanup(other.Close)
		info, err := verifier(other)(authz.NewContext(t.Context(), c), tok, nil)
		require.NoError(t, err)
		assert.Equal(t, "user-2", info.UserID)

		// Claims of another token are not.
		_, err = verifier(other)(authz.NewContext(t.Context(), c), exampletest.Mint(t)(iss.APIToken(resource)), nil)
		assert.ErrorIs(t, err, auth.ErrInvalidToken)
	})
}

func TestCalledTools(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string
	}{
		{name: "tool call", body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_document","arguments":{"id":"1"}}}`, want: []string{"read_document"}},
		{name: "leading whitespace", body: " \n" + `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_document"}}`, want: []string{"read_document"}},
		{name: "batch", body: `[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"a"}},{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"b"}}]`, want: []string{"a", "b"}},
		{name: "batch with leading whitespace", body: "\t" + `[{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"a"}}]`, want: []string{"a"}},
		{name: "other method", body: `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"name":"read_document"}}`},
		{name: "notification", body: `{"jsonrpc":"2.0","method":"notifications/initialized"}`},
		{name: "response", body: `{"jsonrpc":"2.0","id":1,"result":{}}`},
		{name: "method in another case is not the SDK's", body: `{"jsonrpc":"2.0","id":1,"Method":"tools/call","params":{"name":"read_document"}}`},
		{name: "name in another case is not the SDK's", body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"Name":"read_document"}}`},
		{name: "not JSON", body: `tools/call read_document`},
		{name: "empty", body: ``},
		{name: "broken batch", body: `[{"method":"tools/call","params":{"name":"a"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, calledTools([]byte(tt.body)))
		})
	}
}

// TestToolGateKeepsTheBody: the gate reads the body and hands it on intact,
// and refuses a body over the SDK's limit.
func TestToolGateKeepsTheBody(t *testing.T) {
	iss := newTenant(t)
	endpoint := newMCPServer(t, iss)
	tok := exampletest.Mint(t)(iss.APIToken(endpoint, authztest.Scopes(permReadDocuments)))

	post := func(body io.Reader) *http.Response {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, endpoint, body)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	init := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}`
	resp := post(strings.NewReader(init))
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.NotEmpty(t, resp.Header.Get("Mcp-Session-Id"), "the SDK read the same initialize request")

	resp = post(io.MultiReader(strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"`),
		bytes.NewReader(bytes.Repeat([]byte("x"), mcp.DefaultMaxRequestBodyBytes)), strings.NewReader(`"}}`)))
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
}

func TestRunUsage(t *testing.T) {
	exampletest.RunUsage(t, run, []exampletest.UsageCase{
		{Name: "nothing", Env: map[string]string{}, Want: "usage: LOGTO_ISSUER="},
		{Name: "no LOGTO_ISSUER", Env: map[string]string{"MCP_RESOURCE": "https://mcp.example.com/mcp"}, Want: "usage: LOGTO_ISSUER="},
		{Name: "no MCP_RESOURCE", Env: map[string]string{"LOGTO_ISSUER": "https://tenant.logto.app/oidc"}, Want: "MCP_RESOURCE"},
		{Name: "issuer over http", Env: map[string]string{"LOGTO_ISSUER": "http://tenant.logto.app/oidc", "MCP_RESOURCE": "https://mcp.example.com/mcp"}, Want: "https"},
		{Name: "resource over http", Env: map[string]string{"LOGTO_ISSUER": "https://tenant.logto.app/oidc", "MCP_RESOURCE": "http://mcp.example.com/mcp"},
			Want: `middleware: Metadata.Resource "http://mcp.example.com/mcp" must use https (http only on a loopback host)`},
		{Name: "resource with a fragment", Env: map[string]string{"LOGTO_ISSUER": "https://tenant.logto.app/oidc", "MCP_RESOURCE": "https://mcp.example.com/mcp#x"},
			Want: `middleware: Metadata.Resource "https://mcp.example.com/mcp#x" has a fragment`},
	})
}

func TestRunServesUntilCancelled(t *testing.T) {
	iss := newTenant(t)
	r := exampletest.Start(t, run, map[string]string{"LOGTO_ISSUER": iss.URL(), "MCP_RESOURCE": "http://127.0.0.1:8080/mcp", "ADDR": "127.0.0.1:0"})

	resp, err := http.Post("http://"+r.Addr+"/mcp", "application/json", nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Equal(t, `Bearer realm="api", resource_metadata="http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp"`, resp.Header.Get("WWW-Authenticate"))

	resp, err = http.Get("http://" + r.Addr + "/.well-known/oauth-protected-resource/mcp")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `{"resource":"http://127.0.0.1:8080/mcp","authorization_servers":["`+iss.URL()+`"],"scopes_supported":["read:documents"],"bearer_methods_supported":["header"],"resource_name":"Documents (authz MCP example)"}`, string(body))

	r.Stop(15 * time.Second)
}
