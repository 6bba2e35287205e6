package authz_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
)

// missPool is how many distinct tokens a miss benchmark cycles through;
// with a 16-entry cache (one per shard) each is evicted long before it
// comes round again, so every validation is a full verification.
const missPool = 512

// BenchmarkValidate measures Validate for Logto's algorithms, on a cache hit
// (the same token again) and a cache miss (a token not seen before), serial
// and parallel. Run: go test -run '^$' -bench BenchmarkValidate -benchmem .
func BenchmarkValidate(b *testing.B) {
	for _, alg := range []string{"ES384", "ES256", "RS256"} {
		iss, err := authztest.NewIssuer(authztest.WithAlgorithm(alg))
		if err != nil {
			b.Fatal(err)
		}
		tokens := make([]string, missPool)
		for i := range tokens {
			if tokens[i], err = iss.APIToken(api, authztest.Scopes("read:documents", "write:documents")); err != nil {
				b.Fatal(err)
			}
		}
		// cache=miss-stdlib is a miss with WithStandardLibraryCrypto: the
		// baseline of the prepared verifiers.
		for _, cache := range []string{"hit", "miss", "miss-stdlib"} {
			opts := []authz.Option{authz.WithCache(16, authz.DefaultCacheTTL)}
			switch cache {
			case "hit":
				opts = nil
			case "miss-stdlib":
				opts = append(opts, authz.WithStandardLibraryCrypto())
			}
			v, err := authz.New(iss.URL(), []string{api}, opts...)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			if _, err := v.Validate(ctx, tokens[0]); err != nil { // waits for the keys
				b.Fatal(err)
			}
			token := func(i int) string {
				if cache == "hit" {
					return tokens[0]
				}
				return tokens[i%missPool]
			}
			b.Run("alg="+alg+"/cache="+cache+"/mode=serial", func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if _, err := v.Validate(ctx, token(i)); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
			b.Run("alg="+alg+"/cache="+cache+"/mode=parallel", func(b *testing.B) {
				b.ReportAllocs()
				var next atomic.Int64 // every goroutine takes tokens no other one has
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := v.Validate(ctx, token(int(next.Add(1)))); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
			v.Close()
		}
		iss.Close()
	}
}

// BenchmarkRefuseForged measures the refusal of forged ES384 tokens that
// name a valid kid (a signature by another key): the denial-of-service
// cost that no cache absorbs. crypto=prepared is the default,
// crypto=stdlib WithStandardLibraryCrypto, and raw=crypto-ecdsa one
// crypto/ecdsa.Verify of such a signature: the floor of every
// standard-library verifier.
func BenchmarkRefuseForged(b *testing.B) {
	iss, err := authztest.NewIssuer()
	if err != nil {
		b.Fatal(err)
	}
	defer iss.Close()
	attacker, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	forged := make([]string, missPool)
	for i := range forged {
		tok, err := iss.APIToken(api, authztest.Scopes("read:documents"))
		if err != nil {
			b.Fatal(err)
		}
		signing := tok[:strings.LastIndexByte(tok, '.')]
		sig, err := jwt.SigningMethodES384.Sign(signing, attacker)
		if err != nil {
			b.Fatal(err)
		}
		forged[i] = signing + "." + base64.RawURLEncoding.EncodeToString(sig)
	}
	for _, variant := range []struct {
		name string
		opts []authz.Option
	}{{"crypto=prepared", nil}, {"crypto=stdlib", []authz.Option{authz.WithStandardLibraryCrypto()}}} {
		v, err := authz.New(iss.URL(), []string{api}, variant.opts...)
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		if _, err := v.Validate(ctx, forged[0]); !errors.Is(err, authz.ErrSignature) { // waits for the keys
			b.Fatalf("a forged token: %v", err)
		}
		b.Run(variant.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := v.Validate(ctx, forged[i%missPool]); err == nil {
					b.Fatal("a forged token validated")
				}
				i++
			}
		})
		v.Close()
	}
	b.Run("raw=crypto-ecdsa", func(b *testing.B) {
		hash := sha512.Sum384([]byte("a forged token's signing input"))
		r, s, err := ecdsa.Sign(rand.Reader, attacker, hash[:])
		if err != nil {
			b.Fatal(err)
		}
		victim, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if ecdsa.Verify(&victim.PublicKey, hash[:], r, s) {
				b.Fatal("verified")
			}
		}
	})
}
