package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/examples/internal/exampletest"
)

const resource = "https://api.example.com"

// telemetry is the API of newAPI on a loopback server, with in-memory
// exporters of its spans and metrics.
type telemetry struct {
	iss    *authztest.Issuer
	url    string
	spans  *tracetest.InMemoryExporter
	reader *sdkmetric.ManualReader
}

func newTelemetry(t *testing.T) *telemetry {
	t.Helper()
	// The validator of newAPI runs on the real clock; so does this issuer.
	iss := exampletest.NewTenant(t, authztest.WithClock(time.Now))
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	h, closeAPI, err := newAPI(iss.URL(), resource, tp, mp, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(closeAPI)
	return &telemetry{iss: iss, url: exampletest.NewServer(t, h), spans: spans, reader: reader}
}

// attr returns the value of attribute key of s, "" if it has none.
func attr(s tracetest.SpanStub, key string) string {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value.String()
		}
	}
	return ""
}

// TestSpans: each request has its server span, and under it one span per
// authz decision, started when the decision began (not back-dated at its
// end) and within the request's span, with the outcome as attributes; a
// refusal is not a span error.
func TestSpans(t *testing.T) {
	tel := newTelemetry(t)
	must := exampletest.Mint(t)
	reader := must(tel.iss.APIToken(resource, authztest.Scopes("read:documents")))
	tests := []struct {
		name    string
		token   string
		status  int
		reasons map[string]string // span name -> authz.reason
	}{
		{name: "allowed", token: reader, status: 200, reasons: map[string]string{"authz.validate": "ok", "authz.authorize": "ok"}},
		{name: "allowed again, from the cache", token: reader, status: 200, reasons: map[string]string{"authz.validate": "ok", "authz.authorize": "ok"}},
		{name: "missing permission", token: must(tel.iss.APIToken(resource)), status: 403, reasons: map[string]string{"authz.validate": "ok", "authz.authorize": "insufficient_scope"}},
		{name: "expired", token: must(tel.iss.APIToken(resource, authztest.Expired())), status: 401, reasons: map[string]string{"authz.validate": "expired"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tel.spans.Reset()
			got := exampletest.Send(t, "GET", tel.url+"/documents", tt.token, "")
			require.Equal(t, tt.status, got.Status)

			stubs := tel.spans.GetSpans()
			var server tracetest.SpanStub
			children := map[string]tracetest.SpanStub{}
			for _, s := range stubs {
				if s.SpanKind == trace.SpanKindServer {
					server = s
				} else {
					children[s.Name] = s
				}
			}
			require.True(t, server.SpanContext.IsValid(), "the request's span")
			require.Len(t, children, len(tt.reasons), "%v", stubs)
			for name, reason := range tt.reasons {
				s, ok := children[name]
				require.True(t, ok, name)
				assert.Equal(t, server.SpanContext.SpanID(), s.Parent.SpanID(), "%s is a child of the request's span", name)
				assert.Equal(t, server.SpanContext.TraceID(), s.SpanContext.TraceID())
				assert.Equal(t, reason, attr(s, "authz.reason"), name)
				assert.False(t, s.StartTime.Before(server.StartTime), "%s starts within the request", name)
				assert.False(t, s.EndTime.After(server.EndTime), "%s ends within the request", name)
				assert.True(t, s.EndTime.After(s.StartTime), "%s lasts as long as the decision", name)
				assert.NotEqual(t, "Error", s.Status.Code.String(), "a refusal is not a span error")
				for _, ev := range s.Events {
					for _, kv := range ev.Attributes {
						assert.NotContains(t, kv.Value.String(), strings.Split(tt.token, ".")[2], "never the token")
					}
				}
			}
			if v, ok := children["authz.validate"]; ok {
				assert.Equal(t, map[bool]string{true: "true", false: "false"}[i == 1], attr(v, "authz.cache_hit"))
			}
			if a, ok := children["authz.authorize"]; ok {
				assert.True(t, a.StartTime.After(children["authz.validate"].EndTime) || a.StartTime.Equal(children["authz.validate"].EndTime),
					"the authorization follows the validation")
				assert.Equal(t, "GET /documents", attr(a, "authz.route"))
			}
		})
	}
}

// TestMetrics: the decisions are counted by stage and reason, timed, and
// the JWKS fetch is counted by result.
func TestMetrics(t *testing.T) {
	tel := newTelemetry(t)
	must := exampletest.Mint(t)
	reader := must(tel.iss.APIToken(resource, authztest.Scopes("read:documents")))
	for range 3 {
		require.Equal(t, 200, exampletest.Send(t, "GET", tel.url+"/documents", reader, "").Status)
	}
	require.Equal(t, 401, exampletest.Send(t, "GET", tel.url+"/documents", must(tel.iss.APIToken(resource, authztest.Expired())), "").Status)

	var rm metricdata.ResourceMetrics
	require.NoError(t, tel.reader.Collect(context.Background(), &rm))
	counts := map[string]int64{}
	var timed uint64
	var fetches int64
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != instrumentation {
			continue
		}
		for _, m := range sm.Metrics {
			switch data := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range data.DataPoints {
					switch m.Name {
					case "authz.decisions":
						stage, _ := p.Attributes.Value(attribute.Key("authz.stage"))
						reason, _ := p.Attributes.Value(attribute.Key("authz.reason"))
						counts[stage.AsString()+"/"+reason.AsString()] += p.Value
					case "authz.key_refreshes":
						result, _ := p.Attributes.Value(attribute.Key("result"))
						assert.Equal(t, "ok", result.AsString())
						fetches += p.Value
					}
				}
			case metricdata.Histogram[float64]:
				if m.Name == "authz.decision.duration" {
					for _, p := range data.DataPoints {
						timed += p.Count
					}
				}
			}
		}
	}
	assert.Equal(t, map[string]int64{"validate/ok": 3, "authorize/ok": 3, "validate/expired": 1}, counts)
	assert.Equal(t, uint64(7), timed, "every decision is timed")
	assert.Equal(t, int64(1), fetches, "one JWKS fetch")
}

func TestRunUsage(t *testing.T) {
	exampletest.RunUsage(t, withoutTelemetry, exampletest.APIUsage())
}

// TestRunServesUntilCancelled: run serves the API, writes spans to its
// output, and flushes them when it stops.
func TestRunServesUntilCancelled(t *testing.T) {
	exampletest.FrameworkServesUntilCancelled(t, withoutTelemetry)
}

// withoutTelemetry is run with its telemetry discarded.
func withoutTelemetry(ctx context.Context, getenv func(string) string, stderr io.Writer) int {
	return run(ctx, getenv, io.Discard, stderr)
}
