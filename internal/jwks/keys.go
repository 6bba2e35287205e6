package jwks

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"

	"github.com/MicahParks/jwkset"
	"github.com/seed31d61d31/authz/internal/pkcs1"
)

// usable turns one JWK into a verification key, or says why it cannot be
// one. The key's "alg" is made explicit: Logto's RSA keys carry none, so it
// is inferred from "kty" (and "crv"), never from a token; a declared "alg"
// must fit the key's type. keyfunc then refuses any token whose "alg" differs.
func usable(m jwkset.JWKMarshal) (jwkset.JWK, error) {
	if m.KID == "" {
		return jwkset.JWK{}, errors.New(`no "kid"`)
	}
	if m.USE != "" && m.USE != jwkset.UseSig {
		return jwkset.JWK{}, fmt.Errorf(`"use" is %q, not "sig"`, m.USE)
	}
	if len(m.KEYOPS) > 0 && !hasVerify(m.KEYOPS) {
		return jwkset.JWK{}, errors.New(`"key_ops" lacks "verify"`)
	}
	// JWKMarshalOptions{} loads public material only: a private or symmetric
	// member of a published key is never used.
	jwk, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
	if err != nil {
		return jwkset.JWK{}, err
	}
	alg, err := fitAlg(jwk.Key(), string(m.ALG))
	if err != nil {
		return jwkset.JWK{}, err
	}
	if string(m.ALG) == alg {
		return jwk, nil
	}
	return jwkset.NewJWKFromKey(jwk.Key(), jwkset.JWKOptions{
		Metadata: jwkset.JWKMetadataOptions{ALG: jwkset.ALG(alg), KID: m.KID, USE: m.USE},
	})
}

// sameKey reports whether a and b are the same public key for the same
// algorithm.
func sameKey(a, b jwkset.JWK) bool {
	if a.Marshal().ALG != b.Marshal().ALG {
		return false
	}
	k, ok := a.Key().(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b.Key())
}

func hasVerify(ops []jwkset.KEYOPS) bool {
	for _, op := range ops {
		if op == jwkset.KeyOpsVerify {
			return true
		}
	}
	return false
}

// fitAlg returns the algorithm the key is for: declared, if it fits the
// key's type, or inferred (EC by curve, RSA → RS256, Ed25519 → EdDSA).
func fitAlg(key any, declared string) (string, error) {
	var fits func(string) bool
	var inferred string
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		inferred = map[string]string{"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}[k.Curve.Params().Name]
		fits = func(a string) bool { return a == inferred }
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return "", fmt.Errorf("RSA key of %d bits is too short", k.N.BitLen())
		}
		inferred = "RS256"
		fits = func(a string) bool {
			switch a {
			case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
				return true
			}
			return false
		}
	case ed25519.PublicKey:
		inferred = "EdDSA"
		fits = func(a string) bool { return a == "EdDSA" }
	default:
		return "", fmt.Errorf("key type %T cannot verify signatures", key)
	}
	if inferred == "" {
		return "", errors.New("unsupported curve")
	}
	if declared == "" {
		return inferred, nil
	}
	if !fits(declared) {
		return "", fmt.Errorf(`"alg" %q does not fit the key type`, declared)
	}
	return declared, nil
}

// prepare fills in the prepared verifiers of m's ES384, ES256 and RS* keys,
// reusing those of old for keys that did not change. It runs in the
// fetching goroutine, before the new keys are stored. An RSA verifier (the
// modulus, about a kilobyte) is built here; an EC key only gets a slot,
// filled on its first use (see Set.ECDSA), or at once with the table of
// an unchanged key that had one.
func (s *Set) prepare(m, old *keyMap) {
	if !s.opts.PrepareKeys {
		return
	}
	m.ec, m.rsa = map[string]*ecSlot{}, map[string]*pkcs1.Verifier{}
	for kid, jwk := range m.byKID {
		switch pub := jwk.Key().(type) {
		case *ecdsa.PublicKey:
			if alg := jwk.Marshal().ALG; alg != jwkset.AlgES384 && alg != jwkset.AlgES256 || len(m.ec) == maxPrepared {
				continue // ES512 stays on crypto/ecdsa
			}
			slot := &ecSlot{pub: pub}
			if prev := old.ec[kid]; prev != nil {
				if pv := prev.v.Load(); pv != nil {
					if v := pv.Reuse(pub); v != nil {
						slot.v.Store(v)
						slot.started.Store(true)
					}
				}
			}
			m.ec[kid] = slot
		case *rsa.PublicKey:
			switch jwk.Marshal().ALG {
			case jwkset.AlgRS256, jwkset.AlgRS384, jwkset.AlgRS512:
			default:
				continue // PSS stays on crypto/rsa
			}
			if len(m.rsa) == maxPrepared {
				continue
			}
			if prev := old.rsa[kid]; prev != nil {
				if v := prev.Reuse(pub); v != nil {
					m.rsa[kid] = v
					continue
				}
			}
			if v, err := pkcs1.New(pub); err == nil {
				m.rsa[kid] = v
			}
		}
	}
}
