package authztest

import (
	"crypto"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/seed31d61d31/authz/internal/thumbprint"
)

// DPoPKey is a client's DPoP key pair (RFC 9449): tokens bound to it
// ([BoundTo]) are accepted only with proofs it signs ([DPoPKey.Proof]).
type DPoPKey struct {
	alg     string
	method  jwt.SigningMethod
	private crypto.Signer
	jwk     map[string]any // the public JWK
	jkt     string
	now     func() time.Time
}

// dpopAlgorithms are the algorithms NewDPoPKey makes keys for.
var dpopAlgorithms = map[string]struct {
	method jwt.SigningMethod
	gen    func() (crypto.Signer, error)
}{
	"ES256": {jwt.SigningMethodES256, ecGenerator(elliptic.P256)},
	"ES384": {jwt.SigningMethodES384, ecGenerator(elliptic.P384)},
	"RS256": {jwt.SigningMethodRS256, generateRSA},
	"PS256": {jwt.SigningMethodPS256, generateRSA},
	"EdDSA": {jwt.SigningMethodEdDSA, func() (crypto.Signer, error) {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}},
}

// NewDPoPKey generates a client's DPoP key for alg: "ES256" (the usual
// choice), "ES384", "RS256", "PS256" or "EdDSA". Its proofs' "iat" is the
// time of now, or [time.Now] when now is nil.
func NewDPoPKey(alg string, now func() time.Time) (*DPoPKey, error) {
	a, ok := dpopAlgorithms[alg]
	if !ok {
		return nil, fmt.Errorf("authztest: NewDPoPKey: unsupported algorithm %q (want ES256, ES384, RS256, PS256 or EdDSA)", alg)
	}
	priv, err := a.gen()
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	k := &DPoPKey{alg: alg, method: a.method, private: priv, now: now}
	pub, err := jwkset.NewJWKFromKey(priv.Public(), jwkset.JWKOptions{})
	if err != nil {
		return nil, err
	}
	if k.jkt, err = thumbprint.Of(pub.Marshal()); err != nil {
		return nil, err
	}
	if k.jwk, err = jwkObject(pub.Marshal()); err != nil {
		return nil, err
	}
	return k, nil
}

// jwkObject is m as a JSON object.
func jwkObject(m jwkset.JWKMarshal) (map[string]any, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	var o map[string]any
	return o, json.Unmarshal(b, &o)
}

// PublicKey returns the public key, as proofs carry it in "jwk".
func (k *DPoPKey) PublicKey() crypto.PublicKey { return k.private.Public() }

// Thumbprint returns the key's RFC 7638 thumbprint, the "cnf.jkt" of the
// tokens bound to it.
func (k *DPoPKey) Thumbprint() string { return k.jkt }

// BoundTo binds the token to k: "cnf": {"jkt": thumbprint of k}
// (RFC 9449 section 6.1). Such a token is accepted only with the DPoP
// scheme and a proof by k.
func BoundTo(k *DPoPKey) TokenOption {
	return setClaim("cnf", map[string]any{"jkt": k.jkt})
}

// ProofOption changes a proof made by [DPoPKey.Proof], most often to make
// it defective for a negative test.
type ProofOption func(*proofSpec)

type proofSpec struct {
	header, claims map[string]any
	alg            string // "" for the key's
	signer         *DPoPKey
	private        bool
}

// ProofClaim sets the proof claim name to value ("htm", "htu", "iat",
// "jti", "ath", "nonce" or any other).
func ProofClaim(name string, value any) ProofOption {
	return func(s *proofSpec) { s.claims[name] = value }
}

// WithoutProofClaim removes the proof claim name.
func WithoutProofClaim(name string) ProofOption {
	return func(s *proofSpec) { delete(s.claims, name) }
}

// ProofHeader sets the proof header member name to value ("typ", "jwk",
// ...); a nil value removes it.
func ProofHeader(name string, value any) ProofOption {
	return func(s *proofSpec) {
		if value == nil {
			delete(s.header, name)
			return
		}
		s.header[name] = value
	}
}

// ProofIssuedAt sets the proof's "iat".
func ProofIssuedAt(t time.Time) ProofOption { return ProofClaim("iat", t.Unix()) }

// ProofSignedBy signs the proof with other's private key, with the
// header's "jwk" still this key's: the signature does not verify.
func ProofSignedBy(other *DPoPKey) ProofOption {
	return func(s *proofSpec) { s.signer = other }
}

// ProofWithPrivateKey puts the private key in the header's "jwk", which a
// proof must never do.
func ProofWithPrivateKey() ProofOption {
	return func(s *proofSpec) { s.private = true }
}

// ProofAlgorithm signs the proof with alg instead of the key's: "none"
// (no signature) or "HS256" (an HMAC with a fixed secret), neither of which
// a proof may use.
func ProofAlgorithm(alg string) ProofOption {
	return func(s *proofSpec) { s.alg = alg }
}

// Proof returns a DPoP proof (RFC 9449 section 4.2) by k for a request of
// method to url carrying token: "typ" dpop+jwt, the key's "alg" and public
// "jwk"; "jti" random, "htm" method, "htu" url, "iat" now and "ath" the
// hash of token (left out when token is ""). opts then change it.
func (k *DPoPKey) Proof(method, url, token string, opts ...ProofOption) (string, error) {
	s := &proofSpec{
		header: map[string]any{"typ": "dpop+jwt", "jwk": maps.Clone(k.jwk)},
		claims: map[string]any{"jti": newJTI(), "htm": method, "htu": url, "iat": k.now().Unix()},
		signer: k,
	}
	if token != "" {
		sum := sha256.Sum256([]byte(token))
		s.claims["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	for _, o := range opts {
		if o != nil {
			o(s)
		}
	}
	if s.private {
		priv, err := jwkset.NewJWKFromKey(k.private, jwkset.JWKOptions{Marshal: jwkset.JWKMarshalOptions{Private: true}})
		if err != nil {
			return "", err
		}
		if s.header["jwk"], err = jwkObject(priv.Marshal()); err != nil {
			return "", err
		}
	}
	signing, key := s.signer.method, any(s.signer.private)
	switch s.alg {
	case "":
	case "none":
		signing, key = jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType
	case "HS256":
		signing, key = jwt.SigningMethodHS256, []byte("a shared secret a proof must never use")
	default:
		return "", fmt.Errorf("authztest: ProofAlgorithm: %q is neither none nor HS256", s.alg)
	}
	t := jwt.NewWithClaims(signing, jwt.MapClaims(s.claims))
	s.header["alg"] = signing.Alg()
	t.Header = s.header
	signed, err := t.SignedString(key)
	if err != nil {
		return "", fmt.Errorf("authztest: signing DPoP proof: %w", err)
	}
	return signed, nil
}
