package main

import (
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/examples/internal/exampletest"
)

const resource = "https://api.example.com"

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	m.Run()
}

// wrap works in Use too, where it reads Gin's path parameters, and a
// refusal stops the whole chain: no later middleware or handler runs.
func TestWrapInUseStopsTheChain(t *testing.T) {
	iss := exampletest.NewTenant(t)
	mw := exampletest.NewMiddleware(t, iss, resource)
	var ran []string
	r := gin.New()
	r.Use(wrap(mw.RequireOrganizationFromPath("orgID")), func(c *gin.Context) {
		ran = append(ran, "after")
		c.Next()
	})
	r.GET("/orgs/:orgID", wrap(mw.RequireOrganizationFromToken("read:documents")), func(c *gin.Context) {
		claims, ok := authz.FromContext(c.Request.Context())
		require.True(t, ok)
		ran = append(ran, "handler:"+claims.OrganizationID)
		c.Status(http.StatusOK)
	})
	exampletest.AdapterStopsTheChain(t, iss, resource, exampletest.NewServer(t, r), &ran)
}
