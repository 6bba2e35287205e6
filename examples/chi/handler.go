package main

// chi middleware has the standard func(http.Handler) http.Handler shape, so
// authz's middleware plugs in as it is, with Use and With, and no adapter.
//
// chi sets the request's path values (r.PathValue) once a route matched,
// before the route's own middleware (With, or Use inside a Route group)
// runs, so RequireOrganizationFromPath reads {orgID} directly. Middleware
// given to Use on the top-level router runs before routing: there the path
// values are still empty, and RequireOrganizationFromPath refuses every
// request (it fails closed). Keep it on the route or its group.

import (
	"encoding/json"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/examples/internal/serve"
	"github.com/seed31d61d31/authz/middleware"
)

// newHandler returns the API's routes, protected by mw.
func newHandler(mw *middleware.Middleware) http.Handler {
	r := chi.NewRouter()
	r.Get("/healthz", health) // public: no middleware

	r.With(mw.Authenticate).Get("/me", me) // any valid token
	r.With(mw.Require("read:documents")).Get("/documents", listDocuments)
	// Either permission will do.
	r.With(mw.RequireAny("delete:documents", "admin:documents")).Delete("/documents/{id}", deleteDocument)

	r.Route("/orgs/{orgID}", func(r chi.Router) {
		// Every route of the group acts inside the organization of the
		// path: the token must be for it, whatever its scopes.
		r.Use(mw.RequireOrganizationFromPath("orgID"))
		// The group pinned the token to the path's organization; inside it a
		// permission is an organization permission: RequireOrganizationFromToken
		// checks it, and reuses the claims the group's middleware validated.
		r.With(mw.RequireOrganizationFromToken("read:members")).Get("/members", listMembers)
		r.Post("/invitations", invite(mw))
	})
	return r
}

func health(w http.ResponseWriter, _ *http.Request) {
	serve.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func me(w http.ResponseWriter, r *http.Request) {
	claims, _ := authz.FromContext(r.Context()) // always there behind the middleware
	serve.WriteJSON(w, http.StatusOK, map[string]any{
		"subject": claims.Subject,
		"machine": claims.IsMachine(),
		"scopes":  claims.Scopes,
	})
}

func listDocuments(w http.ResponseWriter, _ *http.Request) {
	serve.WriteJSON(w, http.StatusOK, map[string][]string{"documents": {"roadmap", "budget"}})
}

func deleteDocument(w http.ResponseWriter, r *http.Request) {
	_ = chi.URLParam(r, "id") // a real service would delete it here
	w.WriteHeader(http.StatusNoContent)
}

func listMembers(w http.ResponseWriter, r *http.Request) {
	serve.WriteJSON(w, http.StatusOK, map[string]any{
		"organization": chi.URLParam(r, "orgID"),
		"members":      []string{"alice", "bob"},
	})
}

// invite checks its permission in the handler: authz.CheckOrganization on
// the organization chi parsed from the path (the group's middleware checked
// the organization already; this is the form for checks that depend on the
// request), answering a refusal with mw.Error exactly as the middleware
// would (403 and an RFC 6750 challenge).
func invite(mw *middleware.Middleware) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		orgID := chi.URLParam(r, "orgID")
		if err := authz.CheckOrganization(r.Context(), orgID, "invite:member"); err != nil {
			mw.Error(w, r, err)
			return
		}
		var req struct {
			Email string `json:"email"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10)).Decode(&req); err != nil || req.Email == "" {
			serve.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": `send {"email": "..."}`})
			return
		}
		claims, _ := authz.FromContext(r.Context())
		serve.WriteJSON(w, http.StatusCreated, map[string]string{
			"organization": orgID,
			"email":        req.Email,
			"invited_by":   claims.Subject,
		})
	}
}
