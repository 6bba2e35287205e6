package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	m.Run()
}

// wrap works in Use too, where it reads Gin's path parameters, and a
// refusal stops the whole chain: no later middleware or handler runs.
func TestWrapInUseStopsTheChain(t *testing.T) {
	iss := newTenant(t)
	mw := newMiddleware(t, iss)
	var ran []string
	r := gin.New()
	r.Use(wrap(mw.RequireOrganizationFromPath("orgID")), func(c *gin.Context) {
		ran = append(ran, "after")
		c.Next()
	})
	r.GET("/orgs/:orgID", wrap(mw.Require("read:documents")), func(c *gin.Context) {
		claims, ok := authz.FromContext(c.Request.Context())
		require.True(t, ok)
		ran = append(ran, "handler:"+claims.OrganizationID)
		c.Status(http.StatusOK)
	})
	srv := httptest.NewServer(r)
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
