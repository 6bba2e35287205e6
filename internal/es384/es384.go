// Package es384 verifies ECDSA signatures on P-384 (JWS ES384, Logto's
// default) several times faster than crypto/ecdsa, with tables of
// multiples of the public key computed once per key.
//
// Verification handles only public values (the key, the hash, the
// signature), so the tables and the variable-time arithmetic over them leak
// nothing secret. The group arithmetic is filippo.io/nistec, the standard
// library's own P-384 code, exported; this package only arranges it.
//
// # How
//
// u1·G + u2·Q is computed with a fixed-base comb for both points: for each
// window i of w bits, a table holds j·2^(w·i)·P for j = 1 … 2^(w-1). Each
// scalar is recoded into signed digits in [-2^(w-1), 2^(w-1)], so that a
// negative digit is the negation of a table entry, and the sum is one
// addition per window and scalar, with no doubling. With w = 6 that is at
// most 2·65 additions, against about 384 doublings and additions per
// scalar for a generic multiplication.
package es384

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"errors"
	"math/big"
	"sync"

	"filippo.io/nistec"
)

const (
	// window is the comb's width in bits.
	window = 6
	// entries is the number of multiples per window: 1 … 2^(window-1).
	entries = 1 << (window - 1)
	// windows covers 385 bits: a 384-bit scalar and the carry of its
	// signed recoding.
	windows = (384 + 1 + window - 1) / window
	// scalarBytes is the byte length of a P-384 scalar.
	scalarBytes = 48
)

// table holds j·2^(window·i)·P at [i][j-1].
type table [windows][entries]nistec.P384Point

// TableBytes is about the memory one key's table takes: a P384Point is
// three pointers to 48-byte field elements.
const TableBytes = windows * entries * (3*8 + 3*48)

var (
	// n is the order of the P-384 group.
	n = elliptic.P384().Params().N
	// generator is the table of the base point, built on first use.
	generator = sync.OnceValue(func() *table { return newTable(nistec.NewP384Point().SetGenerator()) })
)

// newTable computes the comb table of p.
func newTable(p *nistec.P384Point) *table {
	t := new(table)
	base := nistec.NewP384Point().Set(p)
	for i := range t {
		for j := range t[i] {
			t[i][j] = *nistec.NewP384Point() // the zero P384Point is not usable
		}
		t[i][0].Set(base)
		for j := 1; j < entries; j++ {
			t[i][j].Add(&t[i][j-1], base)
		}
		for range window {
			base.Double(base)
		}
	}
	return t
}

// Verifier verifies signatures of one P-384 public key. It is immutable
// and safe for concurrent use.
type Verifier struct {
	pub   *ecdsa.PublicKey
	table *table
}

// New builds the verifier of pub, a P-384 key, which takes about TableBytes
// of memory and a few milliseconds. It fails for a key of another curve or
// one that is not a point of P-384.
func New(pub *ecdsa.PublicKey) (*Verifier, error) {
	if pub == nil || pub.Curve != elliptic.P384() {
		return nil, errors.New("es384: not a P-384 key")
	}
	b, err := pub.Bytes() // the uncompressed point; fails off the curve
	if err != nil {
		return nil, err
	}
	q, err := nistec.NewP384Point().SetBytes(b)
	if err != nil {
		return nil, err
	}
	generator() // built once, outside any request
	return &Verifier{pub: pub, table: newTable(q)}, nil
}

// Reuse returns a verifier for pub that shares v's table, when pub is the
// same key as v's, and nil otherwise: a key set fetched again holds new
// copies of the keys it held.
func (v *Verifier) Reuse(pub *ecdsa.PublicKey) *Verifier {
	if !v.pub.Equal(pub) {
		return nil
	}
	return &Verifier{pub: pub, table: v.table}
}

// Key returns the public key the verifier is for.
func (v *Verifier) Key() *ecdsa.PublicKey { return v.pub }

// Verify reports whether (r, s) is a valid signature of hash, with the
// semantics of crypto/ecdsa.Verify: r and s in [1, n-1]; the hash
// truncated to the bit length of n; R = u1·G + u2·Q not the point at
// infinity; and R.x mod n = r.
func (v *Verifier) Verify(hash []byte, r, s *big.Int) bool {
	if r.Sign() <= 0 || s.Sign() <= 0 || r.Cmp(n) >= 0 || s.Cmp(n) >= 0 {
		return false
	}
	if len(hash) > scalarBytes { // n has exactly 384 bits: truncating is byte-aligned
		hash = hash[:scalarBytes]
	}
	e := new(big.Int).SetBytes(hash)
	w := new(big.Int).ModInverse(s, n)
	u1 := e.Mul(e, w)
	u1.Mod(u1, n)
	u2 := w.Mul(r, w)
	u2.Mod(u2, n)

	var k1, k2 [scalarBytes]byte
	u1.FillBytes(k1[:])
	u2.FillBytes(k2[:])
	acc := nistec.NewP384Point() // the point at infinity
	neg := nistec.NewP384Point()
	add := func(t *table, k *[scalarBytes]byte) {
		d := recode(k)
		for i, digit := range d {
			switch {
			case digit > 0:
				acc.Add(acc, &t[i][digit-1])
			case digit < 0:
				acc.Add(acc, neg.Negate(&t[i][-digit-1]))
			}
		}
	}
	add(generator(), &k1)
	add(v.table, &k2)
	if acc.IsInfinity() == 1 {
		return false
	}
	x, err := acc.BytesX()
	if err != nil {
		return false
	}
	// x < p, and p < 2n: x mod n is x, or x - n.
	xn := new(big.Int).SetBytes(x)
	if xn.Cmp(n) >= 0 {
		xn.Sub(xn, n)
	}
	return xn.Cmp(r) == 0
}

// recode splits the big-endian scalar k into signed base-2^window digits
// d[i] in [-2^(window-1), 2^(window-1)], least significant first, with
// k = Σ d[i]·2^(window·i).
func recode(k *[scalarBytes]byte) [windows]int8 {
	var d [windows]int8
	carry := 0
	for i := range d {
		digit := bitsAt(k, i*window) + carry
		carry = 0
		if digit > entries {
			digit -= 1 << window
			carry = 1
		}
		d[i] = int8(digit)
	}
	return d
}

// bitsAt returns the window bits of the big-endian k starting at bit
// offset (0 is the least significant bit); bits past the top are zero.
func bitsAt(k *[scalarBytes]byte, offset int) int {
	v := 0
	for b := window - 1; b >= 0; b-- {
		bit := offset + b
		v <<= 1
		if bit < 8*scalarBytes {
			v |= int(k[scalarBytes-1-bit/8]>>(bit%8)) & 1
		}
	}
	return v
}
