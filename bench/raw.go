package bench

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unsafe"

	"github.com/MicahParks/jwkset"
)

var errBadSignature = errors.New("bench: raw: signature does not verify")

// newRaw is the floor: the signature check and nothing else. The public key
// is read once from the issuer's JWK Set (its current key); a validation
// splits the token at its last dot, decodes the signature, hashes
// header.payload with the algorithm's SHA-2 and verifies: ECDSA with the
// JWS r||s signature re-encoded as ASN.1 DER for ecdsa.VerifyASN1, RSA with
// rsa.VerifyPKCS1v15. No header, claim or kid is looked at.
func newRaw(t Target) (*Validator, error) {
	pub, err := currentKey(t)
	if err != nil {
		return nil, err
	}
	var verify func(token string) error
	switch t.Alg {
	case "ES256", "ES384":
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("bench: raw: %s key is %T", t.Alg, pub)
		}
		verify = func(token string) error { return verifyECDSA(k, t.Alg == "ES384", token) }
	case "RS256":
		k, ok := pub.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("bench: raw: %s key is %T", t.Alg, pub)
		}
		verify = func(token string) error { return verifyRS256(k, token) }
	default:
		return nil, fmt.Errorf("bench: raw: unsupported algorithm %q", t.Alg)
	}
	return &Validator{
		Validate: func(_ context.Context, token string) (string, error) { return "", verify(token) },
		Close:    func() {},
	}, nil
}

// currentKey fetches the issuer's JWK Set and returns the public key whose
// kid signs new tokens.
func currentKey(t Target) (any, error) {
	resp, err := http.Get(t.Issuer.JWKSURL())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	var set jwkset.JWKSMarshal
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, err
	}
	kid := t.Issuer.KeyID()
	for _, m := range set.Keys {
		if m.KID != kid {
			continue
		}
		k, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		if err != nil {
			return nil, err
		}
		return k.Key(), nil
	}
	return nil, fmt.Errorf("bench: raw: no key %q in the JWK Set", kid)
}

// split returns the signing input (header.payload) and the decoded
// signature, in buf.
func split(token string, buf []byte) (input []byte, sig []byte, err error) {
	dot := strings.LastIndexByte(token, '.')
	if dot < 0 {
		return nil, nil, errBadSignature
	}
	n, err := base64.RawURLEncoding.Decode(buf, unsafe.Slice(unsafe.StringData(token[dot+1:]), len(token)-dot-1))
	if err != nil {
		return nil, nil, errBadSignature
	}
	return unsafe.Slice(unsafe.StringData(token), dot), buf[:n], nil
}

func verifyECDSA(k *ecdsa.PublicKey, p384 bool, token string) error {
	var sigBuf [2 * 66]byte
	var derBuf [2*(2+1+66) + 3]byte
	input, sig, err := split(token, sigBuf[:])
	if err != nil {
		return err
	}
	size := 32
	if p384 {
		size = 48
	}
	if len(sig) != 2*size {
		return errBadSignature
	}
	der := asn1Signature(derBuf[:0], sig[:size], sig[size:])
	var ok bool
	if p384 {
		h := sha512.Sum384(input)
		ok = ecdsa.VerifyASN1(k, h[:], der)
	} else {
		h := sha256.Sum256(input)
		ok = ecdsa.VerifyASN1(k, h[:], der)
	}
	if !ok {
		return errBadSignature
	}
	return nil
}

func verifyRS256(k *rsa.PublicKey, token string) error {
	var sigBuf [512]byte
	input, sig, err := split(token, sigBuf[:])
	if err != nil {
		return err
	}
	h := sha256.Sum256(input)
	if rsa.VerifyPKCS1v15(k, crypto.SHA256, h[:], sig) != nil {
		return errBadSignature
	}
	return nil
}

// asn1Signature appends the DER SEQUENCE { INTEGER r, INTEGER s } of the
// big-endian unsigned r and s to b (short-form lengths: r and s are at most
// 66 bytes).
func asn1Signature(b, r, s []byte) []byte {
	r, s = trimZeros(r), trimZeros(s)
	n := intLen(r) + intLen(s)
	b = append(b, 0x30)
	if n >= 0x80 {
		b = append(b, 0x81)
	}
	b = append(b, byte(n))
	b = appendInt(b, r)
	return appendInt(b, s)
}

func trimZeros(x []byte) []byte {
	for len(x) > 1 && x[0] == 0 {
		x = x[1:]
	}
	return x
}

func intLen(x []byte) int {
	if x[0]&0x80 != 0 {
		return 2 + 1 + len(x)
	}
	return 2 + len(x)
}

func appendInt(b, x []byte) []byte {
	b = append(b, 0x02)
	if x[0]&0x80 != 0 {
		b = append(b, byte(len(x)+1), 0)
	} else {
		b = append(b, byte(len(x)))
	}
	return append(b, x...)
}
