package main

// The routes of the API. One policy, policy.json, protects the whole
// ServeMux through mw.Enforce: a route the policy does not list is refused,
// so a handler added without a rule fails closed.

import (
	"bytes"
	_ "embed"
	"net/http"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/examples/internal/serve"
	"github.com/seed31d61d31/authz/middleware"
)

//go:embed policy.json
var policyJSON []byte

// loadPolicy parses the embedded policy; an error names the bad rule and
// its line.
func loadPolicy() (*authz.Policy, error) {
	return authz.LoadPolicy(bytes.NewReader(policyJSON))
}

// newHandler returns the API's routes, protected by mw with policy p.
// The patterns are those of policy.json.
func newHandler(mw *middleware.Middleware, p *authz.Policy) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", healthz)
	mux.HandleFunc("GET /projects", listProjects)
	mux.HandleFunc("POST /orgs/{orgID}/projects", createProject)
	return mw.Enforce(p)(mux)
}

func healthz(w http.ResponseWriter, _ *http.Request) {
	serve.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// listProjects lists the projects of the organization in the
// X-Organization-Id header, which the policy checked is the token's.
func listProjects(w http.ResponseWriter, r *http.Request) {
	claims, _ := authz.FromContext(r.Context()) // always there behind the policy
	serve.WriteJSON(w, http.StatusOK, map[string]any{
		"organization": claims.OrganizationID,
		"projects":     []string{"website", "mobile app"},
	})
}

// createProject creates a project in the organization of the path, which
// the policy checked is the token's.
func createProject(w http.ResponseWriter, r *http.Request) {
	claims, _ := authz.FromContext(r.Context())
	serve.WriteJSON(w, http.StatusCreated, map[string]string{
		"organization": r.PathValue("orgID"),
		"id":           "project-3",
		"created_by":   claims.Subject,
	})
}
