package middleware

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/seed31d61d31/authz/internal/permission"
)

// wellKnownMetadata is the well-known URI suffix of RFC 9728 section 3.
const wellKnownMetadata = "/.well-known/oauth-protected-resource"

// metadataCacheControl is the Cache-Control of the metadata document: it
// changes only when the server is redeployed.
const metadataCacheControl = "public, max-age=3600"

// Metadata describes a protected resource as OAuth 2.0 Protected Resource
// Metadata says (RFC 9728 section 2). [NewMetadataHandler] checks it and
// serves it; this is what an MCP client reads to find where to get a token.
type Metadata struct {
	// Resource is the resource identifier, "resource": the URL clients call
	// and the audience of the tokens, i.e. the API identifier of the API
	// resource in the Logto console. For an MCP server it is the URL of the
	// MCP endpoint, e.g. "https://mcp.example.com/mcp". Required: an
	// absolute https URL (http only for a loopback host), in printable
	// ASCII, with no user information, query or fragment, whose path needs
	// no percent-encoding and has no empty, "." or ".." segment.
	Resource string
	// AuthorizationServers are the issuer identifiers of the authorization
	// servers that issue tokens for Resource, "authorization_servers": the
	// Logto issuer, https://<tenant>.logto.app/oidc. Required, at least one
	// (the MCP authorization specification requires one): absolute https
	// URLs (http only for a loopback host) with no query or fragment.
	AuthorizationServers []string
	// ScopesSupported are the permissions a token for Resource may carry,
	// "scopes_supported". Optional; each a scope token (RFC 6749 section
	// 3.3). Left out of the document when empty.
	ScopesSupported []string
	// BearerMethodsSupported are the ways Resource accepts a token,
	// "bearer_methods_supported": "header", "body", "query" (RFC 6750
	// section 2). Default ["header"], which is what a [Middleware] accepts
	// unless [AllowFormToken] or [AllowQueryToken] adds "body" or "query":
	// list those too when you enable them.
	BearerMethodsSupported []string
	// ResourceName is a human-readable name of the resource,
	// "resource_name". Optional.
	ResourceName string
	// ResourceDocumentation is the URL of a page for developers,
	// "resource_documentation". Optional; an absolute http or https URL.
	ResourceDocumentation string
}

// metadataDocument is the JSON document of RFC 9728 section 2.
type metadataDocument struct {
	Resource               string   `json:"resource"`
	AuthorizationServers   []string `json:"authorization_servers"`
	ScopesSupported        []string `json:"scopes_supported,omitempty"`
	BearerMethodsSupported []string `json:"bearer_methods_supported"`
	ResourceName           string   `json:"resource_name,omitempty"`
	ResourceDocumentation  string   `json:"resource_documentation,omitempty"`
}

// MetadataHandler serves the protected resource metadata document of one
// resource (RFC 9728 section 3.2). Create it with [NewMetadataHandler],
// mount it at [MetadataHandler.Path] and give [MetadataHandler.URL] to
// [WithResourceMetadata]:
//
//	prm, err := middleware.NewMetadataHandler(middleware.Metadata{
//		Resource:             "https://mcp.example.com/mcp",
//		AuthorizationServers: []string{"https://tenant.logto.app/oidc"},
//		ScopesSupported:      []string{"read:documents"},
//	})
//	mw, err := middleware.New(v, middleware.WithResourceMetadata(prm.URL()))
//	mux.Handle(prm.Path(), prm) // /.well-known/oauth-protected-resource/mcp
//
// It answers GET and HEAD with the document as application/json, with
// Cache-Control "public, max-age=3600" and "Access-Control-Allow-Origin: *"
// (the document is public, and browser-based clients read it across
// origins), OPTIONS (a CORS preflight) with 204, and other methods with 405.
// It serves the same document whatever the request's path: the mux decides
// where it is mounted. A MetadataHandler is immutable and safe for
// concurrent use.
type MetadataHandler struct {
	url  string
	path string
	doc  []byte
}

