package bench_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/bench"
)

// algs are the algorithms compared: Logto's default (ES384, which has no
// assembly in Go), ES256, and RS256 (Logto's RSA option).
var algs = []string{"ES384", "ES256", "RS256"}

// missPool is how many distinct tokens a cache=miss benchmark cycles
// through, as the root module's BenchmarkValidate does: with authz's cache at
// 16 entries each token is long evicted when it comes round again.
const missPool = 512

// subject is the "sub" authztest gives API tokens.
const subject = "test-user"

// fixture is an issuer for one algorithm and a pool of tokens it minted:
// every library validates the same tokens, signed by the same key.
type fixture struct {
	iss    *authztest.Issuer
	tokens []string
}

var (
	fixturesMu sync.Mutex
	fixtures   = map[string]*fixture{}
)

// fixtureFor returns the shared fixture for alg, creating it on first use
// (only the algorithms a -bench or -run filter selects cost anything).
func fixtureFor(tb testing.TB, alg string) *fixture {
	tb.Helper()
	fixturesMu.Lock()
	defer fixturesMu.Unlock()
	if f := fixtures[alg]; f != nil {
		return f
	}
	iss, err := authztest.NewIssuer(authztest.WithAlgorithm(alg))
	if err != nil {
		tb.Fatal(err)
	}
	f := &fixture{iss: iss, tokens: make([]string, missPool)}
	for i := range f.tokens {
		if f.tokens[i], err = iss.APIToken(bench.Audience, authztest.Scopes("read:documents", "write:documents")); err != nil {
			iss.Close()
			tb.Fatal(err)
		}
	}
	fixtures[alg] = f
	return f
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, f := range fixtures {
		f.iss.Close()
	}
	os.Exit(code)
}

// setUp configures p against f and checks that it accepts f's first token:
// a benchmark must never measure an error path.
func setUp(tb testing.TB, p bench.Peer, f *fixture, alg string, tinyCache bool) *bench.Validator {
	tb.Helper()
	v, err := p.New(bench.Target{Issuer: f.iss, Alg: alg, TinyCache: tinyCache})
	if err != nil {
		tb.Fatalf("%s: %v", p.Name, err)
	}
	sub, err := v.Validate(context.Background(), f.tokens[0])
	if err != nil {
		v.Close()
		tb.Fatalf("%s rejects a valid %s token: %v", p.Name, alg, err)
	}
	if !p.Floor && sub != subject {
		v.Close()
		tb.Fatalf("%s: subject %q, want %q", p.Name, sub, subject)
	}
	return v
}

// BenchmarkValidate runs the same Logto-shaped tokens through every library
// in [bench.Peers], as BenchmarkValidate/lib=<name>/alg=<alg>/cache=<hit|miss>.
// cache=hit validates one token again and again; cache=miss cycles through
// missPool distinct tokens (for authz, with a 16-entry cache, so each is a
// full verification). Libraries without a cache have cache=miss only.
//
// Run: ./run.sh, or go test -run '^$' -bench BenchmarkValidate -benchmem .
func BenchmarkValidate(b *testing.B) {
	ctx := context.Background()
	for _, p := range bench.Peers {
		caches := []string{"miss"}
		if p.Cache {
			caches = []string{"hit", "miss"}
		}
		b.Run("lib="+p.Name, func(b *testing.B) {
			for _, alg := range algs {
				b.Run("alg="+alg, func(b *testing.B) {
					for _, cache := range caches {
						b.Run("cache="+cache, func(b *testing.B) {
							f := fixtureFor(b, alg)
							v := setUp(b, p, f, alg, cache == "miss")
							defer v.Close()
							b.ReportAllocs()
							i := 0
							for b.Loop() {
								tok := f.tokens[0]
								if cache == "miss" {
									tok = f.tokens[i%missPool]
								}
								if _, err := v.Validate(ctx, tok); err != nil {
									b.Fatal(err)
								}
								i++
							}
						})
					}
				})
			}
		})
	}
}

// TestEveryLibraryAcceptsAndRejects checks that every peer is configured
// correctly, so that the benchmarks compare validators that all do the job:
// each accepts a valid token and rejects an expired one, one for another
// audience, one from another issuer and one with a broken signature. The raw
// floor checks only the signature.
func TestEveryLibraryAcceptsAndRejects(t *testing.T) {
	for _, alg := range algs {
		t.Run("alg="+alg, func(t *testing.T) {
			f := fixtureFor(t, alg)
			mint := func(resource string, opts ...authztest.TokenOption) string {
				t.Helper()
				tok, err := f.iss.APIToken(resource, append([]authztest.TokenOption{authztest.Scopes("read:documents")}, opts...)...)
				if err != nil {
					t.Fatal(err)
				}
				return tok
			}
			bad := []struct {
				name      string
				token     string
				claimOnly bool // the raw floor, which checks no claim, accepts it
			}{
				{name: "expired", token: mint(bench.Audience, authztest.Expired()), claimOnly: true},
				{name: "wrong audience", token: mint("https://other.example.com"), claimOnly: true},
				{name: "wrong issuer", token: mint(bench.Audience, authztest.IssuerClaim("https://evil.example.com/oidc")), claimOnly: true},
				{name: "no permission", token: mint(bench.Audience, authztest.Scopes("write:documents")), claimOnly: true},
				{name: "bad signature", token: breakSignature(mint(bench.Audience))},
			}
			for _, p := range bench.Peers {
				t.Run("lib="+p.Name, func(t *testing.T) {
					v := setUp(t, p, f, alg, false) // accepts a valid token
					defer v.Close()
					for _, tc := range bad {
						_, err := v.Validate(context.Background(), tc.token)
						switch {
						case p.Floor && tc.claimOnly:
						case err == nil:
							t.Errorf("accepts a token with %s", tc.name)
						}
					}
				})
			}
		})
	}
}

// breakSignature changes one character in the middle of the signature, so
// that it still decodes but no longer verifies.
func breakSignature(token string) string {
	i := strings.LastIndexByte(token, '.') + 10
	c := byte('A')
	if token[i] == 'A' {
		c = 'B'
	}
	return token[:i] + string(c) + token[i+1:]
}
