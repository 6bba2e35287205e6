package authz

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"
)

// NonceSource issues and checks the server nonces of DPoP proofs (RFC 9449
// section 8): [DPoPConfig].Nonces. Implementations must be safe for
// concurrent use.
type NonceSource interface {
	// Nonce returns the nonce clients must use at now.
	Nonce(now time.Time) string
	// Valid reports whether nonce is one a proof may carry at now: the
	// current one, or one recent enough.
	Valid(nonce string, now time.Time) bool
}

// NewNonceSource returns a [NonceSource] whose nonce changes every
// rotation (at least a second) and stays valid for one rotation more, so
// that a client that just received a nonce can use it. Nonces are derived
// from secret (at least 32 bytes) and the time, with HMAC-SHA-256: every
// replica given the same secret issues and accepts the same nonces, with
// no shared state.
func NewNonceSource(secret []byte, rotation time.Duration) (NonceSource, error) {
	switch {
	case len(secret) < 32:
		return nil, errors.New("authz: NewNonceSource: the secret must have at least 32 bytes")
	case rotation < time.Second:
		return nil, errors.New("authz: NewNonceSource: the rotation must be at least a second")
	}
	return &hmacNonces{secret: append([]byte(nil), secret...), rotation: rotation}, nil
}

type hmacNonces struct {
	secret   []byte
	rotation time.Duration
}

// period is the rotation period now lies in.
func (h *hmacNonces) period(now time.Time) uint64 {
	return uint64(now.UnixNano() / int64(h.rotation))
}

// nonce is the nonce of period n: n and a MAC of it, base64url.
func (h *hmacNonces) nonce(n uint64) string {
	var b [8 + 16]byte
	binary.BigEndian.PutUint64(b[:8], n)
	m := hmac.New(sha256.New, h.secret)
	m.Write(b[:8])
	copy(b[8:], m.Sum(nil))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (h *hmacNonces) Nonce(now time.Time) string { return h.nonce(h.period(now)) }

func (h *hmacNonces) Valid(nonce string, now time.Time) bool {
	p := h.period(now)
	for _, n := range [...]uint64{p, p - 1} {
		if hmac.Equal([]byte(nonce), []byte(h.nonce(n))) {
			return true
		}
	}
	return false
}
