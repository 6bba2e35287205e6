package main

import (
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/dpopredis/redistest"
	"github.com/seed31d61d31/authz/examples/internal/exampletest"
)

const resource = "https://api.example.com"

// call sends GET url with the DPoP token and proof (or a Bearer token when
// proof is "").
func call(t *testing.T, url, token, proof string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	require.NoError(t, err)
	if proof == "" {
		req.Header.Set("Authorization", "Bearer "+token)
	} else {
		req.Header.Set("Authorization", "DPoP "+token)
		req.Header.Set("DPoP", proof)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
}

func TestDocuments(t *testing.T) {
	iss := exampletest.NewTenant(t)
	h, closeAPI, err := newAPI(config{issuer: iss.URL(), resource: resource, options: []authz.Option{authz.WithClock(exampletest.Clock)}}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(closeAPI)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	url := srv.URL + "/documents"
	key, err := authztest.NewDPoPKey("ES256", exampletest.Clock)
	require.NoError(t, err)
	must := exampletest.Mint(t)
	tok := must(iss.APIToken(resource, authztest.BoundTo(key), authztest.Scopes("read:documents")))
	proof, err := key.Proof("GET", url, tok)
	require.NoError(t, err)

	got := exampletest.Send(t, "GET", srv.URL+"/healthz", "", "")
	assert.Equal(t, http.StatusOK, got.Status)
	status, _ := call(t, url, tok, proof)
	assert.Equal(t, http.StatusOK, status, "the bound token with its proof")
	status, challenge := call(t, url, tok, proof)
	assert.Equal(t, http.StatusUnauthorized, status, "the same proof again")
	assert.Contains(t, challenge, "replayed")
	status, challenge = call(t, url, tok, "")
	assert.Equal(t, http.StatusUnauthorized, status, "the token without its proof")
	assert.Contains(t, challenge, "DPoP ")
	weak := must(iss.APIToken(resource, authztest.BoundTo(key)))
	p, err := key.Proof("GET", url, weak)
	require.NoError(t, err)
	status, challenge = call(t, url, weak, p)
	assert.Equal(t, http.StatusForbidden, status)
	assert.Contains(t, challenge, `scope="read:documents"`)
}

func TestRunUsage(t *testing.T) {
	exampletest.RunUsage(t, run, append(exampletest.APIUsage(), exampletest.UsageCase{
		Name: "bad EXTERNAL_URL",
		Env:  map[string]string{"LOGTO_ISSUER": "https://tenant.logto.app/oidc", "API_RESOURCE": resource, "EXTERNAL_URL": "api.example.com/"},
		Want: "WithExternalURL",
	}))
}

// TestReplicasShareRedis: two replicas of the example, run as main runs
// them with DPOP_REPLAY_REDIS and one EXTERNAL_URL, against a real
// redis-server: a proof accepted by one is refused by the other.
func TestReplicasShareRedis(t *testing.T) {
	redisAddr := redistest.Start(t)
	iss := exampletest.NewTenant(t, authztest.WithClock(time.Now)) // run's validator uses the real clock
	const external = "https://api.example.com"
	env := map[string]string{"LOGTO_ISSUER": iss.URL(), "API_RESOURCE": resource, "ADDR": "127.0.0.1:0",
		"EXTERNAL_URL": external, "DPOP_REPLAY_REDIS": redisAddr}
	a := exampletest.Start(t, run, env)
	b := exampletest.Start(t, run, env)
	key, err := authztest.NewDPoPKey("ES256", nil)
	require.NoError(t, err)
	tok := exampletest.Mint(t)(iss.APIToken(resource, authztest.BoundTo(key), authztest.Scopes("read:documents")))
	proof, err := key.Proof("GET", external+"/documents", tok)
	require.NoError(t, err)

	status, _ := call(t, "http://"+a.Addr+"/documents", tok, proof)
	assert.Equal(t, http.StatusOK, status, "replica A")
	status, challenge := call(t, "http://"+b.Addr+"/documents", tok, proof)
	assert.Equal(t, http.StatusUnauthorized, status, "replica B refuses the replay")
	assert.Contains(t, challenge, "replayed")
	assert.Contains(t, a.Log.String(), "remembered in Redis")
	a.Stop(10 * time.Second)
	b.Stop(10 * time.Second)
}

// TestRedisDown: with DPOP_REPLAY_REDIS unreachable, a DPoP request is
// refused with 503, never accepted.
func TestRedisDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := l.Addr().String()
	require.NoError(t, l.Close())
	iss := exampletest.NewTenant(t, authztest.WithClock(time.Now))
	r := exampletest.Start(t, run, map[string]string{"LOGTO_ISSUER": iss.URL(), "API_RESOURCE": resource, "ADDR": "127.0.0.1:0", "DPOP_REPLAY_REDIS": dead})
	key, err := authztest.NewDPoPKey("ES256", nil)
	require.NoError(t, err)
	tok := exampletest.Mint(t)(iss.APIToken(resource, authztest.BoundTo(key), authztest.Scopes("read:documents")))
	url := "http://" + r.Addr + "/documents"
	proof, err := key.Proof("GET", url, tok)
	require.NoError(t, err)
	status, _ := call(t, url, tok, proof)
	assert.Equal(t, http.StatusServiceUnavailable, status)
	r.Stop(10 * time.Second)
}
