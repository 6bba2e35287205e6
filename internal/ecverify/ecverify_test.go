package ecverify

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// curves are the curves under test, each with its hash.
var curves = []struct {
	name  string
	curve elliptic.Curve
	sum   func([]byte) []byte
}{
	{"P-384", elliptic.P384(), func(b []byte) []byte { h := sha512.Sum384(b); return h[:] }},
	{"P-256", elliptic.P256(), func(b []byte) []byte { h := sha256.Sum256(b); return h[:] }},
}

func newKeyOn(t testing.TB, c elliptic.Curve) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	require.NoError(t, err)
	return k
}

func newKey(t testing.TB) *ecdsa.PrivateKey { return newKeyOn(t, elliptic.P384()) }

// eachCurve runs f on every curve.
func eachCurve(t *testing.T, f func(t *testing.T, c elliptic.Curve, sum func([]byte) []byte)) {
	for _, cv := range curves {
		t.Run(cv.name, func(t *testing.T) { f(t, cv.curve, cv.sum) })
	}
}

func verifier(t testing.TB, pub *ecdsa.PublicKey) *Verifier {
	v, err := New(pub)
	require.NoError(t, err)
	return v
}

// agree checks that v and crypto/ecdsa give the same answer.
func agree(t *testing.T, v *Verifier, hash []byte, r, s *big.Int, what string) bool {
	t.Helper()
	want := ecdsa.Verify(v.Key(), hash, r, s)
	got := v.Verify(hash, r, s)
	return assert.Equal(t, want, got, "%s: crypto/ecdsa says %v", what, want)
}

func sign(t *testing.T, k *ecdsa.PrivateKey, hash []byte) (r, s *big.Int) {
	r, s, err := ecdsa.Sign(rand.Reader, k, hash)
	require.NoError(t, err)
	return r, s
}

// TestRecode: for both curves and both window widths (keys' and the
// generator's), the signed digits of random scalars, the order's extremes
// and the carry-heavy all-ones pattern add up to the scalar, each within
// [-2^(w-1), 2^(w-1)].
func TestRecode(t *testing.T) {
	for _, c := range []struct {
		n     *big.Int
		bits  int
		bytes int
	}{{p384.n, p384.bits, p384.bytes}, {p256.n, p256.bits, p256.bytes}} {
		for _, w := range []int{window, gWindow} {
			windows := (c.bits + 1 + w - 1) / w
			scalars := []*big.Int{big.NewInt(0), big.NewInt(1), new(big.Int).Sub(c.n, big.NewInt(1)),
				new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(c.bits)), big.NewInt(1))}
			for range 200 {
				k, err := rand.Int(rand.Reader, c.n)
				require.NoError(t, err)
				scalars = append(scalars, k)
			}
			for _, k := range scalars {
				b := make([]byte, c.bytes)
				k.FillBytes(b)
				sum := new(big.Int)
				var digits [maxWindows]int16
				recode(&digits, b, windows, w)
				for i, d := range digits {
					require.LessOrEqual(t, int(d), 1<<(w-1))
					require.GreaterOrEqual(t, int(d), -(1 << (w - 1)))
					if i >= windows {
						require.Zero(t, d)
					}
					sum.Add(sum, new(big.Int).Lsh(big.NewInt(int64(d)), uint(w*i)))
				}
				require.Equal(t, 0, sum.Cmp(k), "w=%d: the digits add up to %x", w, k)
			}
		}
	}
}

func TestValidSignatures(t *testing.T) {
	eachCurve(t, func(t *testing.T, c elliptic.Curve, sum func([]byte) []byte) {
		for range 20 {
			k := newKeyOn(t, c)
			v := verifier(t, &k.PublicKey)
			hash := sum([]byte("a message " + k.D.String()))
			r, s := sign(t, k, hash)
			require.True(t, v.Verify(hash, r, s))
			agree(t, v, hash, r, new(big.Int).Sub(c.Params().N, s), "(r, n-s)")
		}
	})
}

