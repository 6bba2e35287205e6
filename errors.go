package authz

import (
	"errors"
	"net/http"
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
	// most often an ID token sent where an access token belongs. The
	// middleware also answers with it a bearer token where only DPoP-bound
	// tokens are accepted.
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
	// ErrSenderConstrained means the token is bound to a key ("cnf", RFC
	// 7800) and was presented as a bearer token: a DPoP-bound token needs
	// its proof ([Validator.ValidateDPoP]), and a token bound to a client
	// certificate (mutual TLS, RFC 8705) is not supported.
	ErrSenderConstrained = errors.New("authz: sender-constrained token used as a bearer token")
	// ErrDPoPProof means the DPoP proof (RFC 9449) is missing, malformed,
	// not for this request, too old, replayed, or not by the token's key.
	ErrDPoPProof = errors.New("authz: invalid DPoP proof")
	// ErrDPoPNonce means the DPoP proof lacks the server's current nonce
	// (RFC 9449 section 8): the client must make a new proof with the nonce
	// of the DPoP-Nonce response header.
	ErrDPoPNonce = errors.New("authz: DPoP proof needs the server's nonce")
	// ErrReplayUnavailable means the DPoP replay cache could not say whether
	// a proof was seen before: the request could not be judged, and is
	// refused (HTTP 503, not 401) rather than risk a replay.
	ErrReplayUnavailable = errors.New("authz: DPoP replay cache unavailable")
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

// AsError returns err as an [*Error], for a transport to answer: err
// itself, or the *Error it wraps. An error of another type (a bug, not a
// refusal this package makes) becomes an *Error of kind fallback whose
// reason is generic, so that its text never reaches a client. AsError(nil,
// …) is nil.
func AsError(err, fallback error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: fallback, Reason: "request refused", cause: err}
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

// Outcome is how a refusal of one kind is answered on every transport: one
// row of the table that the middleware, the gRPC interceptors, the
// [Observer] and the command-line tool all read, so that a kind of error
// means the same thing everywhere. Get it with [OutcomeOf].
type Outcome struct {
	// Kind is the sentinel error, e.g. [ErrExpired]; nil for success and
	// for an error that is not this package's.
	Kind error
	// Name is the Go name of Kind, e.g. "ErrExpired"; "" when Kind is nil.
	Name string
	// Code is a short, stable code fit for a metric label or a log field:
	// "ok", "expired", "insufficient_scope", ...; "error" for an error
	// that is not this package's.
	Code string
	// HTTPStatus is the status code of the answer (RFC 6750 section 3.1):
	// 400 for a malformed request, 401 for a missing or invalid token, 403
	// for a valid token that may not do what was asked, 503 when the
	// issuer's keys cannot be loaded; 200 for success, 500 otherwise.
	HTTPStatus int
	// ErrorCode is the OAuth error code of the answer. For 400, 401 and 403
	// it is the RFC 6750 error attribute of the WWW-Authenticate challenge,
	// "invalid_request", "invalid_token" or "insufficient_scope"; a request
	// with no token gets a challenge without one (RFC 6750 section 3.1),
	// and ErrorCode "unauthorized" only names the refusal in the response
	// body. A 503 carries no challenge: "temporarily_unavailable" (RFC 6749
	// section 4.1.2.1). Empty for success and for foreign errors.
	ErrorCode string
	// GRPCCode is the number of the gRPC status code of the answer
	// (google.golang.org/grpc/codes, whose numbers the gRPC protocol
	// fixes): 3 InvalidArgument, 16 Unauthenticated, 7 PermissionDenied,
	// 14 Unavailable; 0 OK for success, 13 Internal otherwise. It is a
	// number so that this package does not depend on gRPC.
	GRPCCode uint32
}

// gRPC status code numbers (google.golang.org/grpc/codes).
const (
	grpcOK               = 0
	grpcInvalidArgument  = 3
	grpcPermissionDenied = 7
	grpcInternal         = 13
	grpcUnavailable      = 14
	grpcUnauthenticated  = 16
)

// outcomes is the table behind OutcomeOf: one row per sentinel. Adding a
// sentinel means adding its row here, and nothing else.
var outcomes = [...]Outcome{
	{ErrMissingToken, "ErrMissingToken", "missing_token", http.StatusUnauthorized, "unauthorized", grpcUnauthenticated},
	{ErrInvalidRequest, "ErrInvalidRequest", "invalid_request", http.StatusBadRequest, "invalid_request", grpcInvalidArgument},
	{ErrMalformed, "ErrMalformed", "malformed", http.StatusUnauthorized, "invalid_token", grpcUnauthenticated},
	{ErrAlgorithm, "ErrAlgorithm", "algorithm", http.StatusUnauthorized, "invalid_token", grpcUnauthenticated},
	{ErrTokenType, "ErrTokenType", "token_type", http.StatusUnauthorized, "invalid_token", grpcUnauthenticated},
	{ErrUnknownKey, "ErrUnknownKey", "unknown_key", http.StatusUnauthorized, "invalid_token", grpcUnauthenticated},
	{ErrSignature, "ErrSignature", "signature", http.StatusUnauthorized, "invalid_token", grpcUnauthenticated},
	{ErrIssuer, "ErrIssuer", "issuer", http.StatusUnauthorized, "invalid_token", grpcUnauthenticated},
	{ErrAudience, "ErrAudience", "audience", http.StatusUnauthorized, "invalid_token", grpcUnauthenticated},
	{ErrExpired, "ErrExpired", "expired", http.StatusUnauthorized, "invalid_token", grpcUnauthenticated},
	{ErrNotYetValid, "ErrNotYetValid", "not_yet_valid", http.StatusUnauthorized, "invalid_token", grpcUnauthenticated},
	{ErrInsufficientScope, "ErrInsufficientScope", "insufficient_scope", http.StatusForbidden, "insufficient_scope", grpcPermissionDenied},
	{ErrOrganization, "ErrOrganization", "organization", http.StatusForbidden, "insufficient_scope", grpcPermissionDenied},
	{ErrKeysUnavailable, "ErrKeysUnavailable", "keys_unavailable", http.StatusServiceUnavailable, "temporarily_unavailable", grpcUnavailable},
	{ErrSenderConstrained, "ErrSenderConstrained", "sender_constrained", http.StatusUnauthorized, "invalid_token", grpcUnauthenticated},
	// RFC 9449 section 7.1 defines the error code of a bad proof.
	{ErrDPoPProof, "ErrDPoPProof", "dpop_proof", http.StatusUnauthorized, "invalid_dpop_proof", grpcUnauthenticated},
	{ErrDPoPNonce, "ErrDPoPNonce", "dpop_nonce", http.StatusUnauthorized, "use_dpop_nonce", grpcUnauthenticated},
	{ErrReplayUnavailable, "ErrReplayUnavailable", "replay_unavailable", http.StatusServiceUnavailable, "temporarily_unavailable", grpcUnavailable},
}

var (
	outcomeOK      = Outcome{Code: "ok", HTTPStatus: http.StatusOK, GRPCCode: grpcOK}
	outcomeForeign = Outcome{Code: "error", HTTPStatus: http.StatusInternalServerError, GRPCCode: grpcInternal}
)

// OutcomeOf returns the outcome of err: the row of the sentinel it
// matches with [errors.Is]. An [*Error] is classified by its Kind alone.
// nil gives the "ok" outcome, and an error that matches no sentinel the
// "error" outcome (HTTP 500, gRPC Internal), whose text a transport must
// not show to a client.
func OutcomeOf(err error) Outcome {
	if err == nil {
		return outcomeOK
	}
	var e *Error
	if errors.As(err, &e) {
		if e.Kind == nil {
			return outcomeForeign
		}
		err = e.Kind
	}
	for _, o := range outcomes {
		if err == o.Kind {
			return o
		}
	}
	for _, o := range outcomes {
		if errors.Is(err, o.Kind) {
			return o
		}
	}
	return outcomeForeign
}
