package authz

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// Token is a raw bearer token. It prints and logs as "REDACTED" (through
// fmt's Stringer and GoStringer and [slog.LogValuer]), so a Token that ends
// up in a log line or an error does not leak. Convert it with string(t) where
// the real value is needed, e.g. to forward it downstream.
type Token string

// String returns "REDACTED"; use string(t) for the token itself.
func (Token) String() string { return "REDACTED" }

// GoString returns "REDACTED" for the %#v verb.
func (Token) GoString() string { return "REDACTED" }

// LogValue implements [slog.LogValuer]: a Token logs as "REDACTED".
func (Token) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// Claims are the validated claims of an access token (RFC 9068 section 2.2),
// parsed once. Fields of claims the token lacks are zero.
type Claims struct {
	// Issuer is "iss", one of the configured issuers.
	Issuer string
	// Subject is "sub": the user id, or for a machine-to-machine token the
	// application id (then equal to ClientID).
	Subject string
	// Audience is "aud" as a list, whether the token carried a string or an array.
	Audience []string
	// ClientID is "client_id", the application that obtained the token.
	ClientID string
	// Scopes are the permissions in "scope" (a space-separated string or a
	// JSON array). A missing or empty "scope" gives no scopes.
	Scopes []string
	// OrganizationID is the organization the token is for: from the audience
	// "urn:logto:organization:<id>" of an organization token, or from the
	// "organization_id" claim of an organization-level API token. Empty for a
	// token with no organization.
	OrganizationID string
	// Actor is "act.sub" (RFC 8693): the user acting on behalf of Subject, as
	// in Logto's impersonation. Empty when there is no actor.
	Actor string
	// ExpiresAt is "exp".
	ExpiresAt time.Time
	// IssuedAt is "iat"; zero if absent.
	IssuedAt time.Time
	// NotBefore is "nbf"; zero if absent (Logto never sets it).
	NotBefore time.Time
	// TokenID is "jti".
	TokenID string
	// KeyThumbprint is "cnf.jkt" (RFC 9449 section 6.1): the token is bound
	// to the DPoP key with this RFC 7638 thumbprint, and is accepted only
	// with a proof signed by that key ([Validator.ValidateDPoP]). Empty for
	// a token that is not DPoP-bound.
	KeyThumbprint string

	token Token
	bound bool       // the token has "cnf": sender-constrained, never a bearer token
	org   bool       // the organization came from an organization audience
	v     *Validator // the validator that made these claims; nil for claims made by hand
}

// String summarizes the claims for logs and debugging; the raw token is
// never part of it (fmt would otherwise print the unexported field).
func (c Claims) String() string {
	return fmt.Sprintf("authz.Claims{iss=%q sub=%q client_id=%q aud=%q scope=%q organization=%q exp=%s}",
		c.Issuer, c.Subject, c.ClientID, c.Audience, strings.Join(c.Scopes, " "), c.OrganizationID, c.ExpiresAt.Format(time.RFC3339))
}

// GoString is String, for the %#v verb.
func (c Claims) GoString() string { return c.String() }

// LogValue implements [slog.LogValuer]: the claims log as a group of their
// fields, without the raw token.
func (c Claims) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("iss", c.Issuer),
		slog.String("sub", c.Subject),
		slog.String("client_id", c.ClientID),
		slog.Any("aud", c.Audience),
		slog.String("scope", strings.Join(c.Scopes, " ")),
		slog.String("organization", c.OrganizationID),
		slog.Time("exp", c.ExpiresAt),
	)
}

// IsMachine reports whether the token was issued to an application for
// itself (client credentials): the subject is the client.
func (c *Claims) IsMachine() bool {
	return c.Subject != "" && c.Subject == c.ClientID
}

// IsOrganizationToken reports whether this is an organization token, whose
// audience is "urn:logto:organization:<id>", as opposed to an access token
// for an API resource (which may still carry an organization_id).
func (c *Claims) IsOrganizationToken() bool { return c.org }

// HasScopes reports whether the token grants every one of scopes. It is true
// when scopes is empty.
func (c *Claims) HasScopes(scopes ...string) bool {
	for _, s := range scopes {
		if !slices.Contains(c.Scopes, s) {
			return false
		}
	}
	return true
}

// HasAnyScope reports whether the token grants at least one of scopes. It is
// false when scopes is empty.
func (c *Claims) HasAnyScope(scopes ...string) bool {
	for _, s := range scopes {
		if slices.Contains(c.Scopes, s) {
			return true
		}
	}
	return false
}

// ValidatedBy reports whether v validated the token these claims came
// from. Middleware reuses claims already in a request's context only when
// its own validator made them, so that claims made under one validator's
// audiences never pass a route protected by another. Claims built by hand
// (in tests) report false for every v.
func (c *Claims) ValidatedBy(v *Validator) bool { return v != nil && c.v == v }

// Token returns the raw token these claims came from, e.g. to forward it to
// another service. It logs as "REDACTED".
func (c *Claims) Token() Token { return c.token }

// Decode decodes the token's claims, all of them, into dst, which is a
// pointer to the caller's own struct (or map), as [json.Unmarshal] does. Use
// it for custom claims added by Logto's custom token claims script. The JSON
// is decoded only when Decode is called.
func (c *Claims) Decode(dst any) error {
	parts := strings.SplitN(string(c.token), ".", 3)
	if len(parts) != 3 {
		return newError(ErrMalformed, "claims hold no token to decode")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return wrapError(ErrMalformed, "claims are not base64url", err)
	}
	if err := json.Unmarshal(payload, dst); err != nil {
		return fmt.Errorf("authz: decoding custom claims: %w", err)
	}
	return nil
}
