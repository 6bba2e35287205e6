package middleware

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/seed31d61d31/authz"
)

// Require returns middleware that authenticates the request as
// [Middleware.Authenticate] does and requires the token to grant every one
// of perms (its "scope" claim, RFC 9068 section 2.2.3). A token lacking one
// is refused with 403 and a challenge with error="insufficient_scope" and
// scope="<perms, space-separated>" (RFC 6750 section 3.1). With no perms,
// Require only authenticates. Claims already in the context (from an outer
// Authenticate) are used without validating the token again.
//
// Require panics if a permission is not a valid scope token (RFC 6749
// section 3.3: empty, or with a space, '"', '\' or a character outside
// printable ASCII); it checks its arguments once, when called.
func (m *Middleware) Require(perms ...string) func(http.Handler) http.Handler {
	scope := scopeOf("Require", perms)
	perms = append([]string(nil), perms...)
	return func(next http.Handler) http.Handler {
		if len(perms) == 0 {
			return m.authorize(next, "", nil)
		}
		return m.authorize(next, scope, func(_ *http.Request, c *authz.Claims) *authz.Error {
			if err := c.Check(perms...); err != nil {
				return asError(err, authz.ErrInsufficientScope)
			}
			return nil
		})
	}
}

// RequireAny is [Middleware.Require] for "at least one of perms". The
// challenge of a refusal lists all of perms in its scope attribute, and its
// error_description says one of them is needed.
//
// RequireAny panics if perms is empty (no token could pass) or if a
// permission is not a valid scope token.
func (m *Middleware) RequireAny(perms ...string) func(http.Handler) http.Handler {
	if len(perms) == 0 {
		panic("middleware: RequireAny needs at least one permission")
	}
	scope := scopeOf("RequireAny", perms)
	perms = append([]string(nil), perms...)
	reason := "missing permission: one of " + scope + " is required"
	return func(next http.Handler) http.Handler {
		return m.authorize(next, scope, func(_ *http.Request, c *authz.Claims) *authz.Error {
			if err := c.CheckAny(perms...); err != nil {
				e := asError(err, authz.ErrInsufficientScope)
				return &authz.Error{Kind: e.Kind, Reason: reason, Missing: e.Missing}
			}
			return nil
		})
	}
}

// scopeOf checks perms for the method fn and returns them space-separated,
// the value of a challenge's scope attribute.
func scopeOf(fn string, perms []string) string {
	for _, p := range perms {
		if !validScope(p) {
			panic(fmt.Sprintf("middleware: %s: permission %q is not a valid scope token (RFC 6749 section 3.3)", fn, p))
		}
	}
	return strings.Join(perms, " ")
}
