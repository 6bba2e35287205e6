package authz_test

import (
	"context"
	"sync/atomic"
	"testing"

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
		// baseline of the prepared ES384 verifier.
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
			if alg != "ES384" && cache == "miss-stdlib" {
				v.Close()
				continue // only ES384 has a prepared verifier
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