func TestBitFlips(t *testing.T) {
	eachCurve(t, func(t *testing.T, c elliptic.Curve, sum func([]byte) []byte) {
		k := newKeyOn(t, c)
		v := verifier(t, &k.PublicKey)
		hash := sum([]byte("flip me"))
		r, s := sign(t, k, hash)
		for bit := range c.Params().BitSize {
			flip := func(x *big.Int) *big.Int { return new(big.Int).Xor(x, new(big.Int).Lsh(big.NewInt(1), uint(bit))) }
			agree(t, v, hash, flip(r), s, "r bit flipped")
			agree(t, v, hash, r, flip(s), "s bit flipped")
			h := bytes.Clone(hash)
			h[bit/8] ^= 1 << (bit % 8)
			agree(t, v, h, r, s, "hash bit flipped")
		}
	})
}

func TestEdgeValues(t *testing.T) {
	eachCurve(t, func(t *testing.T, c elliptic.Curve, sum func([]byte) []byte) {
		k := newKeyOn(t, c)
		v := verifier(t, &k.PublicKey)
		hash := sum([]byte("edges"))
		r, s := sign(t, k, hash)
		n, p := c.Params().N, c.Params().P
		one := big.NewInt(1)
		top := new(big.Int).Lsh(one, uint(c.Params().BitSize))
		edges := map[string]*big.Int{
			"0": big.NewInt(0), "1": one, "n-1": new(big.Int).Sub(n, one), "n": n, "n+1": new(big.Int).Add(n, one),
			"p-1": new(big.Int).Sub(p, one), "p": p, "2^bits": top, "-1": big.NewInt(-1),
		}
		for name, x := range edges {
			agree(t, v, hash, x, s, "r = "+name)
			agree(t, v, hash, r, x, "s = "+name)
			agree(t, v, hash, x, x, "r = s = "+name)
		}
		agree(t, v, hash, s, r, "r and s swapped")
		for range 50 {
			jr, err := rand.Int(rand.Reader, top)
			require.NoError(t, err)
			js, err := rand.Int(rand.Reader, top)
			require.NoError(t, err)
			agree(t, v, hash, jr, js, "random junk")
		}
	})
}

func TestHashLengths(t *testing.T) {
	eachCurve(t, func(t *testing.T, c elliptic.Curve, _ func([]byte) []byte) {
		k := newKeyOn(t, c)
		v := verifier(t, &k.PublicKey)
		for _, size := range []int{0, 1, 20, 31, 32, 33, 47, 48, 49, 64, 100} {
			hash := make([]byte, size)
			_, _ = rand.Read(hash)
			r, s := sign(t, k, hash)
			require.True(t, agree(t, v, hash, r, s, "valid"), "hash of %d bytes", size)
			if size > 0 {
				hash[0] ^= 0x80
				agree(t, v, hash, r, s, "altered")
			}
		}
	})
}

// TestSpecialKeys: keys k·G for small k, and n-1, n-2, 2^i, reach the
// additions' exceptional cases (a table entry equal to an accumulated sum,
// or its negation).
func TestSpecialKeys(t *testing.T) {
	eachCurve(t, func(t *testing.T, c elliptic.Curve, sum func([]byte) []byte) {
		n := c.Params().N
		size := (c.Params().BitSize + 7) / 8
		var ks []*big.Int
		for i := int64(1); i <= 40; i++ {
			ks = append(ks, big.NewInt(i))
		}
		for i := uint(1); i < uint(c.Params().BitSize); i += 7 {
			ks = append(ks, new(big.Int).Lsh(big.NewInt(1), i))
		}
		ks = append(ks, new(big.Int).Sub(n, big.NewInt(1)), new(big.Int).Sub(n, big.NewInt(2)))
		for _, d := range ks {
			d := new(big.Int).Mod(d, n)
			b := make([]byte, size)
			d.FillBytes(b)
			priv, err := ecdsa.ParseRawPrivateKey(c, b)
			require.NoError(t, err, "d = %v", d)
			v := verifier(t, &priv.PublicKey)
			for _, msg := range []string{"a", "b"} {
				hash := sum([]byte(msg))
				r, s := sign(t, priv, hash)
				agree(t, v, hash, r, s, "valid, d = "+d.String())
				agree(t, v, hash, new(big.Int).Add(r, big.NewInt(1)), s, "r+1, d = "+d.String())
			}
			agree(t, v, make([]byte, size), d, d, "r = s = d")
		}
	})
}

