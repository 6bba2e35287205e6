package middleware

import (
	"fmt"
	"net/http"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/internal/header"
)

// RequireOrganizationFromPath returns middleware for a route that acts
// inside one organization, named by the path value name (the wildcard
// {name} of the route's [http.ServeMux] pattern, read with
// [http.Request.PathValue]). It authenticates the request as
// [Middleware.Authenticate] does, then requires the token to be bound to
// that organization (the audience of a Logto organization token, or the
// "organization_id" claim of an organization-level API token) and to grant
// every one of perms.
//
// The token must be of the kind the validator accepts: organization-level
// API tokens for a validator of API audiences, organization tokens for a
// validator of organizations. A validator that accepts both needs
// [Middleware.Accept] to say which kind the route takes; without it this
// method panics.
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
// It panics if name is empty or a permission is not one a "scope" can
// carry.
func (m *Middleware) RequireOrganizationFromPath(name string, perms ...string) func(http.Handler) http.Handler {
	if name == "" {
		panic("middleware: RequireOrganizationFromPath: empty path value name")
	}
	org := func(r *http.Request) (string, *authz.Error) { return r.PathValue(name), nil }
	return m.guard("RequireOrganizationFromPath", authz.Requirement{AllOf: perms, Organization: authz.OrganizationFromRequest}, org).middleware
}

// RequireOrganizationFromHeader is [Middleware.RequireOrganizationFromPath]
// with the organization named by the request header header (for example
// "X-Organization-Id"). A request without the header (or with it empty) is
// refused with 403; one with the header more than once with 400
// invalid_request.
//
// It panics if header is not a valid header name, and as
// RequireOrganizationFromPath does.
func (m *Middleware) RequireOrganizationFromHeader(header string, perms ...string) func(http.Handler) http.Handler {
	org, err := headerOrganization(header)
	if err != nil {
		panic("middleware: RequireOrganizationFromHeader: " + err.Error())
	}
	return m.guard("RequireOrganizationFromHeader", authz.Requirement{AllOf: perms, Organization: authz.OrganizationFromRequest}, org).middleware
}

// RequireOrganizationFromToken returns middleware for a route that acts
// inside whatever organization the token is bound to: the request names
// none, and the handler scopes its work by [authz.Claims.OrganizationID].
// It authenticates the request as [Middleware.Authenticate] does, then
// requires the token to be bound to an organization and to grant every
// one of perms. A token bound to no organization is refused with 403
// whatever its scopes. The token kind is chosen as for
// [Middleware.RequireOrganizationFromPath], and it panics in the same
// cases.
func (m *Middleware) RequireOrganizationFromToken(perms ...string) func(http.Handler) http.Handler {
	return m.guard("RequireOrganizationFromToken", authz.Requirement{AllOf: perms, Organization: authz.OrganizationFromToken}, nil).middleware
}

// headerOrganization returns the reader of the organization id in the
// request header name: "" if there is none, and invalid_request if it is
// given twice.
func headerOrganization(name string) (func(*http.Request) (string, *authz.Error), error) {
	if !header.ValidName(name) {
		return nil, fmt.Errorf("%q is not a valid header name", name)
	}
	name = http.CanonicalHeaderKey(name)
	return func(r *http.Request) (string, *authz.Error) {
		vals := r.Header.Values(name)
		switch len(vals) {
		case 0:
			return "", nil
		case 1:
			return vals[0], nil
		default:
			return "", invalidRequest("the request has more than one " + name + " header")
		}
	}, nil
}
