// Package baseurl checks the base URLs that transports are given for the
// URL clients reach them at (DPoP's "htu" is that URL and the request's
// path), the one rule for the middleware and grpcauthz.
package baseurl

import (
	"net/url"
	"strings"
)

// Valid reports whether base is an absolute http or https URL with a host
// and no user information, query, fragment or trailing slash; with a
// path only when path is true (a prefix a proxy strips).
func Valid(base string, path bool) bool {
	u, err := url.Parse(base)
	switch {
	case err != nil, u.Scheme != "https" && u.Scheme != "http", u.Host == "", u.User != nil, u.Opaque != "":
		return false
	case u.RawQuery != "", u.ForceQuery, u.Fragment != "", strings.Contains(base, "#"), strings.HasSuffix(base, "/"):
		return false
	}
	return path || u.Path == ""
}
