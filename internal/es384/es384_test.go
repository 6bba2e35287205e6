package es384

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
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

func newKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	return k
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

func TestRecode(t *testing.T) {
	for range 200 {
		k, err := rand.Int(rand.Reader, n)
		require.NoError(t, err)
		var b [scalarBytes]byte
		k.FillBytes(b[:])
		sum := new(big.Int)
		for i, d := range recode(&b) {
			require.LessOrEqual(t, int(d), entries)
			require.GreaterOrEqual(t, int(d), -entries)
			term := new(big.Int).Lsh(big.NewInt(int64(d)), uint(window*i))
			sum.Add(sum, term)
		}
		require.Equal(t, 0, sum.Cmp(k), "the digits add up to the scalar")
	}
}

func TestValidSignatures(t *testing.T) {
	for range 20 {
		k := newKey(t)
		v := verifier(t, &k.PublicKey)
		hash := sha512.Sum384([]byte("a message " + k.D.String()))
		r, s := sign(t, k, hash[:])
		require.True(t, v.Verify(hash[:], r, s))
		agree(t, v, hash[:], r, new(big.Int).Sub(n, s), "(r, n-s)")
	}
}

func TestBitFlips(t *testing.T) {
	k := newKey(t)
	v := verifier(t, &k.PublicKey)
	hash := sha512.Sum384([]byte("flip me"))
	r, s := sign(t, k, hash[:])
	for bit := range 384 {
		flip := func(x *big.Int) *big.Int { return new(big.Int).Xor(x, new(big.Int).Lsh(big.NewInt(1), uint(bit))) }
		agree(t, v, hash[:], flip(r), s, "r bit flipped")
		agree(t, v, hash[:], r, flip(s), "s bit flipped")
		h := hash
		h[bit/8] ^= 1 << (bit % 8)
		agree(t, v, h[:], r, s, "hash bit flipped")
	}
}

func TestEdgeValues(t *testing.T) {
	k := newKey(t)
	v := verifier(t, &k.PublicKey)
	hash := sha512.Sum384([]byte("edges"))
	r, s := sign(t, k, hash[:])
	p := elliptic.P384().Params().P
	one := big.NewInt(1)
	two384 := new(big.Int).Lsh(one, 384)
	edges := map[string]*big.Int{
		"0": big.NewInt(0), "1": one, "n-1": new(big.Int).Sub(n, one), "n": n, "n+1": new(big.Int).Add(n, one),
		"p-1": new(big.Int).Sub(p, one), "p": p, "2^384": two384, "-1": big.NewInt(-1),
	}
	for name, x := range edges {
		agree(t, v, hash[:], x, s, "r = "+name)
		agree(t, v, hash[:], r, x, "s = "+name)
		agree(t, v, hash[:], x, x, "r = s = "+name)
	}
	agree(t, v, hash[:], s, r, "r and s swapped")
	for range 50 {
		jr, err := rand.Int(rand.Reader, two384)
		require.NoError(t, err)
		js, err := rand.Int(rand.Reader, two384)
		require.NoError(t, err)
		agree(t, v, hash[:], jr, js, "random junk")
	}
}

func TestHashLengths(t *testing.T) {
	k := newKey(t)
	v := verifier(t, &k.PublicKey)
	for _, size := range []int{0, 1, 20, 32, 47, 48, 49, 64, 100} {
		hash := make([]byte, size)
		_, _ = rand.Read(hash)
		r, s := sign(t, k, hash)
		require.True(t, agree(t, v, hash, r, s, "valid"), "hash of %d bytes", size)
		if size > 0 {
			hash[0] ^= 0x80
			agree(t, v, hash, r, s, "altered")
		}
	}
}

// TestSpecialKeys: keys k·G for small k, and n-1, n-2, 2^i, reach the
// additions' exceptional cases (a table entry equal to an accumulated sum,
// or its negation).
func TestSpecialKeys(t *testing.T) {
	var ks []*big.Int
	for i := int64(1); i <= 40; i++ {
		ks = append(ks, big.NewInt(i))
	}
	for i := uint(1); i < 384; i += 7 {
		ks = append(ks, new(big.Int).Lsh(big.NewInt(1), i))
	}
	ks = append(ks, new(big.Int).Sub(n, big.NewInt(1)), new(big.Int).Sub(n, big.NewInt(2)))
	for _, d := range ks {
		d := new(big.Int).Mod(d, n)
		b := make([]byte, scalarBytes)
		d.FillBytes(b)
		priv, err := ecdsa.ParseRawPrivateKey(elliptic.P384(), b)
		require.NoError(t, err, "d = %v", d)
		v := verifier(t, &priv.PublicKey)
		for _, msg := range []string{"a", "b"} {
			hash := sha512.Sum384([]byte(msg))
			r, s := sign(t, priv, hash[:])
			agree(t, v, hash[:], r, s, "valid, d = "+d.String())
			agree(t, v, hash[:], new(big.Int).Add(r, big.NewInt(1)), s, "r+1, d = "+d.String())
		}
		// u1·G + u2·Q with u2 = -u1·d^-1 makes R the point at infinity.
		agree(t, v, make([]byte, scalarBytes), d, d, "r = s = d")
	}
}

