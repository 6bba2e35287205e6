// Package middleware protects net/http handlers with bearer tokens
// validated by an [authz.Validator]: Logto access tokens, or any RFC 9068
// JWT access tokens. It answers refused requests as RFC 6750 says.
//
// Build a [Middleware] once with [New], then wrap handlers. Every method
// returns middleware of the standard func(http.Handler) http.Handler shape
// (or is one), so it composes with any router:
//
//	mw, err := middleware.New(validator)
//	mux.Handle("GET /me", mw.Authenticate(me))
//	mux.Handle("GET /documents", mw.Require("read:documents")(list))
//	mux.Handle("DELETE /documents/{id}", mw.RequireAny("admin:documents", "delete:documents")(remove))
//	mux.Handle("GET /orgs/{org}/members", mw.RequireOrganizationFromPath("org", "read:members")(members))
//	mux.Handle("GET /organization", mw.RequireOrganizationFromToken("read:members")(mine))
//
// or applies one [authz.Policy] to a whole ServeMux with
// [Middleware.Enforce]. A handler behind it reads the claims with
// [authz.FromContext], or checks more permissions with [authz.Check].
//
// # Which token a route accepts
//
// Every route helper and every policy rule is an [authz.Requirement],
// checked by [authz.Requirement.Check]. [Middleware.Require],
// [Middleware.RequireAny] and a policy rule without an organization are
// global routes for API tokens: an organization token is refused with 401
// (it is not a token for this API) and an API token bound to an
// organization with 403 (its organization permissions hold only inside
// it). The RequireOrganizationFrom… helpers and policy rules with an
// organization act inside an organization, and take the kind of token the
// validator accepts. With a validator that accepts both kinds, such a route
// names its kind with [Middleware.Accept] (or a policy rule's Token), or
// building it panics.
//
// # Fail closed
//
// Each middleware authenticates and refuses in the same step: next is
// called only with valid claims in the context, so there is no separate
// "verify" step whose omission would let requests through. Anonymous
// access is a mode of its own,
// [Middleware.AllowAnonymous], and even there a token that is presented
// must be valid. Middleware nested inside another of the same validator
// reuse the claims it put in the context rather than validate the token
// twice; claims made by another validator (or by hand) are never reused,
// and the request's token is validated again. A refusal is written
// before next is called, never after.
//
// # Where the token is
//
// By default only in the Authorization header (RFC 6750 section 2.1):
// "Bearer", in any case, one or more spaces, then exactly one token. A
// header with another scheme (Basic, DPoP) counts as no bearer token.
// [AllowQueryToken] and [AllowFormToken] also accept the access_token
// query parameter and form field (sections 2.3 and 2.2), and
// [AllowCookieToken] a cookie, for same-site web applications. A request with
// two tokens (two Authorization headers, "Bearer a, Bearer b", a header and
// a query parameter), with a token in the query while that is not allowed,
// with an empty Authorization header, or with "Bearer" and no token is
// malformed.
//
// # Browsers (CORS)
//
// A cross-origin call from a browser with an Authorization header is
// preceded by a preflight, an OPTIONS request without credentials. Put
// the CORS middleware around the authz middleware, and it answers
// preflights before they reach authz. If it must sit inside (or handlers
// answer preflights themselves), [AllowPreflight] lets preflights through
// without a token, and nothing else.
//
// # Responses
//
// A refused request gets a status code, a WWW-Authenticate challenge
// (RFC 6750 section 3) and a small JSON body:
//
//	no token               401  Bearer realm="api"
//	                            {"error":"unauthorized","error_description":"the request has no bearer token"}
//	malformed request      400  Bearer realm="api", error="invalid_request", error_description="..."
//	invalid token          401  Bearer realm="api", error="invalid_token", error_description="..."
//	(expired, wrong audience, bad signature, not at+jwt, ...)
//	missing permission,    403  Bearer realm="api", error="insufficient_scope", error_description="...", scope="<required permissions>"
//	wrong organization
//	keys unavailable       503  no challenge; Retry-After: 5
//	                            {"error":"temporarily_unavailable","error_description":"..."}
//
// Every body has Content-Type application/json and the shape
// {"error":"<code>","error_description":"<text>"}; a 403 adds
// "scope":"<required permissions>", all of them, while the challenge's
// scope attribute leaves out a permission that RFC 6750 cannot quote (one
// outside printable ASCII, or with '"' or '\'). The status and code of
// each error kind come from [authz.OutcomeOf]. The description is the
// Reason of the [*authz.Error], restricted to the characters RFC 6750
// allows in it (a double quote becomes a single quote, a backslash a slash,
// anything outside printable ASCII a question mark). The token is never
// part of a response. [WithRealm] changes the realm, [WithErrorHandler]
// replaces the response, and [StatusCode] maps an error to its status code.
//
// # Protected resource metadata (RFC 9728)
//
// [NewMetadataHandler] serves the document that tells a client which
// authorization server issues tokens for this resource, at the well-known
// URL derived from the resource identifier (RFC 9728 section 3.1):
// https://mcp.example.com/mcp has its metadata at
// https://mcp.example.com/.well-known/oauth-protected-resource/mcp.
// [WithResourceMetadata] adds resource_metadata="<that URL>" to every
// challenge the middleware sends (401, 403 and 400; a 403 keeps its
// scope="..."), which is how an MCP client finds it:
//
//	401  Bearer realm="api", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
//
// # Organizations
//
// A route that acts inside an organization must check that the organization
// the request names is the token's: a Logto token for an API requested
// without an organization carries the permissions of all of the user's
// organizations, so a permission check alone would let a member of
// organization A act in organization B. [Middleware.RequireOrganizationFromPath]
// and [Middleware.RequireOrganizationFromHeader] (and policy rules with an
// organization) refuse a token for another organization, or for none,
// whatever its scopes. [Middleware.RequireOrganizationFromToken] (a policy
// rule with "fromToken") acts inside whichever organization the token is
// bound to, and refuses a token bound to none.
//
// # Logging
//
// Every refusal is logged through [log/slog] ([WithLogger]; default
// [slog.Default]): at Debug for 400, 401 and 403, which are routine and
// which any client can send at will, so a production logger at Info shows
// none of them; at Warn for 503, the server's problem. Each record has the
// reason, the method, the path (never the query), the route pattern and,
// once a token validated, its subject. Tokens are never logged. To count
// refusals, use an Observer ([WithObserver]).
//
// # Concurrency
//
// A [Middleware] and the handlers it returns are safe for concurrent use.
package middleware
