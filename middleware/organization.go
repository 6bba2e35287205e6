package middleware

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/seed31d61d31/authz"
)

// RequireOrganizationFromPath returns middleware for a route that acts
// inside one organization, named by the path value name (the wildcard
// {name} of the route's [http.ServeMux] pattern, read with
// [http.Request.PathValue]). It authenticates the request as
// [Middleware.Authenticate] does, then requires the token to be for that
// organization ([authz.Claims.CheckOrganization]: the audience of a Logto
// organization token, or the "organization_id" claim of an
// organization-level API token) and to grant every one of perms.
//
// A token for another organization, or for none, is refused with 403
// whatever its scopes: a Logto API token requested without an organization
// carries the permissions of all of the user's organizations, so a scope
// check alone would let a member of organization A act in organization B.
//
// The middleware must wrap the handler registered on the ServeMux route,
// not the ServeMux itself: path values exist only once the ServeMux has
// matched. Outside a route the path value is empty and every request is
// refused with 403 (it fails closed). For a whole ServeMux, use
// [Middleware.Enforce] with a [authz.Policy].
//
// It panics if name is empty or a permission is not a valid scope token.
func (m *Middleware) RequireOrganizationFromPath(name string, perms ...string) func(http.Handler) http.Handler {
	if name == "" {
		panic("middleware: RequireOrganizationFromPath: empty path value name")
	}
	scope := scopeOf("RequireOrganizationFromPath", perms)
	perms = append([]string(nil), perms...)
	return func(next http.Handler) http.Handler {
		return m.authorize(next, scope, func(r *http.Request, c *authz.Claims) *authz.Error {
			return checkOrganization(c, r.PathValue(name), perms)
		})
	}
}

// RequireOrganizationFromHeader is [Middleware.RequireOrganizationFromPath]
// with the organization named by the request header header (for example
// "X-Organization-Id"). A request without the header (or with it empty) is
// refused with 403; one with the header more than once with 400
// invalid_request.
//
// It panics if header is not a valid header name or a permission is not a
// valid scope token.
func (m *Middleware) RequireOrganizationFromHeader(header string, perms ...string) func(http.Handler) http.Handler {
	if !validHeaderName(header) {
		panic(fmt.Sprintf("middleware: RequireOrganizationFromHeader: %q is not a valid header name", header))
	}
	header = http.CanonicalHeaderKey(header)
	scope := scopeOf("RequireOrganizationFromHeader", perms)
	perms = append([]string(nil), perms...)
	return func(next http.Handler) http.Handler {
		return m.authorize(next, scope, func(r *http.Request, c *authz.Claims) *authz.Error {
			orgID, err := headerOrganization(r, header)
			if err != nil {
				return err
			}
			return checkOrganization(c, orgID, perms)
		})
	}
}

// headerOrganization returns the organization id in the request header
// header, "" if there is none.
func headerOrganization(r *http.Request, header string) (string, *authz.Error) {
	vals := r.Header.Values(header)
	switch len(vals) {
	case 0:
		return "", nil
	case 1:
		return vals[0], nil
	default:
		return "", invalidRequest("the request has more than one " + header + " header")
	}
}

// checkOrganization requires c to be for the organization orgID, named by
// the request, and to grant perms.
func checkOrganization(c *authz.Claims, orgID string, perms []string) *authz.Error {
	if orgID == "" {
		return &authz.Error{Kind: authz.ErrOrganization, Reason: "the request names no organization"}
	}
	if err := c.CheckOrganization(orgID, perms...); err != nil {
		return asError(err, authz.ErrOrganization)
	}
	return nil
}

// validHeaderName reports whether s is an HTTP field name (RFC 9110
// section 5.1: a token).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
