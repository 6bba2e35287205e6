package authz

import "context"

// claimsKey is the context key for *Claims. It is an unexported pointer
// type, so no other package can read or forge the value.
type claimsKey struct{}

func (*claimsKey) String() string { return "authz claims" }

var claimsCtxKey = &claimsKey{}

// NewContext returns a copy of ctx that carries claims. The middleware calls
// it after a token validates; tests and non-HTTP transports may call it too.
func NewContext(ctx context.Context, claims *Claims) context.Context {
	return context.WithValue(ctx, claimsCtxKey, claims)
}

// FromContext returns the claims carried by ctx, and false if there are none.
func FromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsCtxKey).(*Claims)
	return c, ok && c != nil
}
