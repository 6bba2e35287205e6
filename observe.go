package authz

import (
	"context"
	"time"

	"github.com/seed31d61d31/authz/internal/jwks"
)

// Observer receives what a [Validator] (see [WithObserver]) and the
// middleware decide, for metrics, traces and audit logs. Either field may be
// nil. The functions are called synchronously, from many goroutines at once:
// they must be fast and safe for concurrent use. They never see a token.
type Observer struct {
	// Start, when it and Decision are set, is called as each decision
	// begins, before any of its work, with the context of the request or
	// call; the context it returns is the one the decision runs under and
	// the one its Decision call receives. Every Decision call follows
	// exactly one Start call, on the same goroutine. A tracer starts a
	// span in Start and ends it in Decision, so that the span covers the
	// whole decision and is a child of the request's span.
	Start func(ctx context.Context, stage Stage) context.Context
	// Decision is called once per validation and once per authorization
	// decision.
	Decision func(ctx context.Context, d Decision)
	// KeyRefresh is called after every JWKS fetch, successful or not.
	KeyRefresh func(r KeyRefresh)
}

// Stage says which decision a [Decision] reports.
type Stage string

// The stages of a decision.
const (
	// StageValidate is the validation of a token: [Validator.Validate].
	StageValidate Stage = "validate"
	// StageAuthorize is a permission or organization decision on validated
	// claims, made by the middleware.
	StageAuthorize Stage = "authorize"
)

// Decision is one decision, without the token.
type Decision struct {
	// Stage is what was decided.
	Stage Stage
	// Err is nil when the request was allowed, else the [*Error] refusing it.
	Err error
	// Issuer, Audience and Organization are the token's; empty when the
	// token did not validate.
	Issuer       string
	Audience     []string
	Organization string
	// Machine reports a machine-to-machine token (see [Claims.IsMachine]).
	Machine bool
	// Latency is the time the decision took (wall clock).
	Latency time.Duration
	// CacheHit reports a validation answered from the verified-token cache.
	CacheHit bool
	// Shared reports a validation answered by the verification of another
	// caller that presented the same token at the same time. A validation
	// that is neither CacheHit nor Shared ran a verification of its own
	// (the signature check, for a well-formed token).
	Shared bool
	// Route is the route pattern of an authorization decision made by the
	// middleware, when known.
	Route string
}

// Reason is a short, stable code for the outcome, fit for a metric label:
// "ok", or the refusal's kind: "missing_token", "malformed", "algorithm",
// "token_type", "unknown_key", "signature", "issuer", "audience", "expired",
// "not_yet_valid", "insufficient_scope", "organization",
// "keys_unavailable", "invalid_request"; "error" for anything else. It is
// [Outcome.Code] of d.Err.
func (d Decision) Reason() string { return OutcomeOf(d.Err).Code }

// Begin marks the start of an authorization decision: it calls o.Start,
// when o.Start and o.Decision are set, and returns the context to make
// the decision under and to give to [Observer.Authorization], and the
// start time to give it. The middleware and the gRPC interceptors call it;
// a transport of your own can too.
func (o Observer) Begin(ctx context.Context) (context.Context, time.Time) {
	if o.Decision == nil {
		return ctx, time.Time{}
	}
	if o.Start != nil {
		ctx = o.Start(ctx, StageAuthorize)
	}
	return ctx, time.Now()
}

// Authorization reports to o.Decision, when it is set, an authorization
// decision on validated claims c: allowed when err is nil, refused by err
// otherwise. route is what was authorized (an HTTP route pattern, a gRPC
// method); ctx and start are what [Observer.Begin] returned when the
// decision began. The middleware and the gRPC interceptors report through
// it; a transport of your own can too.
func (o Observer) Authorization(ctx context.Context, c *Claims, err *Error, route string, start time.Time) {
	if o.Decision == nil {
		return
	}
	var e error
	if err != nil {
		e = err
	}
	d := claimsDecision(StageAuthorize, c, e)
	d.Latency, d.Route = time.Since(start), route
	o.Decision(ctx, d)
}

// claimsDecision is the Decision for claims c, with err (nil when allowed).
func claimsDecision(stage Stage, c *Claims, err error) Decision {
	d := Decision{Stage: stage, Err: err}
	if c != nil {
		d.Issuer, d.Audience, d.Organization, d.Machine = c.Issuer, c.Audience, c.OrganizationID, c.IsMachine()
	}
	return d
}

// KeyRefresh reports one fetch of an issuer's JWKS.
type KeyRefresh struct {
	// Issuer is the issuer whose keys were fetched.
	Issuer string
	// URL is the JWKS URL; empty if OIDC discovery failed.
	URL string
	// Err is nil on success. On failure the previous keys are kept.
	Err error
	// Added and Removed are the kids that joined and left the set.
	Added, Removed []string
	// Keys is the number of keys in the set after the fetch.
	Keys int
}

// WithObserver sets the [Observer] of validations and key refreshes. Default
// none, which costs nothing.
func WithObserver(o Observer) Option {
	return optionFunc(func(c *config) { c.observer = o })
}

// refreshed handles a JWKS fetch: it frees the cache entries of removed
// keys (they are already void through the set's epoch) and tells the
// observer.
func (v *Validator) refreshed(ev jwks.Event) {
	if len(ev.Removed) > 0 && v.cache != nil {
		v.cache.DeleteFunc(func(e *cached) bool { return e.set.Epoch() != e.epoch })
	}
	if v.observer.KeyRefresh != nil {
		v.observer.KeyRefresh(KeyRefresh{Issuer: ev.Issuer, URL: ev.URL, Err: ev.Err, Added: ev.Added, Removed: ev.Removed, Keys: ev.Keys})
	}
}

// observeValidate validates and reports the decision to the observer.
func (v *Validator) observeValidate(ctx context.Context, token string, proof *DPoPRequest) (*Claims, error) {
	if v.observer.Start != nil {
		ctx = v.observer.Start(ctx, StageValidate)
	}
	start := time.Now()
	c, how, err := v.validateScheme(ctx, token, proof)
	d := claimsDecision(StageValidate, c, err)
	d.Latency, d.CacheHit, d.Shared = time.Since(start), how == cacheHit, how == shared
	v.observer.Decision(ctx, d)
	return c, err
}
