package main

// The routes act inside the organization named in the path. The middleware
// requires the token to be an organization token for that very organization
// and to grant the organization permission: a member of org A is refused in
// org B (403) whatever the roles it holds in A.

import (
	"encoding/json"
	"net/http"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/examples/internal/serve"
	"github.com/seed31d61d31/authz/middleware"
)

// newHandler returns the API's routes, protected by mw.
func newHandler(mw *middleware.Middleware) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /orgs/{orgID}/members",
		mw.RequireOrganizationFromPath("orgID", "read:members")(http.HandlerFunc(listMembers)))
	mux.Handle("POST /orgs/{orgID}/invitations",
		mw.RequireOrganizationFromPath("orgID", "invite:member")(http.HandlerFunc(invite)))
	return mux
}

func listMembers(w http.ResponseWriter, r *http.Request) {
	// A real service would look up the members of r.PathValue("orgID").
	serve.WriteJSON(w, http.StatusOK, map[string]any{
		"organization": r.PathValue("orgID"),
		"members":      []string{"alice", "bob"},
	})
}

func invite(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Email string `json:"email"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10)).Decode(&req); err != nil || req.Email == "" {
		serve.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": `send {"email": "..."}`})
		return
	}
	claims, _ := authz.FromContext(r.Context()) // always there behind the middleware
	serve.WriteJSON(w, http.StatusCreated, map[string]string{
		"organization": claims.OrganizationID, // equal to r.PathValue("orgID")
		"email":        req.Email,
		"invited_by":   claims.Subject,
	})
}
