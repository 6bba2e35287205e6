package pkcs1

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var hashes = []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512}

func newKey(t testing.TB, bits int) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	require.NoError(t, err)
	return k
}

func verifier(t testing.TB, pub *rsa.PublicKey) *Verifier {
	v, err := New(pub)
	require.NoError(t, err)
	return v
}

// agree checks that v and crypto/rsa give the same answer.
func agree(t *testing.T, v *Verifier, h crypto.Hash, hashed, sig []byte, what string) bool {
	t.Helper()
	want := rsa.VerifyPKCS1v15(v.Key(), h, hashed, sig) == nil
	return assert.Equal(t, want, v.Verify(h, hashed, sig), "%s: crypto/rsa says %v", what, want)
}

func digest(h crypto.Hash, msg string) []byte {
	w := h.New()
	w.Write([]byte(msg))
	return w.Sum(nil)
}

func TestValidAndAltered(t *testing.T) {
	for _, bits := range []int{2048, 3072} {
		k := newKey(t, bits)
		v := verifier(t, &k.PublicKey)
		for _, h := range hashes {
			hashed := digest(h, "a message")
			sig, err := rsa.SignPKCS1v15(rand.Reader, k, h, hashed)
			require.NoError(t, err)
			require.True(t, v.Verify(h, hashed, sig))
			for i := 0; i < len(sig); i += 7 {
				for bit := range 8 {
					bad := append([]byte(nil), sig...)
					bad[i] ^= 1 << bit
					agree(t, v, h, hashed, bad, "signature bit flipped")
				}
			}
			for i := range hashed {
				bad := append([]byte(nil), hashed...)
				bad[i] ^= 0x10
				agree(t, v, h, bad, sig, "hash altered")
			}
			for _, other := range hashes {
				if other != h {
					agree(t, v, other, digest(other, "a message"), sig, "another hash")
				}
			}
		}
	}
}

func TestEdgeSignatures(t *testing.T) {
	k := newKey(t, 2048)
	v := verifier(t, &k.PublicKey)
	hashed := digest(crypto.SHA256, "edges")
	sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, hashed)
	require.NoError(t, err)
	size := len(sig)
	pad := func(x *big.Int) []byte { return x.FillBytes(make([]byte, size)) }
	one := big.NewInt(1)
	n := k.N
	for name, s := range map[string][]byte{
		"0":         make([]byte, size),
		"1":         pad(one),
		"n-1":       pad(new(big.Int).Sub(n, one)),
		"n":         pad(n),
		"n+1":       pad(new(big.Int).Add(n, one)),
		"all ones":  bytesOf(size, 0xff),
		"short":     sig[1:],
		"long":      append([]byte{0}, sig...),
		"empty":     nil,
		"n - sig":   pad(new(big.Int).Sub(n, new(big.Int).SetBytes(sig))),
		"wrong key": mustSign(t, newKey(t, 2048), hashed),
	} {
		agree(t, v, crypto.SHA256, hashed, s, name)
	}
	if plus := new(big.Int).Add(new(big.Int).SetBytes(sig), n); plus.BitLen() <= 8*size {
		agree(t, v, crypto.SHA256, hashed, pad(plus), "sig + n") // the same value mod n, but not reduced
	}
	agree(t, v, crypto.SHA256, hashed[:31], sig, "short hash")
	agree(t, v, crypto.SHA1, digest(crypto.SHA1, "edges"), sig, "unsupported hash")
}

func bytesOf(n int, b byte) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

func mustSign(t *testing.T, k *rsa.PrivateKey, hashed []byte) []byte {
	sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, hashed)
	require.NoError(t, err)
	return sig
}

func TestNewRefusesBadKeys(t *testing.T) {
	k := newKey(t, 2048)
	for name, pub := range map[string]*rsa.PublicKey{
		"nil":           nil,
		"no modulus":    {E: 65537},
		"even modulus":  {N: new(big.Int).Lsh(big.NewInt(1), 2048), E: 65537},
		"short modulus": {N: big.NewInt(3233), E: 17},
		"exponent 1":    {N: k.N, E: 1},
		"huge exponent": {N: k.N, E: 1 << 31},
	} {
		_, err := New(pub)
		assert.Error(t, err, name)
	}
}

