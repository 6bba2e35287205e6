package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/examples/internal/exampletest"
)

const resource = "https://api.example.com"

func TestMe(t *testing.T) {
	iss := exampletest.NewTenant(t)
	api := exampletest.NewAPI(t, iss, resource, newHandler)
	mint := exampletest.Mint(t)

	tests := []struct {
		name      string
		token     string
		want      int
		challenge string // in WWW-Authenticate
		body      string // in the body
	}{
		{name: "valid token", token: mint(iss.APIToken(resource, authztest.Subject("alice"))), want: http.StatusOK, body: `{"subject":"alice"}`},
		{name: "machine token", token: mint(iss.MachineToken(resource, "cron-job")), want: http.StatusOK, body: `{"subject":"cron-job"}`},
		{name: "no token", want: http.StatusUnauthorized, challenge: `Bearer realm="api"`},
		{name: "organization token", token: mint(iss.OrganizationToken("org-a")), want: http.StatusUnauthorized, challenge: `error="invalid_token"`},
		{name: "token for another API", token: mint(iss.APIToken("https://billing.example.com")), want: http.StatusUnauthorized, challenge: `error="invalid_token"`},
		{name: "expired", token: mint(iss.APIToken(resource, authztest.Expired())), want: http.StatusUnauthorized, challenge: `error="invalid_token"`},
		{name: "ID token", token: mint(iss.APIToken(resource, authztest.TokenType("JWT"))), want: http.StatusUnauthorized, challenge: `error="invalid_token"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := exampletest.Send(t, "GET", api+"/me", tc.token, "")
			assert.Equal(t, tc.want, got.Status)
			assert.Contains(t, got.Challenge, tc.challenge)
			assert.Contains(t, got.Body, tc.body)
		})
	}
}

func TestRunUsage(t *testing.T) {
	exampletest.RunUsage(t, run, exampletest.APIUsage())
}

func TestRunServesUntilCancelled(t *testing.T) {
	iss := exampletest.NewTenant(t)
	r := exampletest.Start(t, run, map[string]string{"LOGTO_ISSUER": iss.URL(), "API_RESOURCE": resource, "ADDR": "127.0.0.1:0"})

	assert.Equal(t, http.StatusUnauthorized, exampletest.Send(t, "GET", "http://"+r.Addr+"/me", "", "").Status)

	r.Stop(10 * time.Second)
}
