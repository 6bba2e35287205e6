// Package authz lets a Go API trust exactly the right bearer tokens and
// enforce role-based access control on them. It is built for APIs protected
// by Logto and works with any issuer of JWT access tokens (RFC 9068).
//
// # Validating
//
// Build one [Validator] at start-up with [New], from the issuer (for Logto,
// https://<tenant>.logto.app/oidc) and the audiences the API answers to (its
// resource indicator). [Validator.Validate] checks a token's size and shape,
// algorithm, "typ", issuer, key, signature, audience and times, in that
// order, and returns its [Claims]. Every refusal is an [*Error] matching a
// sentinel such as [ErrExpired] or [ErrAudience] with [errors.Is]; messages
// never contain the token.
//
// # Requirements
//
// A valid token is not enough: what a route may do is a [Requirement], the
// same for HTTP, gRPC and business logic. It names the kind of token
// ([APIToken], whose "scope" holds the API's permissions, or
// [OrganizationToken], whose "scope" holds organization template
// permissions: the two namespaces may share names), the permissions (all
// of, or any of), and the binding to an organization ([NoOrganization],
// [OrganizationFromRequest], [OrganizationFromToken]). [Requirement.Check]
// decides; [Validator.Resolve] checks a requirement against the tokens a
// validator accepts, once, when a route is built.
//
// [Check], [CheckAny], [CheckOrganization] and [Authorize] apply
// requirements to the claims the middleware stored in a [context.Context]
// ([NewContext], [FromContext]), for business logic deep inside a service.
// [Check] is a global check: a token bound to an organization is refused,
// because the permissions its organization roles grant hold only inside
// that organization.
//
// # Organizations
//
// An organization token has the audience [OrganizationAudience](id); accept
// them with that audience, or with [AnyOrganization] for all organizations.
// An API token requested for an organization carries "organization_id".
// Either way [Claims.OrganizationID] names the organization, and
// [Claims.CheckOrganization] refuses a token for another organization or for
// none, whatever its scopes. One validator may accept API audiences and
// organizations together; each requirement then says which kind it takes.
//
// # Middleware
//
// Package middleware wraps net/http handlers: it takes the token from the
// Authorization header (RFC 6750), validates it, checks permissions and
// organizations (one route at a time, or a whole [Policy]), puts the
// [Claims] in the request's context and answers refusals with RFC 6750
// challenges: 401, 400, 403, or 503 while keys cannot be loaded.
//
// # Key rotation
//
// Keys come from the issuer's JWKS, found through OIDC discovery. They are
// refreshed in the background and when a token names an unknown "kid" (at
// most once per cooldown, with concurrent requests sharing one fetch, and no
// request ever waiting for the cooldown). A failed refresh keeps the last
// good keys; a key removed from the JWKS stops validating after the refresh
// that removed it. A validation that needs keys while a fetch is in flight
// waits for it, bounded by its context; with no keys loaded and no fetch
// to wait for, it returns [ErrKeysUnavailable]. [Validator.Ready] waits for
// the first keys, for a readiness probe.
//
// # Testing your API
//
// Package authztest runs an in-process issuer shaped like a Logto tenant
// that mints real signed tokens of every kind, so tests need no tenant.
//
// # Observability
//
// [WithObserver] reports every validation (a [Decision], with a stable
// reason code) and every JWKS fetch (a [KeyRefresh]) without the token.
//
// # Security
//
// Defaults are strict: asymmetric algorithms only, "exp" required, "typ"
// at+jwt required, 30 s leeway, https issuers. Every weakening is an option
// named Insecure….
package authz
