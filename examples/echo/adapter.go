package main

// Echo middleware is an echo.MiddlewareFunc, not func(http.Handler)
// http.Handler. Echo's own echo.WrapMiddleware converts one into the other;
// the small adapter below adds what authz's organization middleware needs.
// It is part of this example, not of authz: copy it into your code.

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// wrap adapts net/http middleware m (mw.Authenticate, mw.Require(...),
// mw.RequireOrganizationFromPath(...), ...) to Echo:
//
//   - Echo's path parameters become the request's path values first, so
//     that RequireOrganizationFromPath("orgID") reads Echo's :orgID. Echo
//     routes a request before it runs middleware added with Use (but not
//     Pre), so this works in Use, in a group and on a route alike.
//   - echo.WrapMiddleware runs m around the rest of Echo's chain, on the
//     request m passes on, whose context carries the claims; handlers read
//     them with authz.FromContext(c.Request().Context()).
//   - When m refuses the request, it has written the 401/403 answer to
//     c.Response() and the rest of the chain does not run.
func wrap(m func(http.Handler) http.Handler) echo.MiddlewareFunc {
	wrapped := echo.WrapMiddleware(m)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		h := wrapped(next)
		return func(c echo.Context) error {
			r := c.Request()
			values := c.ParamValues()
			for i, name := range c.ParamNames() {
				if i < len(values) {
					r.SetPathValue(name, values[i])
				}
			}
			return h(c)
		}
	}
}
