// Package thumbprint computes RFC 7638 JWK thumbprints: the key id of
// authztest's keys, and the "jkt" that binds a DPoP token to its key (RFC
// 9449 section 6.1).
package thumbprint

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/MicahParks/jwkset"
)

// ErrUnsupported is wrapped by every error Of returns.
var ErrUnsupported = errors.New("cannot compute the JWK thumbprint")

// Of returns the SHA-256 thumbprint of the public JWK m, base64url-encoded
// without padding. The hash input is the JSON object of the key type's
// required members, in lexicographic order, without whitespace:
// {"crv","kty","x","y"} for EC, {"e","kty","n"} for RSA and
// {"crv","kty","x"} for OKP (Ed25519).
func Of(m jwkset.JWKMarshal) (string, error) {
	var members [][2]string
	switch m.KTY {
	case jwkset.KtyEC:
		members = [][2]string{{"crv", string(m.CRV)}, {"kty", string(m.KTY)}, {"x", m.X}, {"y", m.Y}}
	case jwkset.KtyRSA:
		members = [][2]string{{"e", m.E}, {"kty", string(m.KTY)}, {"n", m.N}}
	case jwkset.KtyOKP:
		members = [][2]string{{"crv", string(m.CRV)}, {"kty", string(m.KTY)}, {"x", m.X}}
	default:
		return "", fmt.Errorf("%w: unsupported key type %q", ErrUnsupported, m.KTY)
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, kv := range members {
		if kv[1] == "" {
			return "", fmt.Errorf("%w: %s key has no %q member", ErrUnsupported, m.KTY, kv[0])
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
	if plain(s) { // base64url values and key type names: quoted as they are
		return []byte(`"` + s + `"`)
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // encoding a string cannot fail
	return []byte(strings.TrimSuffix(b.String(), "\n"))
}

// plain reports whether s has only characters JSON does not escape and
// that need no thought: ASCII letters, digits, '-', '_' and '.'.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
