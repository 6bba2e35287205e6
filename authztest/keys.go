package authztest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"github.com/seed31d61d31/authz/internal/thumbprint"
)

// algorithm describes one signing algorithm the issuer can use.
type algorithm struct {
	method   jwt.SigningMethod
	generate func() (crypto.Signer, error)
	// publishAlg reports whether the JWK carries "alg". Logto publishes it
	// for EC keys and leaves it out for RSA keys.
	publishAlg bool
}

// algorithms lists the algorithms Logto signs access tokens with.
var algorithms = map[string]algorithm{
	"ES256": {method: jwt.SigningMethodES256, generate: ecGenerator(elliptic.P256), publishAlg: true},
	"ES384": {method: jwt.SigningMethodES384, generate: ecGenerator(elliptic.P384), publishAlg: true},
	"ES512": {method: jwt.SigningMethodES512, generate: ecGenerator(elliptic.P521), publishAlg: true},
	"RS256": {method: jwt.SigningMethodRS256, generate: generateRSA},
}

// supportedAlgorithms is the list shown in errors, in a stable order.
const supportedAlgorithms = "ES256, ES384, ES512, RS256"

func ecGenerator(curve func() elliptic.Curve) func() (crypto.Signer, error) {
	return func() (crypto.Signer, error) {
		return ecdsa.GenerateKey(curve(), rand.Reader)
	}
}

func generateRSA() (crypto.Signer, error) {
	return rsa.GenerateKey(rand.Reader, 2048)
}

// signingKey is an immutable key pair with its public JWK.
type signingKey struct {
	kid     string
	private crypto.Signer
	jwk     jwkset.JWKMarshal // public members only
}

// newSigningKey generates a key for alg and computes its JWK and kid.
func newSigningKey(alg string) (*signingKey, error) {
	a, ok := algorithms[alg]
	if !ok {
		return nil, fmt.Errorf("authztest: unsupported algorithm %q (want one of %s)", alg, supportedAlgorithms)
	}
	priv, err := a.generate()
	if err != nil {
		return nil, fmt.Errorf("authztest: generating %s key: %w", alg, err)
	}
	meta := jwkset.JWKMetadataOptions{USE: jwkset.UseSig}
	if a.publishAlg {
		meta.ALG = jwkset.ALG(alg)
	}
	unnamed, err := jwkset.NewJWKFromKey(priv.Public(), jwkset.JWKOptions{Metadata: meta})
	if err != nil {
		return nil, fmt.Errorf("authztest: encoding %s key as JWK: %w", alg, err)
	}
	kid, err := thumbprint.Of(unnamed.Marshal())
	if err != nil {
		return nil, err
	}
	meta.KID = kid
	named, err := jwkset.NewJWKFromKey(priv.Public(), jwkset.JWKOptions{Metadata: meta})
	if err != nil {
		return nil, fmt.Errorf("authztest: encoding %s key as JWK: %w", alg, err)
	}
	return &signingKey{kid: kid, private: priv, jwk: named.Marshal()}, nil
}

// mustNewSigningKey is newSigningKey for an algorithm already validated by
// NewIssuer. Since Go 1.26 key generation ignores the caller's reader and
// always uses the system's secure source, so it cannot fail for a supported
// algorithm; a failure would mean a broken runtime.
func mustNewSigningKey(alg string) *signingKey {
	k, err := newSigningKey(alg)
	if err != nil {
		panic(err)
	}
	return k
}
