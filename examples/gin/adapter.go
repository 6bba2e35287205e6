package main

// Gin middleware is a gin.HandlerFunc, not func(http.Handler) http.Handler,
// so authz's middleware goes through the small adapter below. It is part of
// this example, not of authz: copy it into your code.

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// wrap adapts net/http middleware m (mw.Authenticate, mw.Require(...),
// mw.RequireOrganizationFromPath(...), ...) to Gin:
//
//   - Gin's path parameters become the request's path values first, so that
//     RequireOrganizationFromPath("orgID") reads Gin's :orgID. Gin routes a
//     request before it runs any of its handlers, so this works in Use and
//     on a route alike.
//   - m runs around a handler that continues Gin's chain with c.Next, on the
//     request m passes on, whose context carries the claims; later handlers
//     read them with authz.FromContext(c.Request.Context()).
//   - When m refuses the request, it has written the 401/403 answer to
//     c.Writer and never called that handler: the chain is aborted.
func wrap(m func(http.Handler) http.Handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		for _, p := range c.Params {
			c.Request.SetPathValue(p.Key, p.Value)
		}
		passed := false
		m(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			passed = true
			c.Request = r
			c.Next()
		})).ServeHTTP(c.Writer, c.Request)
		if !passed {
			c.Abort()
		}
	}
}
