package grpcauthz

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/internal/bearer"
	"github.com/seed31d61d31/authz/internal/options"
)

// Interceptor authenticates and authorizes gRPC calls with an
// [authz.Validator] and a [Methods] map. Build it once with [New] and
// install both [Interceptor.UnaryServerInterceptor] and
// [Interceptor.StreamServerInterceptor] on the server. It is immutable and
// safe for concurrent use.
type Interceptor struct {
	v        *authz.Validator
	methods  map[string]*methodRule
	log      *slog.Logger
	observer authz.Observer
	// dpop is WithDPoP's mode; externalURL is WithExternalURL's base.
	dpop        authz.DPoPMode
	externalURL string
}

// New returns an Interceptor that validates tokens with v and enforces
// methods. It checks everything once and returns an error naming the
// problem: a nil v, an empty map, a key that is not "/package.Service/Method"
// or "/package.Service/*", a permission a "scope" cannot carry (empty,
// whitespace, a control character), a public rule that also requires
// something, an invalid organization key, a rule that does not fit the
// validator (a token kind it does not accept, or an organization method
// without a Token kind while it accepts both kinds), or an invalid option.
// It never panics.
//
// By default refusals are logged to [slog.Default].
func New(v *authz.Validator, methods Methods, opts ...Option) (*Interceptor, error) {
	if v == nil {
		return nil, errors.New("grpcauthz: nil *authz.Validator")
	}
	c := config{logger: slog.Default()}
	if err := options.Apply("grpcauthz: ", opts, &c.Failure, func(o Option) { o.apply(&c) }); err != nil {
		return nil, err
	}
	if c.logger == nil {
		return nil, errors.New("grpcauthz: WithLogger(nil)")
	}
	rules, err := compile(v, methods)
	if err != nil {
		return nil, err
	}
	if c.dpop != authz.BearerOnly && v.DPoPAlgorithms() == nil {
		return nil, errors.New("grpcauthz: WithDPoP needs a validator that accepts DPoP (authz.WithDPoP)")
	}
	return &Interceptor{v: v, methods: rules, log: c.logger, observer: c.observer, dpop: c.dpop, externalURL: c.externalURL}, nil
}

// UnaryServerInterceptor is a [grpc.UnaryServerInterceptor]; install it with
// grpc.ChainUnaryInterceptor(i.UnaryServerInterceptor) or
// grpc.UnaryInterceptor. It applies the rule of info.FullMethod and calls
// handler with the token's claims in the context ([authz.FromContext]), or
// returns the refusal as a status error without calling it (see [Error]
// for the codes).
func (i *Interceptor) UnaryServerInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, err := i.authorize(ctx, info.FullMethod, nil)
	if err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// StreamServerInterceptor is a [grpc.StreamServerInterceptor]; install it
// with grpc.ChainStreamInterceptor(i.StreamServerInterceptor) or
// grpc.StreamInterceptor. It applies the rule of info.FullMethod once, when
// the stream opens, and calls handler with a stream whose Context carries
// the token's claims, or returns the refusal as a status error without
// calling it. A token that expires while the stream is open does not end
// the stream.
func (i *Interceptor) StreamServerInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, err := i.authorize(ss.Context(), info.FullMethod, ss)
	if err != nil {
		return err
	}
	if ctx != ss.Context() {
		ss = &serverStream{ServerStream: ss, ctx: ctx}
	}
	return handler(srv, ss)
}

// serverStream is a grpc.ServerStream whose Context carries the claims.
// Holding the context in a struct is the one way to change a stream's
// context; it lives only as long as the stream.
type serverStream struct {
	grpc.ServerStream
	ctx context.Context
}

// Context returns the stream's context with the claims.
func (s *serverStream) Context() context.Context { return s.ctx }

