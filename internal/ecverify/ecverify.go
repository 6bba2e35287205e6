// Package ecverify verifies ECDSA signatures on P-384 and P-256 (JWS ES384,
// Logto's default, and ES256) faster than crypto/ecdsa, with tables of
// multiples of the public key computed once per key.
//
// Verification handles only public values (the key, the hash, the
// signature), so the tables and the variable-time arithmetic over them leak
// nothing secret. The group arithmetic is filippo.io/nistec, the standard
// library's own P-384 and P-256 code, exported; this package only arranges
// it.
//
// # How
//
// u1·G + u2·Q is computed with a fixed-base comb for both points: for each
// window i of w bits, a table holds j·2^(w·i)·P for j = 1 … 2^(w-1). Each
// scalar is recoded into signed digits in [-2^(w-1), 2^(w-1)], so that a
// negative digit is the negation of a table entry, and the sum is one
// addition per window and scalar, with no doubling. With w = 6 that is at
// most 2·65 additions on P-384 (2·43 on P-256), against a doubling and an
// addition per few bits of each scalar for a generic multiplication.
package ecverify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"errors"
	"math/big"
	"sync"

	"filippo.io/nistec"
)

const (
	// window is the comb's width in bits for a key's table.
	window = 6
	// entries is the number of multiples per window of a key's table:
	// 1 … 2^(window-1).
	entries = 1 << (window - 1)
	// gWindow is the comb's width for the generator, whose table is built
	// once per process: wider, for fewer additions per verification (49
	// instead of 65 on P-384) at the cost of one table of about
	// P384GeneratorTableBytes.
	gWindow = 8
)

// point is a nistec point type (P = nistec.P384Point or nistec.P256Point).
type point[P any] interface {
	*P
	Set(*P) *P
	Add(*P, *P) *P
	Double(*P) *P
	Negate(*P) *P
	IsInfinity() int
	BytesX() ([]byte, error)
	SetBytes([]byte) (*P, error)
	SetGenerator() *P
}

// curve is what verification needs of one curve.
type curve[P any, PP point[P]] struct {
	n     *big.Int  // the group order
	bits  int       // of the order
	bytes int       // of a scalar and of a field element
	newP  func() *P // a new point at infinity
	g     func() *table[P, PP]
}

// table holds j·2^(w·i)·P at points[i·2^(w-1) + j-1], for the windows i
// of w bits that cover the scalar and a carry.
type table[P any, PP point[P]] struct {
	w, entries, windows int
	points              []P
}

// at returns j·2^(w·i)·P, for j in 1 … 2^(w-1).
func (t *table[P, PP]) at(i, j int) *P { return &t.points[i*t.entries+j-1] }

func newCurve[P any, PP point[P]](c elliptic.Curve, newP func() *P) *curve[P, PP] {
	cv := &curve[P, PP]{n: c.Params().N, bits: c.Params().BitSize, bytes: (c.Params().BitSize + 7) / 8, newP: newP}
	cv.g = sync.OnceValue(func() *table[P, PP] { return cv.table(PP(newP()).SetGenerator(), gWindow) })
	return cv
}

var (
	p384 = newCurve[nistec.P384Point](elliptic.P384(), nistec.NewP384Point)
	p256 = newCurve[nistec.P256Point](elliptic.P256(), nistec.NewP256Point)
)

// table computes the comb table of p with windows of w bits.
func (c *curve[P, PP]) table(p *P, w int) *table[P, PP] {
	t := &table[P, PP]{w: w, entries: 1 << (w - 1), windows: (c.bits + 1 + w - 1) / w}
	t.points = make([]P, t.windows*t.entries)
	base := PP(c.newP()).Set(p)
	for i := range t.windows {
		for j := 1; j <= t.entries; j++ {
			*t.at(i, j) = *c.newP() // the zero nistec point is not usable
		}
		PP(t.at(i, 1)).Set(base)
		for j := 2; j <= t.entries; j++ {
			PP(t.at(i, j)).Add(t.at(i, j-1), base)
		}
		for range w {
			PP(base).Double(base)
		}
	}
	return t
}

// Table sizes, about: a nistec point is three pointers to field elements.
const (
	// P384TableBytes is the memory of one P-384 key's table.
	P384TableBytes = 65 * entries * (3*8 + 3*48)
	// P256TableBytes is the memory of one P-256 key's table.
	P256TableBytes = 43 * entries * (3*8 + 3*32)
	// P384GeneratorTableBytes is the memory of the P-384 generator's
	// table, built once per process that verifies a P-384 signature.
	P384GeneratorTableBytes = 49 * (1 << (gWindow - 1)) * (3*8 + 3*48)
	// P256GeneratorTableBytes is the same for P-256.
	P256GeneratorTableBytes = 33 * (1 << (gWindow - 1)) * (3*8 + 3*32)
)

// Verifier verifies signatures of one public key. It is immutable and safe
// for concurrent use.
type Verifier struct {
	pub    *ecdsa.PublicKey
	verify func(hash []byte, r, s *big.Int) bool
	// table is the key's table, for Reuse.
	table any
}

