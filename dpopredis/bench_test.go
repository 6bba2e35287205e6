package dpopredis_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/dpopredis"
	"github.com/seed31d61d31/authz/middleware"
)

// BenchmarkRemember is one round trip to the loopback redis-server of
// TestMain: what the Redis replay cache adds to a DPoP request, against
// the in-memory cache's bookkeeping.
//
//	go test -run '^$' -bench . -benchmem ./dpopredis
func BenchmarkRemember(b *testing.B) {
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	t0 := time.Now()
	var n int64 // every key is new; the clock moves a microsecond a proof
	for _, c := range []struct {
		name  string
		cache authz.ReplayCache
		ttl   time.Duration
	}{
		// A proof expires 64 proofs after it came: the memory cache keeps
		// its steady size.
		{"replay=memory", authz.NewMemoryReplayCache(authz.DefaultReplayCapacity), 64 * time.Microsecond},
		{"replay=redis", dpopredis.New(rdb, dpopredis.WithPrefix("bench:"+strconv.FormatInt(t0.UnixNano(), 36)+":")), time.Minute},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				n++
				now := t0.Add(time.Duration(n) * time.Microsecond)
				if replayed, err := c.cache.Remember(context.Background(), strconv.FormatInt(n, 10), now, now.Add(c.ttl)); err != nil || replayed {
					b.Fatal(replayed, err)
				}
			}
		})
	}
}

// BenchmarkDPoPRequest is a DPoP request through the middleware on a
// verified-token cache hit, with each replay cache; every request has a
// proof of its own, made while the timer is stopped.
func BenchmarkDPoPRequest(b *testing.B) {
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	iss, err := authztest.NewIssuer()
	if err != nil {
		b.Fatal(err)
	}
	defer iss.Close()
	key, err := authztest.NewDPoPKey("ES256", nil)
	if err != nil {
		b.Fatal(err)
	}
	tok, err := iss.APIToken(api, authztest.BoundTo(key), authztest.Scopes("read:documents"))
	if err != nil {
		b.Fatal(err)
	}
	const url = "http://api.example.com/documents"
	for _, c := range []struct {
		name  string
		cache authz.ReplayCache
	}{
		{"replay=memory", nil},
		{"replay=redis", dpopredis.New(rdb, dpopredis.WithPrefix("bench:"+strconv.FormatInt(time.Now().UnixNano(), 36)+":"))},
	} {
		v, err := authz.New(iss.URL(), []string{api}, authz.WithDPoP(authz.DPoPConfig{Replay: c.cache}))
		if err != nil {
			b.Fatal(err)
		}
		mw, err := middleware.New(v, middleware.WithDPoP(authz.DPoPRequired), middleware.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			b.Fatal(err)
		}
		h := mw.Require("read:documents")(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
		batch := func() []*http.Request {
			reqs := make([]*http.Request, 256)
			for i := range reqs {
				p, err := key.Proof(http.MethodGet, url, tok)
				if err != nil {
					b.Fatal(err)
				}
				reqs[i] = httptest.NewRequest(http.MethodGet, url, nil)
				reqs[i].Header.Set("Authorization", "DPoP "+tok)
				reqs[i].Header.Set("DPoP", p)
			}
			return reqs
		}
		serve := func(req *http.Request) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d: %s", rec.Code, rec.Header().Get("WWW-Authenticate"))
			}
		}
		serve(batch()[0]) // the token is now cached
		b.Run(c.name, func(b *testing.B) {
			var reqs []*http.Request
			b.ReportAllocs()
			for b.Loop() {
				if len(reqs) == 0 {
					b.StopTimer()
					reqs = batch()
					b.StartTimer()
				}
				serve(reqs[len(reqs)-1])
				reqs = reqs[:len(reqs)-1]
			}
		})
		v.Close()
	}
}
