package middleware

import (
	"github.com/seed31d61d31/authz"
)

// retryAfter is the Retry-After value, in seconds, of a 503 answer.
const retryAfter = "5"

// StatusCode returns the HTTP status code the middleware answers err with,
// following RFC 6750 section 3.1. It is meant for handlers given to
// [WithErrorHandler]:
//
//   - [authz.ErrInvalidRequest]: 400 Bad Request;
//   - [authz.ErrMissingToken] and every token defect ([authz.ErrExpired],
//     [authz.ErrAudience], [authz.ErrSignature], ...): 401 Unauthorized;
//   - [authz.ErrInsufficientScope] and [authz.ErrOrganization]: 403 Forbidden;
//   - [authz.ErrKeysUnavailable]: 503 Service Unavailable.
//
// It returns 200 for nil and 500 for an error that is not an [*authz.Error].
// It is [authz.Outcome.HTTPStatus] of [authz.OutcomeOf](err).
func StatusCode(err error) int { return authz.OutcomeOf(err).HTTPStatus }

// invalidRequest is the error of a malformed request.
func invalidRequest(reason string) *authz.Error {
	return &authz.Error{Kind: authz.ErrInvalidRequest, Reason: reason}
}
