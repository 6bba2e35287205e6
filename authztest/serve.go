package authztest

import (
	"fmt"
	"net"
	"net/http"
	"strings"
)

// WithListener makes the issuer serve on l instead of on a new listener on
// 127.0.0.1, so that its URL is a chosen address, such as a fixed port for a
// development server. [Issuer.URL] is then "http://" + l.Addr().String() +
// "/oidc", so l should listen on the IP address clients connect to, not on
// an unspecified address such as 0.0.0.0 or [::]. The issuer owns l from
// the call to [NewIssuer] on: [Issuer.Close] closes it, and so does
// NewIssuer when it returns an error. NewIssuer returns an error for a nil
// listener. By default the issuer listens on a new 127.0.0.1 port.
func WithListener(l net.Listener) Option {
	return optionFunc(func(c *config) {
		c.listener = l
		c.listenerSet = true
	})
}

// Handle registers h for pattern under the issuer URL, so that a test or a
// development server can answer more of a Logto tenant's endpoints on the
// issuer's own server: Handle("POST /token", h) serves <URL>/token, the
// token endpoint the discovery document advertises. By default the issuer
// has no routes other than discovery and the JWK Set.
//
// pattern is an [http.ServeMux] pattern without a host: an optional method,
// then a path that starts with "/" and is relative to [Issuer.URL]. Handle
// panics if pattern does not start with such a path, and, as
// [http.ServeMux.Handle] does, if pattern is otherwise invalid, if h is nil,
// or if pattern conflicts with a registered route, including the discovery
// and JWK Set routes. [Issuer.SetUnavailable] does not affect routes added
// with Handle. Handle is safe to call while the server is answering
// requests.
func (i *Issuer) Handle(pattern string, h http.Handler) {
	method, path := "", pattern
	if n := strings.IndexAny(pattern, " \t"); n >= 0 {
		method, path = pattern[:n], strings.TrimLeft(pattern[n:], " \t")
	}
	if !strings.HasPrefix(path, "/") {
		panic(fmt.Sprintf("authztest: Handle: pattern %q must be [METHOD ]/path, with a path relative to the issuer URL and no host", pattern))
	}
	if method != "" {
		method += " "
	}
	i.mux.Handle(method+"/oidc"+path, h)
}
