package authz

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/seed31d61d31/authz/internal/permission"
)

// TokenKind is the kind of access token a [Requirement] accepts. Logto
// issues two kinds, whose permissions come from separate namespaces: an
// API resource's permissions, and the organization template's. The names
// may collide ("read:members" can be both), so an operation accepts one
// kind, never whatever kind its validator happens to accept.
type TokenKind uint8

const (
	// APIToken is an access token for an API resource: its "aud" is one of
	// the validator's API audiences (resource indicators), and its "scope"
	// holds that API's permissions. It may be bound to an organization by
	// an "organization_id" claim (an organization-level API token).
	APIToken TokenKind = iota + 1
	// OrganizationToken is a Logto organization token: its "aud" is
	// "urn:logto:organization:<id>" and its "scope" holds organization
	// template permissions. It is always bound to its organization.
	OrganizationToken
)

// String returns "API token" or "organization token" ("unset" for the
// zero value).
func (k TokenKind) String() string {
	switch k {
	case APIToken:
		return "API token"
	case OrganizationToken:
		return "organization token"
	case 0:
		return "unset"
	}
	return fmt.Sprintf("TokenKind(%d)", uint8(k))
}

// MarshalText encodes k as "api" or "organization", as in a policy's JSON.
func (k TokenKind) MarshalText() ([]byte, error) {
	switch k {
	case APIToken:
		return []byte("api"), nil
	case OrganizationToken:
		return []byte("organization"), nil
	case 0:
		return []byte{}, nil
	}
	return nil, fmt.Errorf("authz: invalid TokenKind %d", uint8(k))
}

// UnmarshalText decodes "api" or "organization" (exactly; "" is the zero
// value).
func (k *TokenKind) UnmarshalText(b []byte) error {
	switch string(b) {
	case "api":
		*k = APIToken
	case "organization":
		*k = OrganizationToken
	case "":
		*k = 0
	default:
		return fmt.Errorf(`authz: token kind %q: want "api" or "organization"`, b)
	}
	return nil
}

// OrgBinding says how an operation is bound to an organization.
type OrgBinding uint8

const (
	// NoOrganization is a global operation, outside every organization. A
	// token bound to an organization (an organization token, or an API
	// token with "organization_id") is refused: the permissions its
	// organization roles grant hold only inside that organization.
	NoOrganization OrgBinding = iota
	// OrganizationFromRequest is an operation inside the organization that
	// the request names (a path value, a header, a gRPC metadata key): the
	// token must be bound to that very organization.
	OrganizationFromRequest
	// OrganizationFromToken is an operation inside whatever organization
	// the token is bound to: the token must be bound to one, and the
	// handler scopes its work by [Claims.OrganizationID].
	OrganizationFromToken
)

// String describes the binding.
func (b OrgBinding) String() string {
	switch b {
	case NoOrganization:
		return "no organization"
	case OrganizationFromRequest:
		return "organization from the request"
	case OrganizationFromToken:
		return "organization from the token"
	}
	return fmt.Sprintf("OrgBinding(%d)", uint8(b))
}

// Requirement is what an operation requires of a token, whatever the
// transport: the kind of token, the permissions, and the binding to an
// organization. Every way of protecting something in this module (the
// middleware's Require… helpers and policies, gRPC method rules, the Check
// functions) is a Requirement, checked by [Requirement.Check].
//
// The zero Requirement is a global operation open to any valid API token
// that is not bound to an organization (an API protected without RBAC).
type Requirement struct {
	// Token is the kind of token accepted. Zero means: [APIToken] for an
	// operation with no organization; for one bound to an organization,
	// the one kind the validator that made the claims accepts ([APIToken]
	// when its audiences are API resource indicators, [OrganizationToken]
	// when they are organizations). A validator that accepts both leaves
	// the kind of an organization operation undecided: it must be given.
	Token TokenKind
	// AllOf lists permissions that are all required. Empty: none.
	AllOf []string
	// AnyOf lists permissions of which at least one is required. Empty:
	// none. When both are set, both must hold.
	AnyOf []string
	// Organization binds the operation to an organization. Default
	// [NoOrganization].
	Organization OrgBinding
}

// String describes r in one line, e.g. "API token; organization from the
// request; all of read:members".
func (r Requirement) String() string {
	parts := []string{r.Token.String()}
	if r.Token == 0 {
		parts[0] = "token kind unset"
	}
	parts = append(parts, r.Organization.String())
	if len(r.AllOf) > 0 {
		parts = append(parts, "all of "+strings.Join(r.AllOf, ", "))
	}
	if len(r.AnyOf) > 0 {
		parts = append(parts, "any of "+strings.Join(r.AnyOf, ", "))
	}
	return strings.Join(parts, "; ")
}

