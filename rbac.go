package authz

import (
	"context"
	"slices"
)

// Check returns nil if the claims in ctx grant every one of perms. It returns
// an error matching [ErrMissingToken] when ctx carries no claims, and one
// matching [ErrInsufficientScope] whose [Error.Missing] lists the
// permissions lacking otherwise. Use it in business logic behind the
// middleware.
func Check(ctx context.Context, perms ...string) error {
	c, ok := FromContext(ctx)
	if !ok {
		return newError(ErrMissingToken, "no claims in the context")
	}
	return c.Check(perms...)
}

// CheckAny is [Check] for "at least one of perms". With no perms it fails.
func CheckAny(ctx context.Context, perms ...string) error {
	c, ok := FromContext(ctx)
	if !ok {
		return newError(ErrMissingToken, "no claims in the context")
	}
	return c.CheckAny(perms...)
}

// CheckOrganization returns nil if the claims in ctx are for the
// organization orgID and grant every one of perms. See
// [Claims.CheckOrganization].
func CheckOrganization(ctx context.Context, orgID string, perms ...string) error {
	c, ok := FromContext(ctx)
	if !ok {
		return newError(ErrMissingToken, "no claims in the context")
	}
	return c.CheckOrganization(orgID, perms...)
}

// Check returns nil if the token grants every one of perms, and an error
// matching [ErrInsufficientScope] that lists the missing ones otherwise.
func (c *Claims) Check(perms ...string) error {
	var missing []string
	for _, p := range perms {
		if !slices.Contains(c.Scopes, p) {
			missing = append(missing, p)
		}
	}
	if missing != nil {
		return missingScope(missing)
	}
	return nil
}

// CheckAny returns nil if the token grants at least one of perms, and an
// error matching [ErrInsufficientScope] that lists perms otherwise.
func (c *Claims) CheckAny(perms ...string) error {
	if c.HasAnyScope(perms...) {
		return nil
	}
	return missingAnyScope(slices.Clone(perms))
}
