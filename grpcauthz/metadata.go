package grpcauthz

import (
	"strings"

	"google.golang.org/grpc/metadata"

	"github.com/seed31d61d31/authz"
)

// authorizationKey is the metadata key of the credentials, as gRPC's
// per-RPC credentials (oauth.TokenSource, ...) send them.
const authorizationKey = "authorization"

// bearerToken returns the one bearer token in md's "authorization" value
// (RFC 6750 section 2.1):
//
//	credentials = "Bearer" 1*SP b64token
//
// The scheme is case-insensitive and one or more spaces may separate it
// from the token. It returns "" and nil when md has no "authorization" key
// or a value with another scheme (Basic, ...), and an error of kind
// [authz.ErrInvalidRequest] when the metadata is malformed: the key given
// twice, an empty value, "Bearer" with no token, or more than one token
// (whitespace or a comma inside it). The token is never part of an error.
func bearerToken(md metadata.MD) (authz.Token, *authz.Error) {
	vals := md.Get(authorizationKey)
	switch len(vals) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", invalidRequest("the metadata authorization is given more than once")
	}
	v := strings.Trim(vals[0], " \t")
	if v == "" {
		return "", invalidRequest("the metadata authorization is empty")
	}
	scheme, rest := v, ""
	if i := strings.IndexAny(v, " \t"); i >= 0 {
		scheme, rest = v[:i], v[i:]
	}
	if !strings.EqualFold(scheme, "Bearer") {
		return "", nil
	}
	tok := strings.TrimLeft(rest, " ")
	switch {
	case tok == "":
		return "", invalidRequest("the metadata authorization has the Bearer scheme but no token")
	case strings.ContainsAny(tok, " \t,"):
		return "", invalidRequest("the metadata authorization must hold exactly one bearer token")
	}
	return authz.Token(tok), nil
}
