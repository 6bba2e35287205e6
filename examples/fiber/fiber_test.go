package main

import (
	"net/http"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/examples/internal/exampletest"
)

const resource = exampletest.FrameworkResource

// wrap on a route reads Fiber's path parameters, and a refusal stops the
// whole chain: no later handler runs, and Fiber writes no second answer.
func TestWrapStopsTheChain(t *testing.T) {
	iss := exampletest.NewTenant(t)
	mw := exampletest.NewMiddleware(t, iss, resource)
	var ran []string
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	after := func(c *fiber.Ctx) error {
		ran = append(ran, "after")
		return c.Next()
	}
	app.Get("/orgs/:orgID", wrap(mw.RequireOrganizationFromPath("orgID")), after, wrap(mw.RequireOrganizationFromToken("read:documents")), func(c *fiber.Ctx) error {
		claims, ok := authz.FromContext(c.UserContext())
		require.True(t, ok)
		ran = append(ran, "handler:"+claims.OrganizationID)
		return c.SendStatus(http.StatusOK)
	})
	exampletest.AdapterStopsTheChain(t, iss, resource, listen(t, app), &ran)
}

// The claims a handler gets outlive the request intact: the adapter copies
// every string out of fasthttp's buffers, which are reused for the next
// request on the connection.
func TestClaimsOutliveTheRequest(t *testing.T) {
	iss := exampletest.NewTenant(t)
	mw := exampletest.NewMiddleware(t, iss, resource)
	kept := make(chan *authz.Claims, 2)
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/orgs/:orgID", wrap(mw.RequireOrganizationFromPath("orgID")), func(c *fiber.Ctx) error {
		claims, _ := authz.FromContext(c.UserContext())
		kept <- claims
		return c.SendStatus(http.StatusOK)
	})
	url := listen(t, app)
	must := exampletest.Mint(t)
	first := must(iss.OrganizationAPIToken(resource, "org-a"))
	second := must(iss.OrganizationAPIToken(resource, "org-bbbbbbbb"))
	assert.Equal(t, http.StatusOK, exampletest.Send(t, "GET", url+"/orgs/org-a", first, "").Status)
	assert.Equal(t, http.StatusOK, exampletest.Send(t, "GET", url+"/orgs/org-bbbbbbbb", second, "").Status)
	a := <-kept
	<-kept
	assert.Equal(t, first, string(a.Token()), "the first token, after a second request on the same connection")
	assert.Equal(t, "org-a", a.OrganizationID)
}

// Every header reaches the middleware: two Authorization headers are a
// 400, not the first one alone.
func TestTwoAuthorizationHeaders(t *testing.T) {
	iss := exampletest.NewTenant(t)
	url := listen(t, newApp(exampletest.NewMiddleware(t, iss, resource)))
	tok := exampletest.Mint(t)(iss.APIToken(resource, authztest.Scopes("read:documents")))
	req, err := http.NewRequest("GET", url+"/documents", nil)
	require.NoError(t, err)
	req.Header.Add("Authorization", "Bearer "+tok)
	req.Header.Add("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("WWW-Authenticate"), `error="invalid_request"`)
}
