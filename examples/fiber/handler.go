package main

// The routes of the API and what each requires. Every check is authz's
// net/http middleware, through wrap (adapter.go), except invite's, which
// shows a check in the handler on a parameter Fiber parsed.

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/middleware"
)

// newApp returns the API's routes, protected by mw.
func newApp(mw *middleware.Middleware) *fiber.App {
	app := fiber.New(fiber.Config{DisableStartupMessage: true, BodyLimit: 4 << 10})
	app.Use(recover.New())
	app.Get("/healthz", health) // public: no middleware

	app.Get("/me", wrap(mw.Authenticate), me) // any valid token
	app.Get("/documents", wrap(mw.Require("read:documents")), listDocuments)
	// Either permission will do.
	app.Delete("/documents/:id", wrap(mw.RequireAny("delete:documents", "admin:documents")), deleteDocument)

	// Every route of the group acts inside the organization of the path:
	// the token must be for it, whatever its scopes.
	orgs := app.Group("/orgs/:orgID", wrap(mw.RequireOrganizationFromPath("orgID")))
	// The group pinned the token to the path's organization; inside it a
	// permission is an organization permission: RequireOrganizationFromToken
	// checks it, and reuses the claims the group's middleware validated.
	orgs.Get("/members", wrap(mw.RequireOrganizationFromToken("read:members")), listMembers)
	orgs.Post("/invitations", invite(mw))
	return app
}

func health(c *fiber.Ctx) error {
	return c.JSON(map[string]string{"status": "ok"})
}

func me(c *fiber.Ctx) error {
	claims, _ := authz.FromContext(c.UserContext()) // always there behind the middleware
	return c.JSON(map[string]any{
		"subject": claims.Subject,
		"machine": claims.IsMachine(),
		"scopes":  claims.Scopes,
	})
}

func listDocuments(c *fiber.Ctx) error {
	return c.JSON(map[string][]string{"documents": {"roadmap", "budget"}})
}

func deleteDocument(c *fiber.Ctx) error {
	_ = c.Params("id") // a real service would delete it here
	return c.SendStatus(http.StatusNoContent)
}

func listMembers(c *fiber.Ctx) error {
	return c.JSON(map[string]any{
		"organization": c.Params("orgID"),
		"members":      []string{"alice", "bob"},
	})
}

// invite checks its permission in the handler: authz.CheckOrganization on
// the organization Fiber parsed from the path (the group's middleware
// checked the organization already; this is the form for checks that depend on the
// request), answering a refusal exactly as the middleware would (403 and an
// RFC 6750 challenge) through refuse (adapter.go).
func invite(mw *middleware.Middleware) fiber.Handler {
	return func(c *fiber.Ctx) error {
		orgID := c.Params("orgID")
		if err := authz.CheckOrganization(c.UserContext(), orgID, "invite:member"); err != nil {
			return refuse(c, mw, err)
		}
		var req struct {
			Email string `json:"email"`
		}
		if err := c.BodyParser(&req); err != nil || req.Email == "" {
			return c.Status(http.StatusBadRequest).JSON(map[string]string{"error": `send {"email": "..."}`})
		}
		claims, _ := authz.FromContext(c.UserContext())
		return c.Status(http.StatusCreated).JSON(map[string]string{
			"organization": orgID,
			"email":        req.Email,
			"invited_by":   claims.Subject,
		})
	}
}