// authorize applies the rule of fullMethod to the call whose incoming
// context is ctx (and whose stream is ss, nil for a unary call). It
// returns the context for the handler, or the status error to end the call
// with.
func (i *Interceptor) authorize(ctx context.Context, fullMethod string, ss grpc.ServerStream) (context.Context, error) {
	r := i.lookup(fullMethod)
	if r != nil && r.public {
		return ctx, nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	c, ok := authz.FromContext(ctx)
	if !ok || !c.ValidatedBy(i.v) { // only this validator's claims are reused
		var err *authz.Error
		var dpop bool
		c, dpop, err = i.authenticate(ctx, md, fullMethod)
		if dpop {
			i.offerNonce(ctx, ss)
		}
		if err != nil {
			return ctx, i.refuse(ctx, fullMethod, err, nil)
		}
		ctx = authz.NewContext(ctx, c)
	}
	octx, start := i.observer.Begin(ctx)
	if r == nil {
		err := &authz.Error{Kind: authz.ErrInsufficientScope, Reason: "no rule lists this method"}
		i.observer.Authorization(octx, c, err, "", start)
		return ctx, i.refuse(ctx, fullMethod, err, c)
	}
	err := r.authorize(md, c)
	i.observer.Authorization(octx, c, err, r.name, start)
	if err != nil {
		return ctx, i.refuse(ctx, fullMethod, err, c)
	}
	return ctx, nil
}

// authenticate validates the bearer token in md.
func (i *Interceptor) authenticate(ctx context.Context, md metadata.MD, fullMethod string) (c *authz.Claims, dpop bool, _ *authz.Error) {
	scheme, tok, err := i.credential(md)
	switch {
	case err != nil:
		return nil, false, err
	case tok == "" && i.dpop == authz.DPoPRequired:
		return nil, false, &authz.Error{Kind: authz.ErrMissingToken, Reason: "the call has no DPoP token"}
	case tok == "":
		return nil, false, &authz.Error{Kind: authz.ErrMissingToken, Reason: "the call has no bearer token"}
	case scheme == bearer.Bearer && i.dpop == authz.DPoPRequired:
		return nil, false, &authz.Error{Kind: authz.ErrTokenType, Reason: "this service accepts only DPoP-bound tokens, sent with the DPoP scheme and a proof"}
	}
	var verr error
	if dpop = scheme == bearer.DPoP; dpop {
		c, verr = i.validateDPoP(ctx, md, fullMethod, tok)
	} else {
		c, verr = i.v.Validate(ctx, string(tok))
	}
	if verr == nil {
		return c, dpop, nil
	}
	e := authz.AsError(verr, authz.ErrMalformed)
	// Validate reports token defects only. Should a kind answered with
	// PermissionDenied (or one meaning "no token") ever come from it, it
	// still means the token does not validate: Unauthenticated.
	if errors.Is(e.Kind, authz.ErrOrganization) || errors.Is(e.Kind, authz.ErrInsufficientScope) ||
		errors.Is(e.Kind, authz.ErrMissingToken) || errors.Is(e.Kind, authz.ErrInvalidRequest) {
		e = &authz.Error{Kind: authz.ErrMalformed, Reason: e.Reason}
	}
	return nil, dpop, e
}

// authorize applies r to the claims c of a call with metadata md.
func (r *methodRule) authorize(md metadata.MD, c *authz.Claims) *authz.Error {
	var orgID string
	if r.orgKey != "" {
		vals := md.Get(r.orgKey)
		if len(vals) > 1 {
			return invalidRequest("the metadata " + r.orgKey + " is given more than once")
		}
		if len(vals) == 1 {
			orgID = vals[0]
		}
	}
	return authz.AsError(r.Check(c, orgID), authz.ErrInsufficientScope)
}

// refuse logs the refusal err of a call to fullMethod, whose claims are c
// (nil before a token validated), and returns its status error.
func (i *Interceptor) refuse(ctx context.Context, fullMethod string, err *authz.Error, c *authz.Claims) error {
	code := codeOf(err)
	level := slog.LevelDebug // see WithLogger
	if code == unavailable {
		level = slog.LevelWarn
	}
	if i.log.Enabled(ctx, level) {
		attrs := make([]slog.Attr, 0, 7)
		reason := "authz: refused"
		if err.Kind != nil {
			reason = err.Kind.Error()
		}
		attrs = append(attrs,
			slog.String("code", code.String()),
			slog.String("reason", reason),
			slog.String("detail", err.Reason),
			slog.String("method", fullMethod),
		)
		if len(err.Missing) > 0 {
			attrs = append(attrs, slog.Any("missing", err.Missing))
		}
		if c != nil {
			attrs = append(attrs, slog.String("sub", c.Subject))
			if c.OrganizationID != "" {
				attrs = append(attrs, slog.String("organization_id", c.OrganizationID))
			}
		}
		i.log.LogAttrs(ctx, level, "authz: call refused", attrs...)
	}
	return statusError(err)
}