// New builds the verifier of pub, a P-384 or P-256 key. A P-384 table
// takes about P384TableBytes and 2 ms, a P-256 one about P256TableBytes
// and 1 ms. It fails for a key of another curve or one that is not a point
// of its curve.
func New(pub *ecdsa.PublicKey) (*Verifier, error) {
	if pub == nil {
		return nil, errors.New("ecverify: no key")
	}
	switch pub.Curve {
	case elliptic.P384():
		return newVerifier(p384, pub, nil)
	case elliptic.P256():
		return newVerifier(p256, pub, nil)
	}
	return nil, errors.New("ecverify: not a P-384 or P-256 key")
}

func newVerifier[P any, PP point[P]](c *curve[P, PP], pub *ecdsa.PublicKey, t *table[P, PP]) (*Verifier, error) {
	if t == nil {
		b, err := pub.Bytes() // the uncompressed point; fails off the curve
		if err != nil {
			return nil, err
		}
		q, err := PP(c.newP()).SetBytes(b)
		if err != nil {
			return nil, err
		}
		c.g() // built once, outside any request
		t = c.table(q, window)
	}
	return &Verifier{pub: pub, table: t, verify: func(hash []byte, r, s *big.Int) bool { return c.verify(t, hash, r, s) }}, nil
}

// Reuse returns a verifier for pub that shares v's table, when pub is the
// same key as v's, and nil otherwise: a key set fetched again holds new
// copies of the keys it held.
func (v *Verifier) Reuse(pub *ecdsa.PublicKey) *Verifier {
	if !v.pub.Equal(pub) {
		return nil
	}
	switch t := v.table.(type) {
	case *table[nistec.P384Point, *nistec.P384Point]:
		w, _ := newVerifier(p384, pub, t)
		return w
	case *table[nistec.P256Point, *nistec.P256Point]:
		w, _ := newVerifier(p256, pub, t)
		return w
	}
	return nil
}

// Key returns the public key the verifier is for.
func (v *Verifier) Key() *ecdsa.PublicKey { return v.pub }

// Verify reports whether (r, s) is a valid signature of hash, with the
// semantics of crypto/ecdsa.Verify: r and s in [1, n-1]; the hash
// truncated to the bit length of n; R = u1·G + u2·Q not the point at
// infinity; and R.x mod n = r.
func (v *Verifier) Verify(hash []byte, r, s *big.Int) bool { return v.verify(hash, r, s) }

func (c *curve[P, PP]) verify(t *table[P, PP], hash []byte, r, s *big.Int) bool {
	if r.Sign() <= 0 || s.Sign() <= 0 || r.Cmp(c.n) >= 0 || s.Cmp(c.n) >= 0 {
		return false
	}
	if len(hash) > c.bytes { // n has exactly 8·bytes bits on both curves: truncating is byte-aligned
		hash = hash[:c.bytes]
	}
	e := new(big.Int).SetBytes(hash)
	w := new(big.Int).ModInverse(s, c.n)
	u1 := e.Mul(e, w)
	u1.Mod(u1, c.n)
	u2 := w.Mul(r, w)
	u2.Mod(u2, c.n)

	var buf [2 * 48]byte
	k1, k2 := buf[:c.bytes], buf[c.bytes:2*c.bytes]
	u1.FillBytes(k1)
	u2.FillBytes(k2)
	acc := PP(c.newP()) // the point at infinity
	neg := PP(c.newP())
	add := func(t *table[P, PP], k []byte) {
		var digits [maxWindows]int16
		recode(&digits, k, t.windows, t.w)
		for i := range t.windows {
			switch d := int(digits[i]); {
			case d > 0:
				acc.Add(acc, t.at(i, d))
			case d < 0:
				acc.Add(acc, neg.Negate(t.at(i, -d)))
			}
		}
	}
	add(c.g(), k1)
	add(t, k2)
	if acc.IsInfinity() == 1 {
		return false
	}
	x, err := acc.BytesX()
	if err != nil {
		return false
	}
	// x < p, and p < 2n on both curves: x mod n is x, or x - n.
	xn := new(big.Int).SetBytes(x)
	if xn.Cmp(c.n) >= 0 {
		xn.Sub(xn, c.n)
	}
	return xn.Cmp(r) == 0
}

// maxWindows is the largest number of windows of a table: P-384 with
// the narrower window.
const maxWindows = (384 + 1 + window - 1) / window

// recode splits the big-endian scalar k into its first windows signed
// base-2^w digits d[i] in [-2^(w-1), 2^(w-1)], least significant first,
// with k = Σ d[i]·2^(w·i).
func recode(d *[maxWindows]int16, k []byte, windows, w int) {
	carry := 0
	half := 1 << (w - 1)
	for i := range windows {
		digit := bitsAt(k, i*w, w) + carry
		carry = 0
		if digit > half {
			digit -= 1 << w
			carry = 1
		}
		d[i] = int16(digit)
	}
}

// bitsAt returns the w bits of the big-endian k starting at bit offset (0
// is the least significant bit); bits past the top are zero.
func bitsAt(k []byte, offset, w int) int {
	v := 0
	for b := w - 1; b >= 0; b-- {
		bit := offset + b
		v <<= 1
		if bit < 8*len(k) {
			v |= int(k[len(k)-1-bit/8]>>(bit%8)) & 1
		}
	}
	return v
}
