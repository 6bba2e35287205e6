package authz

import (
	"errors"
	"strings"
)

// Sentinel errors name every way a token or a request can be refused. Every
// error returned by this package is an [*Error] that matches exactly one of
// them with [errors.Is], so callers branch on the kind of failure without
// parsing messages:
//
//	claims, err := v.Validate(ctx, raw)
//	switch {
//	case errors.Is(err, authz.ErrExpired):          // ask the client to refresh
//	case errors.Is(err, authz.ErrKeysUnavailable):  // 503: the issuer is down
//	case err != nil:                                 // 401
//	}
var (
	// ErrMissingToken means no token was presented, or no claims are in the context.
	ErrMissingToken = errors.New("authz: missing token")
	// ErrInvalidRequest means the HTTP request itself is malformed (RFC 6750
	// section 3.1): two credentials, a token where it is not allowed, an
	// empty "Authorization" header. The middleware answers it with 400.
	ErrInvalidRequest = errors.New("authz: invalid request")
	// ErrMalformed means the token is not a well-formed JWS compact serialization
	// with JSON header and claims (RFC 7515, RFC 7519), or is over the size limit.
	ErrMalformed = errors.New("authz: malformed token")
	// ErrAlgorithm means the token's "alg" is not in the allow-list, or the
	// header asks for something this package does not support ("crit").
	ErrAlgorithm = errors.New("authz: algorithm not allowed")
	// ErrTokenType means the "typ" header is not "at+jwt" (RFC 9068 section 2.1):
	// most often an ID token sent where an access token belongs.
	ErrTokenType = errors.New("authz: not an access token")
	// ErrUnknownKey means the issuer's key set has no usable key for the token's
	// "kid": unknown even after a refresh, or of a type that does not fit "alg".
	ErrUnknownKey = errors.New("authz: unknown signing key")
	// ErrSignature means the signature does not verify.
	ErrSignature = errors.New("authz: invalid signature")
	// ErrIssuer means "iss" is missing or is not a configured issuer.
	ErrIssuer = errors.New("authz: untrusted issuer")
	// ErrAudience means "aud" is missing or names no configured audience.
	ErrAudience = errors.New("authz: wrong audience")
	// ErrExpired means "exp" has passed (beyond the leeway).
	ErrExpired = errors.New("authz: token expired")
	// ErrNotYetValid means "nbf" or "iat" lies in the future (beyond the leeway).
	ErrNotYetValid = errors.New("authz: token not yet valid")
	// ErrInsufficientScope means the token lacks a required permission.
	ErrInsufficientScope = errors.New("authz: insufficient scope")
	// ErrOrganization means the token is not for the required organization, or
	// carries no organization at all.
	ErrOrganization = errors.New("authz: wrong organization")
	// ErrKeysUnavailable means the issuer's keys could not be loaded and none
	// are cached: the request could not be judged (HTTP 503, not 401).
	ErrKeysUnavailable = errors.New("authz: signing keys unavailable")
)

// Error is the error type of this package. Kind is one of the sentinel errors
// above and Reason says, in words safe to show a client, what was wrong. The
// message never contains the token. Use [errors.As] to read the fields, and
// [errors.Is] with a sentinel to branch.
type Error struct {
	// Kind is the sentinel this error matches, e.g. [ErrExpired].
	Kind error
	// Reason is a short, client-safe description, e.g. "expired 5m0s ago".
	Reason string
	// Missing lists the permissions the token lacks, for [ErrInsufficientScope]:
	// all of them for an all-of check, the candidates for an any-of check.
	Missing []string
	// cause is the underlying error (from golang-jwt, jwkset, encoding/json),
	// kept for errors.Is/As and logs; its text is not part of Error().
	cause error
}

// Error returns "authz: <kind>: <reason>".
func (e *Error) Error() string {
	if e.Reason == "" {
		return e.Kind.Error()
	}
	return e.Kind.Error() + ": " + e.Reason
}

// Unwrap returns the sentinel and, when there is one, the underlying cause.
func (e *Error) Unwrap() []error {
	if e.cause == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.cause}
}

func newError(kind error, reason string) *Error {
	return &Error{Kind: kind, Reason: reason}
}

func wrapError(kind error, reason string, cause error) *Error {
	return &Error{Kind: kind, Reason: reason, cause: cause}
}

// missingScope builds the ErrInsufficientScope error for permissions that
// are all required and missing.
func missingScope(missing []string) *Error {
	return &Error{
		Kind:    ErrInsufficientScope,
		Reason:  "missing permission " + strings.Join(missing, " "),
		Missing: missing,
	}
}

// missingAnyScope builds the ErrInsufficientScope error for permissions of
// which one is required and none is granted.
func missingAnyScope(perms []string) *Error {
	return &Error{
		Kind:    ErrInsufficientScope,
		Reason:  "needs one of the permissions " + strings.Join(perms, " "),
		Missing: perms,
	}
}
