package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
)

// wrap works in Use too, where it reads Echo's path parameters, and a
// refusal stops the whole chain: no later middleware or handler runs, and
// Echo writes no second answer.
func TestWrapInUseStopsTheChain(t *testing.T) {
	iss := newTenant(t)
	mw := newMiddleware(t, iss)
	var ran []string
	e := echo.New()
	e.Use(wrap(mw.RequireOrganizationFromPath("orgID")), func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ran = append(ran, "after")
			return next(c)
		}
	})
	e.GET("/orgs/:orgID", func(c echo.Context) error {
		claims, ok := authz.FromContext(c.Request().Context())
		require.True(t, ok)
		ran = append(ran, "handler:"+claims.OrganizationID)
		return c.NoContent(http.StatusOK)
	}, wrap(mw.Require("read:documents")))
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	member := must(t)(iss.OrganizationAPIToken(resource, "org-a"))
	reader := must(t)(iss.OrganizationAPIToken(resource, "org-a", authztest.Scopes("read:documents")))

	got := send(t, "GET", srv.URL+"/orgs/org-b", reader, "")
	assert.Equal(t, http.StatusForbidden, got.status, "another organization")
	assert.Empty(t, ran, "nothing runs after a refusal")

	got = send(t, "GET", srv.URL+"/orgs/org-a", member, "")
	assert.Equal(t, http.StatusForbidden, got.status)
	assert.Contains(t, got.challenge, `scope="read:documents"`)
	assert.JSONEq(t, `{"error":"insufficient_scope","error_description":"missing permission read:documents"}`, got.body)
	assert.Equal(t, []string{"after"}, ran)

	got = send(t, "GET", srv.URL+"/orgs/org-a", reader, "")
	assert.Equal(t, http.StatusOK, got.status)
	assert.Equal(t, []string{"after", "after", "handler:org-a"}, ran)
}