func TestReuse(t *testing.T) {
	k, other := newKey(t, 2048), newKey(t, 2048)
	v := verifier(t, &k.PublicKey)
	same := &rsa.PublicKey{N: new(big.Int).Set(k.N), E: k.E}
	r := v.Reuse(same)
	require.NotNil(t, r)
	assert.Same(t, same, r.Key())
	assert.Same(t, v.n, r.n)
	assert.Nil(t, v.Reuse(&other.PublicKey))
}

// TestWycheproof runs Project Wycheproof's RSASSA-PKCS1-v1_5 vectors.
func TestWycheproof(t *testing.T) {
	for file, h := range map[string]crypto.Hash{
		"rsa_signature_2048_sha256_test.json": crypto.SHA256,
		"rsa_signature_3072_sha384_test.json": crypto.SHA384,
		"rsa_signature_4096_sha512_test.json": crypto.SHA512,
	} {
		t.Run(file, func(t *testing.T) {
			raw, err := os.ReadFile("testdata/wycheproof/" + file)
			require.NoError(t, err)
			var vectors struct {
				NumberOfTests int `json:"numberOfTests"`
				TestGroups    []struct {
					PublicKey struct {
						Modulus        string `json:"modulus"`
						PublicExponent string `json:"publicExponent"`
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
			require.NoError(t, json.Unmarshal(raw, &vectors))
			ran := 0
			for _, g := range vectors.TestGroups {
				nb, err := hex.DecodeString(g.PublicKey.Modulus)
				require.NoError(t, err)
				eb, err := hex.DecodeString(g.PublicKey.PublicExponent)
				require.NoError(t, err)
				pub := &rsa.PublicKey{N: new(big.Int).SetBytes(nb), E: int(new(big.Int).SetBytes(eb).Int64())}
				v := verifier(t, pub)
				for _, tc := range g.Tests {
					msg, err := hex.DecodeString(tc.Msg)
					require.NoError(t, err)
					sig, err := hex.DecodeString(tc.Sig)
					require.NoError(t, err)
					w := h.New()
					w.Write(msg)
					hashed := w.Sum(nil)
					got := v.Verify(h, hashed, sig)
					switch tc.Result {
					case "valid":
						assert.True(t, got, "tcId %d (%s)", tc.TcID, tc.Comment)
					case "invalid":
						assert.False(t, got, "tcId %d (%s)", tc.TcID, tc.Comment)
					default:
						assert.Equal(t, rsa.VerifyPKCS1v15(pub, h, hashed, sig) == nil, got, "tcId %d (%s)", tc.TcID, tc.Comment)
					}
					ran++
				}
			}
			assert.Equal(t, vectors.NumberOfTests, ran)
		})
	}
}

func TestConcurrentVerification(t *testing.T) {
	k := newKey(t, 2048)
	v := verifier(t, &k.PublicKey)
	hashed := digest(crypto.SHA256, "shared")
	sig := mustSign(t, k, hashed)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				assert.Equal(t, i%2 == 0, v.Verify(crypto.SHA256, hashed, sig[:len(sig)-i%2]))
			}
		}()
	}
	wg.Wait()
}

// FuzzVerify: on any signature bytes and digest, the verifier agrees with
// crypto/rsa.
func FuzzVerify(f *testing.F) {
	k := newKey(f, 2048)
	v := verifier(f, &k.PublicKey)
	hashed := digest(crypto.SHA256, "fuzz")
	sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, hashed)
	require.NoError(f, err)
	f.Add(hashed, sig)
	f.Add(hashed, make([]byte, len(sig)))
	f.Add([]byte{}, []byte{1})
	f.Fuzz(func(t *testing.T, hashed, sig []byte) {
		for _, h := range hashes {
			want := rsa.VerifyPKCS1v15(&k.PublicKey, h, hashed, sig) == nil
			if got := v.Verify(h, hashed, sig); got != want {
				t.Fatalf("%v, hash %x, sig %x: crypto/rsa says %v, pkcs1 %v", h, hashed, sig, want, got)
			}
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	k := newKey(b, 2048)
	v := verifier(b, &k.PublicKey)
	hashed := digest(crypto.SHA256, "bench")
	sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, hashed)
	require.NoError(b, err)
	b.Run("impl=pkcs1", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !v.Verify(crypto.SHA256, hashed, sig) {
				b.Fatal("refused")
			}
		}
	})
	b.Run("impl=crypto-rsa", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := rsa.VerifyPKCS1v15(&k.PublicKey, crypto.SHA256, hashed, sig); err != nil {
				b.Fatal(err)
			}
		}
	})
}
