package main

// The adapter between authz and the MCP SDK's bearer-token middleware
// (github.com/modelcontextprotocol/go-sdk/auth).

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/seed31d61d31/authz"
)

// claimsKey is the key of the token's *authz.Claims in auth.TokenInfo.Extra.
const claimsKey = "authz.claims"

// verifier adapts v to the SDK's [auth.TokenVerifier], for
// [auth.RequireBearerToken]. The [auth.TokenInfo] it returns carries the
// token's permissions (Scopes), its "exp" (Expiration), its subject (UserID,
// which the SDK uses to bind a session to one user) and the whole
// *authz.Claims in Extra[claimsKey], for the tools ([claimsOf]).
//
// Claims that an outer authz middleware already put in the context for the
// same token are reused, so the token is validated once per request. Any
// other token is validated with v. A token that does not validate is
// returned as an error wrapping [auth.ErrInvalidToken], which the SDK
// answers with 401, and the *authz.Error, for errors.Is and errors.As.
// [authz.ErrKeysUnavailable] is not a verdict on the token, so it does not
// wrap auth.ErrInvalidToken: the SDK answers it with 500 (authz's own
// middleware, in front, answers it with 503 before the SDK sees it).
func verifier(v *authz.Validator) auth.TokenVerifier {
	return func(ctx context.Context, token string, _ *http.Request) (*auth.TokenInfo, error) {
		c, ok := authz.FromContext(ctx)
		if !ok || string(c.Token()) != token {
			var err error
			if c, err = v.Validate(ctx, token); err != nil {
				if errors.Is(err, authz.ErrKeysUnavailable) {
					return nil, err
				}
				return nil, fmt.Errorf("%w: %w", auth.ErrInvalidToken, err)
			}
		}
		return &auth.TokenInfo{
			Scopes:     slices.Clone(c.Scopes),
			Expiration: c.ExpiresAt,
			UserID:     c.Subject,
			Extra:      map[string]any{claimsKey: c},
		}, nil
	}
}

// claimsOf returns the claims of the token that authorized the request,
// which [verifier] put into its TokenInfo. The SDK passes every request its
// own TokenInfo, so these are the claims of this very request, not those of
// the request that opened the session.
func claimsOf(extra *mcp.RequestExtra) (*authz.Claims, bool) {
	if extra == nil || extra.TokenInfo == nil {
		return nil, false
	}
	c, ok := extra.TokenInfo.Extra[claimsKey].(*authz.Claims)
	return c, ok && c != nil
}
