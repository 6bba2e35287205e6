package main

// The MCP server and how authz protects it. A request to the MCP endpoint
// passes three layers, outermost first:
//
//  1. authz's middleware (mw.Authenticate): a valid token for this resource
//     or an RFC 6750 answer: 401 (with error="invalid_token" for a bad
//     token), 400 for a malformed request, 503 while Logto's keys cannot be
//     loaded. Every challenge carries resource_metadata (RFC 9728), which is
//     how an MCP client finds Logto.
//  2. requireToolPermissions: a tools/call for a tool that needs permissions
//     the token lacks is answered with 403, error="insufficient_scope",
//     scope="<the permissions>", the MCP authorization spec's signal to ask
//     for a token with more scopes.
//  3. the SDK's auth.RequireBearerToken, given an authz.Validator through
//     verifier: it hands the claims to the SDK (auth.TokenInfo), which binds
//     each session to its user and passes every tool the claims of its own
//     request.
//
// Why not the SDK's bearer middleware alone: its 401 has no error code even
// for an invalid token and its 403 has no error="insufficient_scope"
// (RFC 6750 section 3.1), a malformed Authorization header gets 401 rather
// than 400, an issuer outage 500 rather than 503, and its scope check
// covers the whole endpoint, so one tool cannot need a permission that
// connecting does not. authz answers all of those as RFC 6750 says, and the
// SDK layer inside never refuses a request authz let through.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/middleware"
)

// permReadDocuments is the permission of the read_document tool, defined on
// the API resource in the Logto console.
const permReadDocuments = "read:documents"

// toolPermissions are the permissions each tool needs; a tool not listed
// needs a valid token only.
var toolPermissions = map[string][]string{
	"read_document": {permReadDocuments},
}

// newHandler returns the server's routes: the MCP endpoint at the path of
// resource (the MCP server's URL, which is also the API identifier of its
// API resource in Logto) and its RFC 9728 metadata, naming issuer as the
// authorization server. Tokens are validated with v, which must accept
// tokens for resource.
func newHandler(v *authz.Validator, issuer, resource string, log *slog.Logger) (http.Handler, error) {
	prm, err := middleware.NewMetadataHandler(middleware.Metadata{
		Resource:             resource,
		AuthorizationServers: []string{issuer},
		ScopesSupported:      []string{permReadDocuments},
		ResourceName:         "Documents (authz MCP example)",
	})
	if err != nil {
		return nil, err
	}
	mw, err := middleware.New(v, middleware.WithResourceMetadata(prm.URL()), middleware.WithLogger(log))
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(resource) // NewMetadataHandler checked it
	if err != nil {
		return nil, err
	}
	endpoint := u.Path
	if endpoint == "" || endpoint == "/" {
		endpoint = "/{$}"
	}

	server := newServer()
	mcpHandler := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server },
		&mcp.StreamableHTTPOptions{Logger: log})
	sdkAuth := auth.RequireBearerToken(verifier(v), &auth.RequireBearerTokenOptions{
		ResourceMetadataURL: prm.URL(),
		ClockSkew:           authz.DefaultLeeway, // the validator's leeway: the SDK checks "exp" again
	})

	mux := http.NewServeMux()
	mux.Handle(prm.Path(), prm)
	mux.Handle(endpoint, mw.Authenticate(requireToolPermissions(mw, toolPermissions, sdkAuth(mcpHandler))))
	return mux, nil
}

// newServer returns the MCP server with its one tool.
func newServer() *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "documents", Version: "1.0.0"}, nil)
	mcp.AddTool(s, &mcp.Tool{
		Name:        "read_document",
		Description: "Read a document by its id. Needs the permission " + permReadDocuments + ".",
	}, readDocument)
	return s
}

// readDocumentInput is the input of read_document.
type readDocumentInput struct {
	ID string `json:"id" jsonschema:"the document id, e.g. 1"`
}

// document is the output of read_document.
type document struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Owner string `json:"owner"`
}

var documents = map[string]document{
	"1": {ID: "1", Title: "Quarterly report", Owner: "finance"},
	"2": {ID: "2", Title: "Onboarding guide", Owner: "people"},
}

// readDocument is the read_document tool. requireToolPermissions has
// already refused a token without the permission with 403; the tool checks
// again on the claims of its own request, so that the permission holds
// even if the tool is reached some other way (a route added without the
// gate, a message the gate could not parse).
func readDocument(ctx context.Context, req *mcp.CallToolRequest, in readDocumentInput) (*mcp.CallToolResult, document, error) {
	c, ok := claimsOf(req.Extra)
	if !ok {
		return nil, document{}, errors.New("no token")
	}
	if err := authz.Check(authz.NewContext(ctx, c), permReadDocuments); err != nil {
		return nil, document{}, err
	}
	d, ok := documents[in.ID]
	if !ok {
		return nil, document{}, fmt.Errorf("no document %q", in.ID)
	}
	return nil, d, nil
}

// requireToolPermissions returns a handler that reads the JSON-RPC
// message(s) of a POST and, when they call tools listed in perms, requires
// the token to grant those tools' permissions, with mw.Require: a token
// lacking one is answered with 403 insufficient_scope, scope="<the
// permissions>" and resource_metadata. Other requests go to next unchanged,
// with the body restored. It must run behind mw.Authenticate, whose claims
// it reuses. Bodies over mcp.DefaultMaxRequestBodyBytes get 413.
func requireToolPermissions(mw *middleware.Middleware, perms map[string][]string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, mcp.DefaultMaxRequestBodyBytes))
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				http.Error(w, http.StatusText(http.StatusRequestEntityTooLarge), http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "reading the request body failed", http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		var need []string
		for _, name := range calledTools(body) {
			need = append(need, perms[name]...)
		}
		if len(need) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		slices.Sort(need)
		mw.Require(slices.Compact(need)...)(next).ServeHTTP(w, r)
	})
}

// calledTools returns the names of the tools that body, one JSON-RPC
// message or a batch of them, calls with "tools/call". Member names are
// matched exactly, as the SDK matches them (encoding/json would also match
// "Name" to a struct field "name"). A body that does not parse calls no
// tool here; the SDK refuses it, and the tool checks its permission anyway.
func calledTools(body []byte) []string {
	msgs := []json.RawMessage{body}
	if b := bytes.TrimLeft(body, " \t\r\n"); len(b) > 0 && b[0] == '[' {
		if json.Unmarshal(body, &msgs) != nil {
			return nil
		}
	}
	var names []string
	for _, m := range msgs {
		var msg map[string]json.RawMessage
		var method, name string
		var params map[string]json.RawMessage
		if json.Unmarshal(m, &msg) != nil ||
			json.Unmarshal(msg["method"], &method) != nil || method != "tools/call" ||
			json.Unmarshal(msg["params"], &params) != nil ||
			json.Unmarshal(params["name"], &name) != nil {
			continue
		}
		names = append(names, name)
	}
	return names
}
