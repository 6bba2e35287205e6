package main

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/seed31d61d31/authz"
)

// instrumentation names the tracer and the meter.
const instrumentation = "github.com/seed31d61d31/authz/examples/otel"

// newObserver returns an authz.Observer that traces and measures every
// decision authz makes:
//
//   - a span per validation ("authz.validate") and per authorization
//     decision ("authz.authorize"), started by Observer.Start as the
//     decision begins, so that it is a child of the request's span and
//     covers the whole decision, and ended by Observer.Decision with the
//     outcome;
//   - authz.decisions, a counter, and authz.decision.duration, a histogram
//     in seconds, by stage and reason (a small, fixed set of values: fit for
//     metric attributes, where issuers, organizations and subjects are not);
//   - authz.key_refreshes, a counter of JWKS fetches by issuer and result.
//
// Refusals are not span errors (a 401 is the right answer to a bad token,
// as OpenTelemetry's HTTP conventions say of 4xx on a server); a validation
// that cannot load the issuer's keys is.
func newObserver(tp trace.TracerProvider, mp metric.MeterProvider) (authz.Observer, error) {
	tracer := tp.Tracer(instrumentation)
	meter := mp.Meter(instrumentation)
	decisions, err := meter.Int64Counter("authz.decisions",
		metric.WithDescription("Token validations and authorization decisions, by stage and reason."))
	if err != nil {
		return authz.Observer{}, err
	}
	duration, err := meter.Float64Histogram("authz.decision.duration", metric.WithUnit("s"),
		metric.WithDescription("Time a validation or an authorization decision took."),
		metric.WithExplicitBucketBoundaries(1e-6, 5e-6, 2e-5, 1e-4, 5e-4, 2e-3, 1e-2, 0.1, 1))
	if err != nil {
		return authz.Observer{}, err
	}
	refreshes, err := meter.Int64Counter("authz.key_refreshes",
		metric.WithDescription("Fetches of an issuer's JWKS, by issuer and result."))
	if err != nil {
		return authz.Observer{}, err
	}
	return authz.Observer{
		Start: func(ctx context.Context, stage authz.Stage) context.Context {
			ctx, _ = tracer.Start(ctx, "authz."+string(stage))
			return ctx
		},
		Decision: func(ctx context.Context, d authz.Decision) {
			labels := metric.WithAttributes(
				attribute.String("authz.stage", string(d.Stage)),
				attribute.String("authz.reason", d.Reason()))
			decisions.Add(ctx, 1, labels)
			duration.Record(ctx, d.Latency.Seconds(), labels)

			span := trace.SpanFromContext(ctx) // the span Start began
			span.SetAttributes(
				attribute.String("authz.stage", string(d.Stage)),
				attribute.String("authz.reason", d.Reason()),
				attribute.String("authz.issuer", d.Issuer),
				attribute.StringSlice("authz.audience", d.Audience),
				attribute.String("authz.organization", d.Organization),
				attribute.Bool("authz.machine", d.Machine),
				attribute.Bool("authz.cache_hit", d.CacheHit),
				attribute.String("authz.route", d.Route))
			if d.Err != nil {
				// The reason, never the token: authz's errors do not echo it.
				span.AddEvent("refused", trace.WithAttributes(attribute.String("authz.error", d.Err.Error())))
			}
			if d.Reason() == "keys_unavailable" {
				span.SetStatus(codes.Error, "the issuer's signing keys are unavailable")
			}
			span.End()
		},
		KeyRefresh: func(r authz.KeyRefresh) {
			result := "ok"
			if r.Err != nil {
				result = "error"
			}
			refreshes.Add(context.Background(), 1, metric.WithAttributes(
				attribute.String("authz.issuer", r.Issuer), attribute.String("result", result)))
		},
	}, nil
}