func TestNewRefusesOtherCurves(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	require.NoError(t, err)
	_, err = New(&k.PublicKey)
	assert.Error(t, err, "P-521 is left to the standard library")
	_, err = New(nil)
	assert.Error(t, err)
	for _, c := range []elliptic.Curve{elliptic.P384(), elliptic.P256()} {
		bad := &ecdsa.PublicKey{Curve: c, X: big.NewInt(1), Y: big.NewInt(1)}
		_, err = New(bad)
		assert.Error(t, err, "not a point of the curve")
	}
}

// TestWycheproof runs Project Wycheproof's ECDSA P-384 SHA-384 and P-256
// SHA-256 vectors in the IEEE P1363 encoding (r || s) that JWS uses.
func TestWycheproof(t *testing.T) {
	for _, cv := range curves {
		name := map[string]string{"P-384": "ecdsa_secp384r1_sha384_p1363_test.json", "P-256": "ecdsa_secp256r1_sha256_p1363_test.json"}[cv.name]
		t.Run(cv.name, func(t *testing.T) { wycheproof(t, name, cv.curve, cv.sum) })
	}
}

func wycheproof(t *testing.T, name string, c elliptic.Curve, sum func([]byte) []byte) {
	raw, err := os.ReadFile("testdata/wycheproof/" + name)
	require.NoError(t, err)
	size := (c.Params().BitSize + 7) / 8
	var file struct {
		NumberOfTests int `json:"numberOfTests"`
		TestGroups    []struct {
			PublicKey struct {
				Uncompressed string `json:"uncompressed"`
			} `json:"publicKey"`
			Tests []struct {
				TcID    int    `json:"tcId"`
				Comment string `json:"comment"`
				Msg     string `json:"msg"`
				Sig     string `json:"sig"`
				Result  string `json:"result"`
			} `json:"tests"`
		} `json:"testGroups"`
	}
	require.NoError(t, json.Unmarshal(raw, &file))
	ran := 0
	for _, g := range file.TestGroups {
		point, err := hex.DecodeString(g.PublicKey.Uncompressed)
		require.NoError(t, err)
		pub, err := ecdsa.ParseUncompressedPublicKey(c, point)
		require.NoError(t, err)
		v := verifier(t, pub)
		for _, tc := range g.Tests {
			msg, err := hex.DecodeString(tc.Msg)
			require.NoError(t, err)
			sig, err := hex.DecodeString(tc.Sig)
			require.NoError(t, err)
			hash := sum(msg)
			got := false
			if len(sig) == 2*size { // any other length is not a P1363 signature
				got = v.Verify(hash, new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:]))
			}
			switch tc.Result {
			case "valid":
				assert.True(t, got, "tcId %d (%s)", tc.TcID, tc.Comment)
			case "invalid":
				assert.False(t, got, "tcId %d (%s)", tc.TcID, tc.Comment)
			default: // "acceptable": as crypto/ecdsa decides
				if len(sig) == 2*size {
					want := ecdsa.Verify(pub, hash, new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:]))
					assert.Equal(t, want, got, "tcId %d (%s)", tc.TcID, tc.Comment)
				}
			}
			ran++
		}
	}
	assert.Equal(t, file.NumberOfTests, ran)
}

