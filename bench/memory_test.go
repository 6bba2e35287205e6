package bench_test

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/bench"
)

const (
	// cacheEntries is the cache size measured.
	cacheEntries = 100_000
	// fillTokens is how many distinct tokens fill it. The cache is 16 shards
	// of cacheEntries/16 entries, chosen by the token's hash; 10% more
	// tokens than entries fill every shard (each gets 6,875 ± 80 of them),
	// so the cache ends holding exactly cacheEntries, in the steady state of
	// a full cache that evicts.
	fillTokens = cacheEntries + cacheEntries/10
)

// BenchmarkCacheMemory reports what authz's verified-token cache costs per
// entry when it holds 100,000 tokens: the live heap after a GC, with the
// cache full, minus the same before the first token, divided by 100,000.
// The tokens themselves stay alive throughout, so they are not counted
// (the cache keys by SHA-256 and keeps the claims, not the token). One
// iteration is a whole fill (some seconds); run it with -benchtime=1x.
//
// Run: go test -run '^$' -bench BenchmarkCacheMemory -benchtime=1x .
func BenchmarkCacheMemory(b *testing.B) {
	iss, err := authztest.NewIssuer(authztest.WithAlgorithm("ES256")) // the fastest to mint and verify
	if err != nil {
		b.Fatal(err)
	}
	defer iss.Close()
	tokens := mintParallel(b, iss, fillTokens)
	ctx := context.Background()

	var perEntry float64
	for b.Loop() {
		v, err := authz.New(iss.URL(), []string{bench.Audience}, authz.WithCache(cacheEntries, time.Hour))
		if err != nil {
			b.Fatal(err)
		}
		// Keys loaded, with a token nobody else validates (it is one of the
		// fill's evictions or not; either way the cache ends full).
		warm, err := iss.APIToken(bench.Audience)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := v.Validate(ctx, warm); err != nil {
			b.Fatal(err)
		}
		before := liveHeap()
		parallel(len(tokens), func(i int) {
			if _, err := v.Validate(ctx, tokens[i]); err != nil {
				b.Error(err)
			}
		})
		after := liveHeap()
		perEntry = float64(int64(after)-int64(before)) / cacheEntries
		runtime.KeepAlive(v)
		v.Close()
	}
	runtime.KeepAlive(tokens)
	b.ReportMetric(perEntry, "B/entry")
	b.ReportMetric(0, "ns/op") // the time of a fill says nothing useful
}

// liveHeap returns the bytes of live heap objects after a full collection.
func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// mintParallel mints n distinct API tokens on every CPU.
func mintParallel(tb testing.TB, iss *authztest.Issuer, n int) []string {
	tb.Helper()
	tokens := make([]string, n)
	var failed atomic.Bool
	parallel(n, func(i int) {
		tok, err := iss.APIToken(bench.Audience, authztest.Scopes("read:documents", "write:documents"))
		if err != nil {
			failed.Store(true)
			return
		}
		tokens[i] = tok
	})
	if failed.Load() {
		tb.Fatal("minting failed")
	}
	return tokens
}

// parallel runs f(0) to f(n-1) on GOMAXPROCS goroutines.
func parallel(n int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				f(i)
			}
		})
	}
	wg.Wait()
}
