package authz

import (
	"context"

	"github.com/golang-jwt/jwt/v5"
)

// PreparedReady reports whether v has the prepared verifier of the ES384
// or ES256 key under kid in issuer's key set ready; the first call for a
// key starts its build, as a token naming the key would.
func PreparedReady(v *Validator, issuer, kid, alg string) bool {
	set := v.issuers[issuer]
	if set == nil {
		return false
	}
	key, err := set.Keyfunc(context.Background())(&jwt.Token{Header: map[string]any{"kid": kid, "alg": alg}})
	return err == nil && set.ECDSA(kid, key) != nil
}

// ResolvedIssuers is how many resolved issuers hold a key set in v.
func ResolvedIssuers(v *Validator) int {
	if v.resolved == nil {
		return 0
	}
	return v.resolved.len()
}
