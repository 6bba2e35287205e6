package grpcauthz

import (
	"context"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/internal/baseurl"
	"github.com/seed31d61d31/authz/internal/bearer"
)

// WithDPoP sets which schemes the Interceptor accepts in the
// "authorization" metadata (default [authz.BearerOnly]): with
// [authz.DPoPAllowed] or [authz.DPoPRequired], "DPoP <token>" with exactly
// one "dpop" metadata value, its proof (RFC 9449). They need a validator
// made with [authz.WithDPoP]; New fails otherwise. A gRPC call is an HTTP/2
// POST to its full method, so a proof's "htm" must be POST and its "htu"
// the server's URL followed by the full method
// ("https://api.example.com/package.Service/Method"): by default https
// when the connection uses TLS (http otherwise) and the call's :authority;
// see [WithExternalURL] behind a proxy. When the validator asks for server
// nonces, the current one is sent in the "dpop-nonce" response header.
func WithDPoP(mode authz.DPoPMode) Option {
	return optionFunc(func(c *config) {
		if !mode.Valid() {
			c.Fail("grpcauthz: ", "WithDPoP: unknown mode %d", mode)
			return
		}
		c.dpop = mode
	})
}

// WithExternalURL sets the URL clients reach the server at, for the "htu"
// of DPoP proofs: base ("https://api.example.com") followed by the full
// method. base is an absolute http or https URL without path, query,
// fragment or user information; New fails otherwise.
func WithExternalURL(base string) Option {
	return optionFunc(func(c *config) {
		if !baseurl.Valid(base, false) {
			c.Fail("grpcauthz: ", "WithExternalURL(%q): want an absolute http or https URL with no path, query, fragment or user information", base)
			return
		}
		c.externalURL = base
	})
}

// The metadata keys of DPoP (RFC 9449 sections 4.1 and 8).
const (
	proofKey = "dpop"
	nonceKey = "dpop-nonce"
)

// credential returns the one token in md's "authorization" value and its
// scheme, as the middleware parses the Authorization header.
func (i *Interceptor) credential(md metadata.MD) (string, authz.Token, *authz.Error) {
	schemes := []string{bearer.Bearer}
	if i.dpop != authz.BearerOnly {
		schemes = append(schemes, bearer.DPoP)
	}
	scheme, tok, err := bearer.ParseScheme(md.Get(authorizationKey), "the metadata authorization", schemes...)
	if err != nil {
		return "", "", invalidRequest(err.Reason)
	}
	return scheme, authz.Token(tok), nil
}

// validateDPoP validates the DPoP token tok of the call to fullMethod.
func (i *Interceptor) validateDPoP(ctx context.Context, md metadata.MD, fullMethod string, tok authz.Token) (*authz.Claims, error) {
	proofs := md.Get(proofKey)
	proof := ""
	switch {
	case len(proofs) > 1 || len(proofs) == 1 && strings.Contains(proofs[0], ","):
		return nil, &authz.Error{Kind: authz.ErrDPoPProof, Reason: "the call has more than one DPoP proof"}
	case len(proofs) == 1:
		proof = strings.TrimSpace(proofs[0])
	}
	return i.v.ValidateDPoP(ctx, string(tok), authz.DPoPRequest{Proof: proof, Method: "POST", URL: i.callURL(ctx, md, fullMethod)})
}

// callURL is the URL of the call to fullMethod, for "htu".
func (i *Interceptor) callURL(ctx context.Context, md metadata.MD, fullMethod string) string {
	if i.externalURL != "" {
		return i.externalURL + fullMethod
	}
	scheme := "http"
	if p, ok := peer.FromContext(ctx); ok {
		if _, tls := p.AuthInfo.(credentials.TLSInfo); tls {
			scheme = "https"
		}
	}
	authority := ""
	if a := md.Get(":authority"); len(a) == 1 {
		authority = a[0]
	}
	return scheme + "://" + authority + fullMethod
}

// offerNonce sends the validator's current DPoP nonce, if it asks for
// nonces, in the response header of the call.
func (i *Interceptor) offerNonce(ctx context.Context, stream grpc.ServerStream) {
	n := i.v.DPoPNonce()
	if n == "" {
		return
	}
	md := metadata.Pairs(nonceKey, n)
	if stream != nil {
		_ = stream.SetHeader(md)
		return
	}
	_ = grpc.SetHeader(ctx, md)
}