// NewMetadataHandler checks md and returns a handler serving it. It
// returns an error naming the first field that is wrong (see [Metadata]);
// a default is filled in for BearerMethodsSupported. md is copied: later
// changes to it have no effect.
func NewMetadataHandler(md Metadata) (*MetadataHandler, error) {
	u, err := checkHTTPSURL("Metadata.Resource", md.Resource)
	if err != nil {
		return nil, err
	}
	switch {
	case u.RawQuery != "" || u.ForceQuery:
		// RFC 8707 section 2: a resource indicator SHOULD NOT have one.
		return nil, fmt.Errorf("middleware: Metadata.Resource %q has a query", md.Resource)
	case u.EscapedPath() != u.Path:
		return nil, fmt.Errorf("middleware: Metadata.Resource %q has a path that needs percent-encoding", md.Resource)
	case !cleanPath(u.Path):
		return nil, fmt.Errorf("middleware: Metadata.Resource %q has an empty, '.' or '..' path segment", md.Resource)
	}
	if len(md.AuthorizationServers) == 0 {
		return nil, errors.New("middleware: Metadata.AuthorizationServers is empty; list the issuer, e.g. https://<tenant>.logto.app/oidc")
	}
	for i, s := range md.AuthorizationServers {
		what := fmt.Sprintf("Metadata.AuthorizationServers[%d]", i)
		su, err := checkHTTPSURL(what, s)
		if err != nil {
			return nil, err
		}
		if su.RawQuery != "" || su.ForceQuery {
			return nil, fmt.Errorf("middleware: %s %q has a query", what, s)
		}
	}
	if err := checkList("AuthorizationServers", md.AuthorizationServers, nil); err != nil {
		return nil, err
	}
	if err := checkList("ScopesSupported", md.ScopesSupported, func(s string) error {
		if !permission.Valid(s) {
			return errors.New("is not a permission: empty, or with whitespace, a control character or invalid UTF-8")
		}
		return nil
	}); err != nil {
		return nil, err
	}
	methods := md.BearerMethodsSupported
	if len(methods) == 0 {
		methods = []string{"header"}
	}
	if err := checkList("BearerMethodsSupported", methods, func(s string) error {
		if s != "header" && s != "body" && s != "query" {
			return errors.New(`is not "header", "body" or "query" (RFC 9728 section 2)`)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if d := md.ResourceDocumentation; d != "" {
		du, err := url.Parse(d)
		if err != nil || (du.Scheme != "https" && du.Scheme != "http") || du.Host == "" {
			return nil, fmt.Errorf("middleware: Metadata.ResourceDocumentation %q is not an absolute http or https URL", d)
		}
	}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(metadataDocument{
		Resource:               md.Resource,
		AuthorizationServers:   md.AuthorizationServers,
		ScopesSupported:        md.ScopesSupported,
		BearerMethodsSupported: methods,
		ResourceName:           md.ResourceName,
		ResourceDocumentation:  md.ResourceDocumentation,
	}); err != nil { // cannot happen: strings only
		return nil, fmt.Errorf("middleware: encoding the metadata: %w", err)
	}
	path := metadataPath(u)
	return &MetadataHandler{url: u.Scheme + "://" + u.Host + path, path: path, doc: buf.Bytes()}, nil
}

// metadataPath is the path of the metadata of the resource u (RFC 9728
// section 3.1): the well-known suffix, then u's path unless that is empty
// or "/" (the terminating slash after the host is removed).
func metadataPath(u *url.URL) string {
	if u.Path == "" || u.Path == "/" {
		return wellKnownMetadata
	}
	return wellKnownMetadata + u.Path
}

// cleanPath reports whether p has no empty, "." or ".." segment (but may
// end in a slash): a ServeMux redirects requests for other paths, and
// refuses them as patterns.
func cleanPath(p string) bool {
	if p == "" || p == "/" {
		return true
	}
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") {
		c += "/"
	}
	return c == p
}

// URL returns the URL of the metadata document (RFC 9728 section 3.1),
// https://<host>/.well-known/oauth-protected-resource[/<path>] for a
// resource https://<host>[/<path>]; clients look there first. Pass it to
// [WithResourceMetadata] so that challenges point to it.
func (h *MetadataHandler) URL() string { return h.url }

// Path returns the path of [MetadataHandler.URL], to mount the handler on:
// "/.well-known/oauth-protected-resource" followed by the resource's path.
// It contains no ServeMux wildcard, so it can be given to
// [http.ServeMux.Handle] as a pattern.
func (h *MetadataHandler) Path() string { return h.path }

// ServeHTTP answers as the type's documentation says.
func (h *MetadataHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const allow = "GET, HEAD, OPTIONS"
	hdr := w.Header()
	hdr.Set("Access-Control-Allow-Origin", "*")
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		hdr.Set("Content-Type", "application/json")
		hdr.Set("Cache-Control", metadataCacheControl)
		hdr.Set("Content-Length", strconv.Itoa(len(h.doc)))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(h.doc)
		}
	case http.MethodOptions:
		hdr.Set("Allow", allow)
		hdr.Set("Access-Control-Allow-Methods", allow)
		// MCP clients send MCP-Protocol-Version, which needs a preflight.
		hdr.Set("Access-Control-Allow-Headers", "*")
		w.WriteHeader(http.StatusNoContent)
	default:
		hdr.Set("Allow", allow)
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
	}
}

// checkHTTPSURL parses raw, the field what, and checks that it is an
// absolute https URL (http for a loopback host: localhost, 127.0.0.0/8,
// ::1) in printable ASCII with no user information or fragment, so that
// it can be sent in a challenge's quoted string.
func checkHTTPSURL(what, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "":
		return nil, fmt.Errorf("middleware: %s %q is not an absolute URL", what, raw)
	case u.Scheme != "https" && (u.Scheme != "http" || !isLoopbackHost(u.Hostname())):
		return nil, fmt.Errorf("middleware: %s %q must use https (http only on a loopback host)", what, raw)
	case u.User != nil:
		return nil, fmt.Errorf("middleware: %s %q has user information", what, raw)
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return nil, fmt.Errorf("middleware: %s %q has a fragment", what, raw)
	case !quotable(raw):
		return nil, fmt.Errorf("middleware: %s %q has a character outside printable ASCII, or '\"' or '\\'", what, raw)
	}
	return u, nil
}

// isLoopbackHost reports whether host is "localhost" or a loopback IP.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkList checks every element of the Metadata field list with check
// (if not nil) and that none is repeated.
func checkList(field string, list []string, check func(string) error) error {
	for i, s := range list {
		if check != nil {
			if err := check(s); err != nil {
				return fmt.Errorf("middleware: Metadata.%s[%d] %q %w", field, i, s, err)
			}
		}
		if slices.Contains(list[:i], s) {
			return fmt.Errorf("middleware: Metadata.%s[%d] %q is repeated", field, i, s)
		}
	}
	return nil
}
