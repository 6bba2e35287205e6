package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz/authztest"
)

const api = "https://api.example.com"

func TestMetrics(t *testing.T) {
	iss, err := authztest.NewIssuer()
	require.NoError(t, err)
	t.Cleanup(iss.Close)
	reg := prometheus.NewRegistry()
	h, closeFn, err := newHandler(iss.URL(), api, reg)
	require.NoError(t, err)
	t.Cleanup(closeFn)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	reader, err := iss.APIToken(api, authztest.Scopes("read:documents"))
	require.NoError(t, err)
	nobody, err := iss.APIToken(api)
	require.NoError(t, err)
	expired, err := iss.APIToken(api, authztest.Expired())
	require.NoError(t, err)
	for _, tc := range []struct {
		token string
		want  int
	}{{reader, 200}, {reader, 200}, {nobody, 403}, {expired, 401}} {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/documents", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tc.token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, tc.want, resp.StatusCode)
	}

	want := `
# HELP authz_decisions_total Token validations and authorization decisions, by stage, reason (ok or why refused) and cache use.
# TYPE authz_decisions_total counter
authz_decisions_total{cache_hit="false",reason="expired",stage="validate"} 1
authz_decisions_total{cache_hit="false",reason="insufficient_scope",stage="authorize"} 1
authz_decisions_total{cache_hit="false",reason="ok",stage="authorize"} 2
authz_decisions_total{cache_hit="false",reason="ok",stage="validate"} 2
authz_decisions_total{cache_hit="true",reason="ok",stage="validate"} 1
`
	assert.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want), "authz_decisions_total"))
	assert.Equal(t, 1.0, testutil.ToFloat64(newGauge(t, reg, "authz_jwks_keys")))

	resp, err := http.Get(srv.URL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	assert.Contains(t, body.String(), `authz_jwks_refreshes_total{issuer="`+iss.URL()+`",outcome="ok"} 1`)
	assert.Contains(t, body.String(), `authz_decision_seconds_count{stage="validate"} 4`)
	assert.NotContains(t, body.String(), reader[strings.LastIndexByte(reader, '.')+1:], "no token in the metrics")
}

// newGauge returns the single gauge named name from reg, as a collector.
func newGauge(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			require.Len(t, mf.GetMetric(), 1)
			g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: "copy"})
			g.Set(mf.GetMetric()[0].GetGauge().GetValue())
			return g
		}
	}
	t.Fatalf("no metric %s", name)
	return nil
}

func TestUsage(t *testing.T) {
	var stderr bytes.Buffer
	assert.Equal(t, 2, run(context.Background(), func(string) string { return "" }, &stderr))
	assert.Contains(t, stderr.String(), "LOGTO_ISSUER")
}
