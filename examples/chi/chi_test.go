package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
)

// Middleware given to Use on the top-level router runs before chi routes,
// when path values are still empty: RequireOrganizationFromPath then
// refuses even a token for the right organization (it fails closed). This
// is why handler.go puts it on the route's group.
func TestOrganizationMiddlewareBeforeRoutingFailsClosed(t *testing.T) {
	iss := newTenant(t)
	mw := newMiddleware(t, iss)
	r := chi.NewRouter()
	r.Use(mw.RequireOrganizationFromPath("orgID"))
	r.Get("/orgs/{orgID}/members", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)

	tok := must(t)(iss.OrganizationAPIToken(resource, "org-a"))
	got := send(t, "GET", srv.URL+"/orgs/org-a/members", tok, "")
	assert.Equal(t, http.StatusForbidden, got.status)
	assert.Contains(t, got.challenge, `error_description="the request names no organization"`)
}
