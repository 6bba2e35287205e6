package grpcauthz

import (
	"google.golang.org/grpc/metadata"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/internal/bearer"
)

// authorizationKey is the metadata key of the credentials, as gRPC's
// per-RPC credentials (oauth.TokenSource, ...) send them.
const authorizationKey = "authorization"

// bearerToken returns the one bearer token in md's "authorization" value
// (RFC 6750 section 2.1, parsed as the middleware parses the Authorization
// header): "" and nil when there is none or the value has another scheme,
// and an error of kind [authz.ErrInvalidRequest] when the metadata is
// malformed. The token is never part of an error.
func bearerToken(md metadata.MD) (authz.Token, *authz.Error) {
	tok, err := bearer.Parse(md.Get(authorizationKey), "the metadata authorization")
	if err != nil {
		return "", invalidRequest(err.Reason)
	}
	return authz.Token(tok), nil
}