// Resolve checks r against the tokens v accepts and returns it with its
// kind filled in and its lists copied: the form that transports build once
// per route and check on every request. It returns an error when a
// permission is not one a "scope" can carry (empty, whitespace, a control
// character, invalid UTF-8), when r is bound to an organization and v
// accepts both API and organization tokens but r.Token is unset, when
// r.Token is a kind v does not accept, or when r asks for an organization
// token outside every organization (such a token is always bound to one).
func (v *Validator) Resolve(r Requirement) (Requirement, error) {
	out := Requirement{Token: r.Token, AllOf: slices.Clone(r.AllOf), AnyOf: slices.Clone(r.AnyOf), Organization: r.Organization}
	if err := out.checkPermissions(); err != nil {
		return Requirement{}, err
	}
	if out.Organization > OrganizationFromToken {
		return Requirement{}, fmt.Errorf("authz: requirement: invalid organization binding %d", uint8(out.Organization))
	}
	if out.Token == 0 {
		k, err := defaultKind(v, out.Organization)
		if err != nil {
			return Requirement{}, err
		}
		out.Token = k
	}
	switch {
	case out.Token == APIToken && !v.acceptsAPI:
		return Requirement{}, errors.New("authz: requirement: API tokens are required, but the validator accepts no API audience (give New the API's resource indicator)")
	case out.Token == OrganizationToken && !v.acceptsOrg:
		return Requirement{}, errors.New("authz: requirement: organization tokens are required, but the validator accepts no organization (give New OrganizationAudience(id) or AnyOrganization)")
	case out.Token == OrganizationToken && out.Organization == NoOrganization:
		return Requirement{}, errors.New("authz: requirement: an organization token is always bound to its organization; bind the requirement to the request's or the token's organization")
	case out.Token > OrganizationToken:
		return Requirement{}, fmt.Errorf("authz: requirement: invalid token kind %d", uint8(out.Token))
	}
	return out, nil
}

// checkPermissions applies the one rule for permission names.
func (r Requirement) checkPermissions() error {
	if reason := permissionsProblem(r.AllOf, r.AnyOf, "AllOf", "AnyOf"); reason != "" {
		return errors.New("authz: requirement: " + reason)
	}
	return nil
}

// permissionsProblem explains why a permission of allOf or anyOf (lists
// named allName and anyName in the explanation) is not one a "scope" can
// carry, or returns "".
func permissionsProblem(allOf, anyOf []string, allName, anyName string) string {
	for _, list := range [...]struct {
		name  string
		perms []string
	}{{allName, allOf}, {anyName, anyOf}} {
		for i, p := range list.perms {
			if reason := permission.Problem(p); reason != "" {
				return fmt.Sprintf("%s[%d] %s", list.name, i, reason)
			}
		}
	}
	return ""
}

// defaultKind is the kind of token an unset Requirement.Token means for
// claims made by v (nil for claims made by hand, which can only be API
// tokens).
func defaultKind(v *Validator, b OrgBinding) (TokenKind, error) {
	switch {
	case b == NoOrganization, v == nil:
		return APIToken, nil
	case v.acceptsAPI && v.acceptsOrg:
		return 0, errors.New("authz: requirement: the validator accepts both API and organization tokens, so an operation inside an organization must say which it takes (set Requirement.Token)")
	case v.acceptsOrg:
		return OrganizationToken, nil
	default:
		return APIToken, nil
	}
}