func TestNewRefusesOtherCurves(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	_, err = New(&k.PublicKey)
	assert.Error(t, err)
	_, err = New(nil)
	assert.Error(t, err)
	bad := &ecdsa.PublicKey{Curve: elliptic.P384(), X: big.NewInt(1), Y: big.NewInt(1)}
	_, err = New(bad)
	assert.Error(t, err, "not a point of the curve")
}

// TestWycheproof runs Project Wycheproof's ECDSA P-384 SHA-384 vectors in
// the IEEE P1363 encoding (r || s) that JWS uses.
func TestWycheproof(t *testing.T) {
	raw, err := os.ReadFile("testdata/wycheproof/ecdsa_secp384r1_sha384_p1363_test.json")
	require.NoError(t, err)
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
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P384(), point)
		require.NoError(t, err)
		v := verifier(t, pub)
		for _, tc := range g.Tests {
			msg, err := hex.DecodeString(tc.Msg)
			require.NoError(t, err)
			sig, err := hex.DecodeString(tc.Sig)
			require.NoError(t, err)
			hash := sha512.Sum384(msg)
			got := false
			if len(sig) == 2*scalarBytes { // any other length is not a P1363 signature
				got = v.Verify(hash[:], new(big.Int).SetBytes(sig[:scalarBytes]), new(big.Int).SetBytes(sig[scalarBytes:]))
			}
			switch tc.Result {
			case "valid":
				assert.True(t, got, "tcId %d (%s)", tc.TcID, tc.Comment)
			case "invalid":
				assert.False(t, got, "tcId %d (%s)", tc.TcID, tc.Comment)
			default: // "acceptable": as crypto/ecdsa decides
				if len(sig) == 2*scalarBytes {
					want := ecdsa.Verify(pub, hash[:], new(big.Int).SetBytes(sig[:scalarBytes]), new(big.Int).SetBytes(sig[scalarBytes:]))
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
	f.Add(make([]byte, 64), n.Bytes(), n.Bytes())
	f.Fuzz(func(t *testing.T, hash, rb, sb []byte) {
		if len(rb) > 64 || len(sb) > 64 || len(hash) > 128 {
			return
		}
		r, s := new(big.Int).SetBytes(rb), new(big.Int).SetBytes(sb)
		if want, got := ecdsa.Verify(&priv.PublicKey, hash, r, s), v.Verify(hash, r, s); want != got {
			t.Fatalf("hash %x, r %x, s %x: crypto/ecdsa says %v, es384 %v", hash, rb, sb, want, got)
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	k := newKey(b)
	v := verifier(b, &k.PublicKey)
	hash := sha512.Sum384([]byte("bench"))
	r, s, err := ecdsa.Sign(rand.Reader, k, hash[:])
	require.NoError(b, err)
	b.Run("impl=es384", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !v.Verify(hash[:], r, s) {
				b.Fatal("refused")
			}
		}
	})
	b.Run("impl=crypto-ecdsa", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !ecdsa.Verify(&k.PublicKey, hash[:], r, s) {
				b.Fatal("refused")
			}
		}
	})
}

// BenchmarkNew is the cost of a key's table, paid when its key set loads.
func BenchmarkNew(b *testing.B) {
	k := newKey(b)
	generator()
	b.ReportAllocs()
	b.ReportMetric(TableBytes, "table-bytes")
	for b.Loop() {
		if _, err := New(&k.PublicKey); err != nil {
			b.Fatal(err)
		}
	}
}

func TestReuse(t *testing.T) {
	k, other := newKey(t), newKey(t)
	v := verifier(t, &k.PublicKey)
	same := &ecdsa.PublicKey{Curve: k.Curve, X: new(big.Int).Set(k.X), Y: new(big.Int).Set(k.Y)}
	r := v.Reuse(same)
	require.NotNil(t, r)
	assert.Same(t, same, r.Key())
	assert.Same(t, v.table, r.table, "the table is shared")
	assert.Nil(t, v.Reuse(&other.PublicKey))
}
