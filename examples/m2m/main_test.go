package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/examples/internal/exampletest"
)

const resource = "https://api.example.com"

func TestSync(t *testing.T) {
	iss := exampletest.NewTenant(t)
	api := exampletest.NewAPI(t, iss, resource, newHandler)
	mint := exampletest.Mint(t)

	tests := []struct {
		name      string
		token     string
		want      int
		challenge string // in WWW-Authenticate
	}{
		{name: "machine with sync:data", token: mint(iss.MachineToken(resource, "backup-job", authztest.Scopes("sync:data"))), want: http.StatusOK},
		{name: "user with sync:data", token: mint(iss.APIToken(resource, authztest.Scopes("sync:data"))), want: http.StatusForbidden, challenge: "machine-to-machine"},
		{name: "machine requested with no scope", token: mint(iss.MachineToken(resource, "backup-job")), want: http.StatusForbidden, challenge: `scope="sync:data"`},
		{name: "machine token for Logto's Management API", token: mint(iss.MachineToken("https://tenant.logto.app/api", "backup-job", authztest.Scopes("all"))), want: http.StatusUnauthorized, challenge: `error="invalid_token"`},
		{name: "no token", want: http.StatusUnauthorized, challenge: `Bearer realm="api"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := exampletest.Send(t, "POST", api+"/sync", tc.token, "")
			exampletest.CheckAnswer(t, got, tc.want, tc.challenge)
		})
	}
}

func TestWhoami(t *testing.T) {
	iss := exampletest.NewTenant(t)
	api := exampletest.NewAPI(t, iss, resource, newHandler)
	machine, err := iss.MachineToken(resource, "backup-job")
	require.NoError(t, err)
	user, err := iss.APIToken(resource, authztest.Subject("alice"), authztest.ClientID("web-app"))
	require.NoError(t, err)

	for token, want := range map[string]string{
		machine: `{"subject": "backup-job", "client": "backup-job", "machine": true}`,
		user:    `{"subject": "alice", "client": "web-app", "machine": false}`,
	} {
		got := exampletest.Send(t, "GET", api+"/whoami", token, "")
		require.Equal(t, http.StatusOK, got.Status)
		assert.JSONEq(t, want, got.Body)
	}
}

func TestRunUsage(t *testing.T) {
	exampletest.RunUsage(t, run, exampletest.APIUsage())
}

func TestRunServesUntilCancelled(t *testing.T) {
	iss := exampletest.NewTenant(t)
	r := exampletest.Start(t, run, map[string]string{"LOGTO_ISSUER": iss.URL(), "API_RESOURCE": resource, "ADDR": "127.0.0.1:0"})

	assert.Equal(t, http.StatusUnauthorized, exampletest.Send(t, "GET", "http://"+r.Addr+"/whoami", "", "").Status)

	r.Stop(10 * time.Second)
}