// TestConcurrentVerification: one verifier, many goroutines (run it under
// -race).
func TestConcurrentVerification(t *testing.T) {
	k := newKey(t)
	v := verifier(t, &k.PublicKey)
	hash := sha512.Sum384([]byte("shared"))
	r, s := sign(t, k, hash[:])
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if i%2 == 0 {
					assert.True(t, v.Verify(hash[:], r, s))
				} else {
					assert.False(t, v.Verify(hash[:], s, r))
				}
			}
		}()
	}
	wg.Wait()
}

// FuzzVerify: on any hash and any (r, s), the verifier agrees with
// crypto/ecdsa, for signatures derived from valid ones and for junk.
func FuzzVerify(f *testing.F) {
	seed := sha512.Sum384([]byte("fuzz key"))
	priv, err := ecdsa.ParseRawPrivateKey(elliptic.P384(), seed[:])
	require.NoError(f, err)
	v := verifier(f, &priv.PublicKey)
	for _, msg := range []string{"", "a", "hello"} {
		hash := sha512.Sum384([]byte(msg))
		r, s, err := ecdsa.Sign(rand.Reader, priv, hash[:])
		require.NoError(f, err)
		f.Add(hash[:], r.Bytes(), s.Bytes())
	}
	f.Add([]byte{}, []byte{0}, []byte{1})
	f.Add(make([]byte, 64), p384.n.Bytes(), p384.n.Bytes())
	f.Add(make([]byte, 32), p256.n.Bytes(), p256.n.Bytes())
	seed256 := sha256.Sum256([]byte("fuzz key"))
	priv256, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), seed256[:])
	require.NoError(f, err)
	v256 := verifier(f, &priv256.PublicKey)
	f.Fuzz(func(t *testing.T, hash, rb, sb []byte) {
		if len(rb) > 64 || len(sb) > 64 || len(hash) > 128 {
			return
		}
		r, s := new(big.Int).SetBytes(rb), new(big.Int).SetBytes(sb)
		if want, got := ecdsa.Verify(&priv.PublicKey, hash, r, s), v.Verify(hash, r, s); want != got {
			t.Fatalf("P-384: hash %x, r %x, s %x: crypto/ecdsa says %v, ecverify %v", hash, rb, sb, want, got)
		}
		if want, got := ecdsa.Verify(&priv256.PublicKey, hash, r, s), v256.Verify(hash, r, s); want != got {
			t.Fatalf("P-256: hash %x, r %x, s %x: crypto/ecdsa says %v, ecverify %v", hash, rb, sb, want, got)
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	for _, cv := range curves {
		k := newKeyOn(b, cv.curve)
		v := verifier(b, &k.PublicKey)
		hash := cv.sum([]byte("bench"))
		r, s, err := ecdsa.Sign(rand.Reader, k, hash)
		require.NoError(b, err)
		b.Run("curve="+cv.name+"/impl=ecverify", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !v.Verify(hash, r, s) {
					b.Fatal("refused")
				}
			}
		})
		b.Run("curve="+cv.name+"/impl=crypto-ecdsa", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !ecdsa.Verify(&k.PublicKey, hash, r, s) {
					b.Fatal("refused")
				}
			}
		})
	}
}

// BenchmarkNew is the cost of a key's table, paid once per key, in the
// background, after a token first names it.
func BenchmarkNew(b *testing.B) {
	for _, cv := range curves {
		k := newKeyOn(b, cv.curve)
		_, err := New(&k.PublicKey) // the generator's table
		require.NoError(b, err)
		b.Run("curve="+cv.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := New(&k.PublicKey); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGeneratorTable is the cost of the generator's table, with its
// wider window: paid once per process and curve, when the first key of
// the curve gets its table.
func BenchmarkGeneratorTable(b *testing.B) {
	b.Run("curve=P-384", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p384.table(p384.newP().SetGenerator(), gWindow)
		}
	})
	b.Run("curve=P-256", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p256.table(p256.newP().SetGenerator(), gWindow)
		}
	})
}
