// Package pkcs1 verifies RSASSA-PKCS1-v1_5 signatures (RFC 8017 section
// 8.2.2; JWS RS256, RS384, RS512) with the modulus of each key prepared
// once, where crypto/rsa rebuilds it on every verification.
//
// Verification handles only public values, so the variable-time
// exponentiation by the public exponent leaks nothing secret. The modular
// arithmetic is filippo.io/bigmod, the standard library's own, exported.
package pkcs1

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"errors"

	"filippo.io/bigmod"
)

// digestInfo is the DER encoding of the DigestInfo prefix of each hash
// (RFC 8017 section 9.2, note 1).
var digestInfo = map[crypto.Hash][]byte{
	crypto.SHA256: {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20},
	crypto.SHA384: {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30},
	crypto.SHA512: {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40},
}

// Verifier verifies PKCS #1 v1.5 signatures of one RSA public key. It is
// immutable and safe for concurrent use.
type Verifier struct {
	pub  *rsa.PublicKey
	n    *bigmod.Modulus
	size int // of the modulus, in bytes
}

// New prepares the verifier of pub. It fails for a key crypto/rsa would not
// verify with: a modulus under 1024 bits or even, an exponent under 2 or
// over 2^31-1.
func New(pub *rsa.PublicKey) (*Verifier, error) {
	if pub == nil || pub.N == nil || pub.N.BitLen() < 1024 || pub.N.Bit(0) == 0 {
		return nil, errors.New("pkcs1: the modulus is missing, under 1024 bits or even")
	}
	if pub.E < 2 || pub.E > 1<<31-1 {
		return nil, errors.New("pkcs1: the public exponent is out of range")
	}
	n, err := bigmod.NewModulus(pub.N.Bytes())
	if err != nil {
		return nil, err
	}
	return &Verifier{pub: pub, n: n, size: (pub.N.BitLen() + 7) / 8}, nil
}

// Reuse returns a verifier for pub that shares v's modulus, when pub is the
// same key as v's, and nil otherwise.
func (v *Verifier) Reuse(pub *rsa.PublicKey) *Verifier {
	if !v.pub.Equal(pub) {
		return nil
	}
	return &Verifier{pub: pub, n: v.n, size: v.size}
}

// Key returns the public key the verifier is for.
func (v *Verifier) Key() *rsa.PublicKey { return v.pub }

// Verify reports whether sig is a valid signature of hashed, the digest of
// the message by hash (SHA-256, SHA-384 or SHA-512), with the semantics of
// crypto/rsa.VerifyPKCS1v15: sig exactly as long as the modulus and less
// than it, and sig^e mod n exactly the encoded message
// 0x00 0x01 0xff… 0x00 DigestInfo hashed.
func (v *Verifier) Verify(hash crypto.Hash, hashed, sig []byte) bool {
	prefix, ok := digestInfo[hash]
	if !ok || len(hashed) != hash.Size() || len(sig) != v.size {
		return false
	}
	// The encoded message needs 11 bytes besides T (RFC 8017 section 9.2).
	tLen := len(prefix) + len(hashed)
	if v.size < tLen+11 {
		return false
	}
	s, err := bigmod.NewNat().SetBytes(sig, v.n)
	if err != nil { // sig >= n
		return false
	}
	em := bigmod.NewNat().ExpShortVarTime(s, uint(v.pub.E), v.n).Bytes(v.n)
	psEnd := v.size - tLen - 1
	if em[0] != 0 || em[1] != 1 || em[psEnd] != 0 {
		return false
	}
	for _, b := range em[2:psEnd] {
		if b != 0xff {
			return false
		}
	}
	return bytes.Equal(em[psEnd+1:psEnd+1+len(prefix)], prefix) && bytes.Equal(em[psEnd+1+len(prefix):], hashed)
}