// Check returns nil if claims c meet r. orgID is the organization the
// request names, for [OrganizationFromRequest] ("" when it names none);
// it is not read otherwise. The checks, in order:
//
//  1. c is nil: [ErrMissingToken];
//  2. the token is not of kind r.Token: [ErrAudience] (the token is not
//     for this resource, as when a validator for the other kind refuses it);
//  3. the binding: with [NoOrganization] a token bound to an organization,
//     with [OrganizationFromRequest] a request that names no organization
//     or a token for another organization or for none, with
//     [OrganizationFromToken] a token for no organization: [ErrOrganization],
//     whatever the token's scopes;
//  4. every permission of AllOf, then one of AnyOf: [ErrInsufficientScope],
//     with the missing ones (or the candidates) in [Error.Missing].
//
// Every refusal is an [*Error]. Check resolves an unset Token as
// [Validator.Resolve] does, from the validator that made c; when that
// validator accepts both kinds and r is bound to an organization, the
// requirement is incomplete and Check fails closed with an error that is
// not an [*Error] (a server bug, answered 500 by the middleware). Check
// does not check the permission names; Resolve does. It is safe for
// concurrent use and allocates nothing when it admits.
func (r Requirement) Check(c *Claims, orgID string) error {
	if c == nil {
		return newError(ErrMissingToken, "")
	}
	kind := r.Token
	if kind == 0 {
		var err error
		if kind, err = defaultKind(c.v, r.Organization); err != nil {
			return err
		}
	}
	switch {
	case kind == APIToken && c.org:
		return newError(ErrAudience, "token is an organization token, not an access token for this API")
	case kind == OrganizationToken && !c.org:
		return newError(ErrAudience, "token is an access token for an API resource, not an organization token")
	case kind != APIToken && kind != OrganizationToken:
		return fmt.Errorf("authz: requirement: invalid token kind %d", uint8(kind))
	}
	switch r.Organization {
	case NoOrganization:
		if c.OrganizationID != "" {
			return newError(ErrOrganization, "token is bound to an organization, whose permissions hold only inside it; this operation is outside every organization")
		}
	case OrganizationFromRequest:
		switch {
		case orgID == "":
			return newError(ErrOrganization, "the request names no organization")
		case c.OrganizationID == "":
			return newError(ErrOrganization, "token is not for any organization")
		case c.OrganizationID != orgID:
			return newError(ErrOrganization, "token is for another organization")
		}
	case OrganizationFromToken:
		if c.OrganizationID == "" {
			return newError(ErrOrganization, "token is not for any organization")
		}
	default:
		return fmt.Errorf("authz: requirement: invalid organization binding %d", uint8(r.Organization))
	}
	if !c.HasScopes(r.AllOf...) {
		var missing []string
		for _, p := range r.AllOf {
			if !slices.Contains(c.Scopes, p) {
				missing = append(missing, p)
			}
		}
		return missingScope(missing)
	}
	if len(r.AnyOf) > 0 && !c.HasAnyScope(r.AnyOf...) {
		return missingAnyScope(slices.Clone(r.AnyOf))
	}
	return nil
}

// Authorize returns nil if the claims in ctx meet r ([Requirement.Check]);
// orgID is the organization the request names, for
// [OrganizationFromRequest]. It returns an error matching [ErrMissingToken]
// when ctx carries no claims. It is the general form of [Check],
// [CheckAny] and [CheckOrganization].
func Authorize(ctx context.Context, r Requirement, orgID string) error {
	c, ok := FromContext(ctx)
	if !ok {
		return newError(ErrMissingToken, "no claims in the context")
	}
	return r.Check(c, orgID)
}

// Check returns nil if the claims in ctx are those of an API token, not
// bound to any organization, that grants every one of perms: a global
// operation ([Claims.Check]). It returns an error matching
// [ErrMissingToken] when ctx carries no claims, and one matching
// [ErrInsufficientScope] whose [Error.Missing] lists the permissions
// lacking. Use it in business logic behind the middleware.
func Check(ctx context.Context, perms ...string) error {
	return Authorize(ctx, Requirement{Token: APIToken, AllOf: perms}, "")
}

// CheckAny is [Check] for "at least one of perms". With no perms it fails.
func CheckAny(ctx context.Context, perms ...string) error {
	c, ok := FromContext(ctx)
	if !ok {
		return newError(ErrMissingToken, "no claims in the context")
	}
	return c.CheckAny(perms...)
}

// CheckOrganization returns nil if the claims in ctx are bound to the
// organization orgID and grant every one of perms. See
// [Claims.CheckOrganization].
func CheckOrganization(ctx context.Context, orgID string, perms ...string) error {
	return Authorize(ctx, Requirement{AllOf: perms, Organization: OrganizationFromRequest}, orgID)
}

// Check returns nil if c is an API token, not bound to any organization,
// that grants every one of perms. A token bound to an organization is
// refused with [ErrOrganization] (its permissions hold only inside the
// organization: use [Claims.CheckOrganization]), an organization token
// with [ErrAudience], and a token lacking a permission with
// [ErrInsufficientScope] listing the missing ones. [Claims.HasScopes]
// reads the scopes alone.
func (c *Claims) Check(perms ...string) error {
	return Requirement{Token: APIToken, AllOf: perms}.Check(c, "")
}

// CheckAny is [Claims.Check] for "at least one of perms"; with no perms it
// fails with [ErrInsufficientScope].
func (c *Claims) CheckAny(perms ...string) error {
	if len(perms) == 0 {
		return missingAnyScope(nil)
	}
	return Requirement{Token: APIToken, AnyOf: perms}.Check(c, "")
}
