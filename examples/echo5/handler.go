package main

// The routes of the API and what each requires. Every check is authz's
// net/http middleware, through echo.WrapMiddleware, except invite's, which
// shows a check in the handler on a parameter Echo parsed.

import (
	"net/http"

	"github.com/labstack/echo/v5"
	echomw "github.com/labstack/echo/v5/middleware"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/middleware"
)

// newHandler returns the API's routes, protected by mw.
//
// echo.WrapMiddleware turns mw's func(http.Handler) http.Handler into an
// echo.MiddlewareFunc. Before it runs the middleware it sets the request's
// path values from Echo's path parameters (so that
// RequireOrganizationFromPath("orgID") reads Echo's :orgID) and its
// Pattern from the route (which authz logs), and it runs the rest of the
// chain on the request the middleware passes on, whose context carries the
// claims. A refusal is written to c.Response() and the rest of the chain
// does not run.
func newHandler(mw *middleware.Middleware) http.Handler {
	e := echo.New()
	e.Use(echomw.Recover())
	e.GET("/healthz", health) // public: no middleware

	e.GET("/me", me, echo.WrapMiddleware(mw.Authenticate)) // any valid token
	e.GET("/documents", listDocuments, echo.WrapMiddleware(mw.Require("read:documents")))
	// Either permission will do.
	e.DELETE("/documents/:id", deleteDocument, echo.WrapMiddleware(mw.RequireAny("delete:documents", "admin:documents")))

	// Every route of the group acts inside the organization of the path:
	// the token must be for it, whatever its scopes.
	orgs := e.Group("/orgs/:orgID", echo.WrapMiddleware(mw.RequireOrganizationFromPath("orgID")))
	// The group pinned the token to the path's organization; inside it a
	// permission is an organization permission: RequireOrganizationFromToken
	// checks it, and reuses the claims the group's middleware validated.
	orgs.GET("/members", listMembers, echo.WrapMiddleware(mw.RequireOrganizationFromToken("read:members")))
	orgs.POST("/invitations", invite(mw))
	return e
}

func health(c *echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

func me(c *echo.Context) error {
	claims, _ := authz.FromContext(c.Request().Context()) // always there behind the middleware
	return c.JSON(http.StatusOK, map[string]any{
		"subject": claims.Subject,
		"machine": claims.IsMachine(),
		"scopes":  claims.Scopes,
	})
}

func listDocuments(c *echo.Context) error {
	return c.JSON(http.StatusOK, map[string][]string{"documents": {"roadmap", "budget"}})
}

func deleteDocument(c *echo.Context) error {
	_ = c.Param("id") // a real service would delete it here
	return c.NoContent(http.StatusNoContent)
}

func listMembers(c *echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{
		"organization": c.Param("orgID"),
		"members":      []string{"alice", "bob"},
	})
}

// invite checks its permission in the handler: authz.CheckOrganization on
// the organization Echo parsed from the path (the group's middleware checked
// the organization already; this is the form for checks that depend on the
// request), answering a refusal with mw.Error exactly as the middleware
// would (403 and an RFC 6750 challenge). It returns nil after mw.Error: the
// answer is written, and Echo's error handler must not write another.
func invite(mw *middleware.Middleware) echo.HandlerFunc {
	return func(c *echo.Context) error {
		orgID := c.Param("orgID")
		if err := authz.CheckOrganization(c.Request().Context(), orgID, "invite:member"); err != nil {
			mw.Error(c.Response(), c.Request(), err)
			return nil
		}
		var req struct {
			Email string `json:"email"`
		}
		c.Request().Body = http.MaxBytesReader(c.Response(), c.Request().Body, 4<<10)
		if err := c.Bind(&req); err != nil || req.Email == "" {
			return c.JSON(http.StatusBadRequest, map[string]string{"error": `send {"email": "..."}`})
		}
		claims, _ := authz.FromContext(c.Request().Context())
		return c.JSON(http.StatusCreated, map[string]string{
			"organization": orgID,
			"email":        req.Email,
			"invited_by":   claims.Subject,
		})
	}
}
