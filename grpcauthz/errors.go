package grpcauthz

import (
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/seed31d61d31/authz"
)

// unavailable is the code of a call that could not be judged.
const unavailable = codes.Unavailable

// Error returns the gRPC status error for err, an error of the authz
// package, so that a handler refusing a call by its own check answers as
// the interceptors do:
//
//	if err := authz.Check(ctx, "write:documents"); err != nil {
//		return nil, grpcauthz.Error(err)
//	}
//
// The code follows the error's kind ([authz.Outcome.GRPCCode]), as the HTTP
// status does in the middleware:
//
//   - [authz.ErrMissingToken] and every token defect ([authz.ErrExpired],
//     [authz.ErrAudience], [authz.ErrSignature], ...): [codes.Unauthenticated];
//   - [authz.ErrInsufficientScope] and [authz.ErrOrganization]:
//     [codes.PermissionDenied];
//   - [authz.ErrInvalidRequest] (malformed metadata): [codes.InvalidArgument];
//   - [authz.ErrKeysUnavailable]: [codes.Unavailable].
//
// The message is the error's text, "authz: <kind>: <reason>", which never
// contains the token. Error returns nil for nil, and for an error that is
// not an [*authz.Error] a status with [codes.Internal] and the message
// "internal error": its text is not shown to the client.
func Error(err error) error {
	if err == nil {
		return nil
	}
	var e *authz.Error
	if !errors.As(err, &e) {
		return status.Error(codes.Internal, "internal error")
	}
	return statusError(e)
}

// statusError is the status error of e.
func statusError(e *authz.Error) error {
	msg := "authz: call refused"
	switch {
	case e.Kind != nil:
		msg = e.Error()
	case e.Reason != "":
		msg = "authz: " + e.Reason
	}
	return status.Error(codeOf(e), msg)
}

// codeOf is the status code of e, from the authz outcome table.
func codeOf(e *authz.Error) codes.Code { return codes.Code(authz.OutcomeOf(e).GRPCCode) }

// invalidRequest is the error of malformed metadata.
func invalidRequest(reason string) *authz.Error {
	return &authz.Error{Kind: authz.ErrInvalidRequest, Reason: reason}
}
