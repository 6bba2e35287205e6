package main

// The routes of the API and what each requires. Every check is authz's
// net/http middleware, through wrap (adapter.go), except invite's, which
// shows a check in the handler on a parameter Gin parsed.

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/middleware"
)

// newHandler returns the API's routes, protected by mw.
func newHandler(mw *middleware.Middleware) http.Handler {
	r := gin.New()
	r.Use(gin.Recovery())
	r.GET("/healthz", health) // public: no middleware

	r.GET("/me", wrap(mw.Authenticate), me) // any valid token
	r.GET("/documents", wrap(mw.Require("read:documents")), listDocuments)
	// Either permission will do.
	r.DELETE("/documents/:id", wrap(mw.RequireAny("delete:documents", "admin:documents")), deleteDocument)

	// Every route of the group acts inside the organization of the path:
	// the token must be for it, whatever its scopes.
	orgs := r.Group("/orgs/:orgID", wrap(mw.RequireOrganizationFromPath("orgID")))
	// The group pinned the token to the path's organization; inside it a
	// permission is an organization permission: RequireOrganizationFromToken
	// checks it, and reuses the claims the group's middleware validated.
	orgs.GET("/members", wrap(mw.RequireOrganizationFromToken("read:members")), listMembers)
	orgs.POST("/invitations", invite(mw))
	return r
}

func health(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

func me(c *gin.Context) {
	claims, _ := authz.FromContext(c.Request.Context()) // always there behind the middleware
	c.JSON(http.StatusOK, gin.H{
		"subject": claims.Subject,
		"machine": claims.IsMachine(),
		"scopes":  claims.Scopes,
	})
}

func listDocuments(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"documents": []string{"roadmap", "budget"}})
}

func deleteDocument(c *gin.Context) {
	_ = c.Param("id") // a real service would delete it here
	c.Status(http.StatusNoContent)
}

func listMembers(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{
		"organization": c.Param("orgID"),
		"members":      []string{"alice", "bob"},
	})
}

// invite checks its permission in the handler: authz.CheckOrganization on
// the organization Gin parsed from the path (the group's middleware checked
// the organization already; this is the form for checks that depend on the
// request), answering a refusal with mw.Error exactly as the middleware
// would (403 and an RFC 6750 challenge). Claims are in the request's
// context, not in Gin's: use c.Request.Context().
func invite(mw *middleware.Middleware) gin.HandlerFunc {
	return func(c *gin.Context) {
		orgID := c.Param("orgID")
		if err := authz.CheckOrganization(c.Request.Context(), orgID, "invite:member"); err != nil {
			mw.Error(c.Writer, c.Request, err)
			c.Abort()
			return
		}
		var req struct {
			Email string `json:"email" binding:"required"`
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, 4<<10)
		if err := c.ShouldBindJSON(&req); err != nil {
			c.JSON(http.StatusBadRequest, gin.H{"error": `send {"email": "..."}`})
			return
		}
		claims, _ := authz.FromContext(c.Request.Context())
		c.JSON(http.StatusCreated, gin.H{
			"organization": orgID,
			"email":        req.Email,
			"invited_by":   claims.Subject,
		})
	}
}
