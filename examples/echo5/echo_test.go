package main

import (
	"net/http"
	"testing"

	"github.com/labstack/echo/v5"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/examples/internal/exampletest"
)

const resource = "https://api.example.com"

// echo.WrapMiddleware works in Use too, where it reads Echo's path
// parameters, and a refusal stops the whole chain: no later middleware or
// handler runs, and Echo writes no second answer.
func TestWrapMiddlewareInUseStopsTheChain(t *testing.T) {
	iss := exampletest.NewTenant(t)
	mw := exampletest.NewMiddleware(t, iss, resource)
	var ran []string
	e := echo.New()
	e.Use(echo.WrapMiddleware(mw.RequireOrganizationFromPath("orgID")), func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			ran = append(ran, "after")
			return next(c)
		}
	})
	e.GET("/orgs/:orgID", func(c *echo.Context) error {
		claims, ok := authz.FromContext(c.Request().Context())
		require.True(t, ok)
		ran = append(ran, "handler:"+claims.OrganizationID)
		return c.NoContent(http.StatusOK)
	}, echo.WrapMiddleware(mw.RequireOrganizationFromToken("read:documents")))
	exampletest.AdapterStopsTheChain(t, iss, resource, exampletest.NewServer(t, e), &ran)
}
