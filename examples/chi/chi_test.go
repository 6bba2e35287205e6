package main

import (
	"net/http"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"

	"github.com/seed31d61d31/authz/examples/internal/exampletest"
)

const resource = "https://api.example.com"

// Middleware given to Use on the top-level router runs before chi routes,
// when path values are still empty: RequireOrganizationFromPath then
// refuses even a token for the right organization (it fails closed). This
// is why handler.go puts it on the route's group.
func TestOrganizationMiddlewareBeforeRoutingFailsClosed(t *testing.T) {
	iss := exampletest.NewTenant(t)
	mw := exampletest.NewMiddleware(t, iss, resource)
	r := chi.NewRouter()
	r.Use(mw.RequireOrganizationFromPath("orgID"))
	r.Get("/orgs/{orgID}/members", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	url := exampletest.NewServer(t, r)

	tok := exampletest.Mint(t)(iss.OrganizationAPIToken(resource, "org-a"))
	got := exampletest.Send(t, "GET", url+"/orgs/org-a/members", tok, "")
	assert.Equal(t, http.StatusForbidden, got.Status)
	assert.Contains(t, got.Challenge, `error_description="the request names no organization"`)
}
