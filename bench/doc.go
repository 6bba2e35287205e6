// Package bench compares authz with other Go JWT validators on the same
// Logto-shaped access tokens: the same keys (served as a JWK Set by an
// in-process [authztest.Issuer] on loopback) and the same claims (iss, aud,
// sub, client_id, scope, iat, exp, jti; header typ "at+jwt" and kid).
//
// [Peers] lists the libraries, each configured as a resource server should
// configure it: signature by a key from the issuer's JWKS, allowed algorithm,
// issuer, audience and expiry checked, and the "scope" claim decoded and
// checked for [Permission]. The "raw" peer is the floor: the signature check
// alone.
//
// It is a separate module so that users of authz never download the other
// libraries. Run the comparison with ./run.sh; it writes results/RESULTS.md.
//
// [authztest.Issuer]: https://pkg.go.dev/github.com/seed31d61d31/authz/authztest#Issuer
package bench
