// Package grpcauthz protects gRPC servers with bearer tokens validated by an
// [authz.Validator]: Logto access tokens, or any RFC 9068 JWT access tokens.
// It is the gRPC counterpart of the net/http package
// github.com/seed31d61d31/authz/middleware, in a module of its own so that
// the authz module never depends on gRPC.
//
// Build one [Interceptor] with [New] from a validator and a [Methods] map,
// the gRPC counterpart of [authz.Policy]: for each full method name, the
// [Rule] a call must satisfy. Install both of its interceptors:
//
//	a, err := grpcauthz.New(validator, grpcauthz.Methods{
//		"/docs.v1.Documents/Get":    {AllOf: []string{"read:documents"}},
//		"/docs.v1.Documents/Delete": {AnyOf: []string{"delete:documents", "admin:documents"}},
//		"/docs.v1.Members/List":     {OrganizationKey: "x-organization-id", AllOf: []string{"read:members"}},
//		"/docs.v1.Members/Mine":     {OrganizationFromToken: true, AllOf: []string{"read:members"}},
//		"/grpc.health.v1.Health/*":  {Public: true},
//	})
//	srv := grpc.NewServer(
//		grpc.ChainUnaryInterceptor(a.UnaryServerInterceptor),
//		grpc.ChainStreamInterceptor(a.StreamServerInterceptor),
//	)
//
// A handler behind them reads the claims with [authz.FromContext], or checks
// more permissions with [authz.Check] and answers a refusal with [Error].
//
// # Which token a method accepts
//
// A [Rule] is compiled to the [authz.Requirement] that the HTTP middleware
// checks too. A rule without an organization is a global method for API
// tokens: an organization token is refused with Unauthenticated (it is not
// a token for this API), and an API token bound to an organization with
// PermissionDenied (its organization permissions hold only inside it). A
// rule with OrganizationKey or OrganizationFromToken acts inside an
// organization and takes the kind of token the validator accepts; with a
// validator that accepts both kinds, the rule must name its kind
// ([Rule].Token), or [New] fails.
//
// # Methods
//
// A key of [Methods] is a full method name, "/package.Service/Method" (the
// FullMethod of [grpc.UnaryServerInfo] and [grpc.StreamServerInfo]), or
// "/package.Service/*" for every method of a service that has no rule of
// its own. A call to a method no key matches is refused: unlisted methods
// are denied. [New] checks the whole map once and returns an error naming
// the bad entry; nothing is checked per call but the call itself.
//
// # Fail closed
//
// An interceptor authenticates and authorizes in one step: the handler is
// called only when the call passes its method's rule, with the token's
// claims in the context (for a public method, with no claims). The calls of
// a public method are not looked at at all, as the middleware's Enforce
// treats a public rule of an [authz.Policy]: even an invalid token passes.
// Claims already in the context are used without validating the token
// again only when the Interceptor's own validator made them (an earlier
// interceptor of the same validator); claims made otherwise are never
// trusted, and the call's token is validated.
//
// # Where the token is
//
// In the "authorization" metadata, as gRPC's per-RPC credentials send it
// (for example grpc.WithPerRPCCredentials with oauth.TokenSource): "Bearer",
// in any case, one or more spaces, then exactly one token (RFC 6750 section
// 2.1). Metadata with another scheme (Basic) counts as no bearer token. The
// key must appear with exactly one value.
//
// # Status codes
//
// A refused call ends with a status whose code follows the error's kind
// (see [Error]; the codes come from [authz.OutcomeOf]) and whose message
// is the [*authz.Error]'s text,
// "authz: <kind>: <reason>", which never contains the token:
//
//	no token, invalid token          Unauthenticated   (HTTP 401)
//	(expired, wrong audience, ...)
//	missing permission,              PermissionDenied  (HTTP 403)
//	wrong or no organization,
//	unlisted method
//	malformed metadata               InvalidArgument   (HTTP 400)
//	keys unavailable                 Unavailable       (HTTP 503)
//
// Malformed metadata ("authorization" or the organization key given twice,
// "Bearer" with no token, two tokens in one value, an empty value) is
// InvalidArgument, not Unauthenticated, as the middleware answers it with
// 400 invalid_request rather than 401: the call itself is wrong, and a
// client that answers Unauthenticated by fetching a fresh token and
// retrying would only send the same malformed call again. Google's API
// design guide maps InvalidArgument to HTTP 400 and Unauthenticated to 401,
// the same split.
//
// # Organizations
//
// A method that acts inside an organization names the metadata key that
// carries the organization id ([Rule.OrganizationKey]). The token must be
// for that very organization ([authz.Claims.CheckOrganization]: the audience
// of a Logto organization token, or the "organization_id" claim of an
// organization-level API token). A call that names no organization, or
// whose token is for another organization or for none, is refused with
// PermissionDenied whatever its scopes: a Logto API token requested without
// an organization carries the permissions of all of the user's
// organizations. A method with [Rule.OrganizationFromToken] acts inside
// whichever organization the token is bound to (read it from
// [authz.Claims.OrganizationID]) and refuses a token bound to none.
//
// # Observability
//
// [WithObserver] reports every authorization decision, with the key of
// [Methods] that matched as its route, as the middleware's WithObserver does.
//
// # Logging
//
// Every refusal is logged through [log/slog] ([WithLogger]; default
// [slog.Default]): at Info, or at Warn for Unavailable, with the code, the
// reason, the full method and, once a token validated, its subject. Tokens
// are never logged.
//
// # Concurrency
//
// An [Interceptor] is immutable and safe for concurrent use.
package grpcauthz
