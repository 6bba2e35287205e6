package main

import (
	"context"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seed31d61d31/authz"
)

// metrics turns what authz decides into Prometheus metrics.
type metrics struct {
	decisions *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	refreshes *prometheus.CounterVec
	keys      *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authz_decisions_total",
			Help: "Token validations and authorization decisions, by stage, reason (ok or why refused) and cache use.",
		}, []string{"stage", "reason", "cache_hit"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "authz_decision_seconds",
			Help:    "Time taken by a decision.",
			Buckets: []float64{1e-6, 5e-6, 25e-6, 100e-6, 500e-6, 1e-3, 5e-3, 25e-3, 0.1},
		}, []string{"stage"}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authz_jwks_refreshes_total",
			Help: "JWKS fetches, by issuer and outcome.",
		}, []string{"issuer", "outcome"}),
		keys: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "authz_jwks_keys",
			Help: "Keys in the issuer's JWKS after the last fetch.",
		}, []string{"issuer"}),
	}
	reg.MustRegister(m.decisions, m.latency, m.refreshes, m.keys)
	return m
}

// observer is the authz.Observer to give to both authz.New and
// middleware.New. It never sees a token.
func (m *metrics) observer() authz.Observer {
	return authz.Observer{
		Decision: func(_ context.Context, d authz.Decision) {
			stage := string(d.Stage)
			m.decisions.WithLabelValues(stage, d.Reason(), strconv.FormatBool(d.CacheHit)).Inc()
			m.latency.WithLabelValues(stage).Observe(d.Latency.Seconds())
		},
		KeyRefresh: func(r authz.KeyRefresh) {
			outcome := "ok"
			if r.Err != nil {
				outcome = "error"
			}
			m.refreshes.WithLabelValues(r.Issuer, outcome).Inc()
			m.keys.WithLabelValues(r.Issuer).Set(float64(r.Keys))
		},
	}
}
