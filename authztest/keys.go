package authztest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
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
	kid, err := thumbprint(unnamed.Marshal())
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

// errThumbprint is wrapped by every error thumbprint returns.
var errThumbprint = errors.New("authztest: cannot compute JWK thumbprint")

// thumbprint returns the RFC 7638 SHA-256 thumbprint of an EC or RSA public
// JWK, base64url-encoded without padding. The hash input is the JSON object
// of the key type's required members, in lexicographic order, without
// whitespace: {"crv","kty","x","y"} for EC and {"e","kty","n"} for RSA.
func thumbprint(m jwkset.JWKMarshal) (string, error) {
	var members [][2]string
	switch m.KTY {
	case jwkset.KtyEC:
		members = [][2]string{{"crv", string(m.CRV)}, {"kty", string(m.KTY)}, {"x", m.X}, {"y", m.Y}}
	case jwkset.KtyRSA:
		members = [][2]string{{"e", m.E}, {"kty", string(m.KTY)}, {"n", m.N}}
	default:
		return "", fmt.Errorf("%w: unsupported key type %q", errThumbprint, m.KTY)
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, kv := range members {
		if kv[1] == "" {
			return "", fmt.Errorf("%w: %s key has no %q member", errThumbprint, m.KTY, kv[0])
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(jsonString(kv[0]))
		b.WriteByte(':')
		b.Write(jsonString(kv[1]))
	}
	b.WriteByte('}')
	sum := sha256.Sum256([]byte(b.String()))
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// jsonString encodes s as a JSON string without HTML escaping.
func jsonString(s string) []byte {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // encoding a string cannot fail
	return []byte(strings.TrimSuffix(b.String(), "\n"))
}
