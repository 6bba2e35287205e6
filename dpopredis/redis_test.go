package dpopredis_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/seed31d61d31/authz"
	"github.com/seed31d61d31/authz/authztest"
	"github.com/seed31d61d31/authz/dpopredis"
	"github.com/seed31d61d31/authz/dpopredis/redistest"
	"github.com/seed31d61d31/authz/middleware"
)

// redisAddr is the address of the redis-server TestMain starts.
var redisAddr string

// TestMain starts a real redis-server on a free loopback port for the
// tests, and stops it when they end. .ci/run installs redis-server when
// it is missing.
func TestMain(m *testing.M) {
	s, err := redistest.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dpopredis: the tests need redis-server (apt-get install -y redis-server):", err)
		os.Exit(1)
	}
	redisAddr = s.Addr()
	code := m.Run()
	s.Close()
	os.Exit(code)
}

// client is a client of the test server, closed when the test ends.
func client(t *testing.T) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr, DialTimeout: time.Second, ReadTimeout: time.Second})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func TestRemember(t *testing.T) {
	ctx := context.Background()
	rdb := client(t)
	c := dpopredis.New(rdb, dpopredis.WithPrefix("test:"+t.Name()+":"))
	now := time.Now()
	replayed, err := c.Remember(ctx, "proof-1", now, now.Add(time.Minute))
	require.NoError(t, err)
	assert.False(t, replayed)
	replayed, err = c.Remember(ctx, "proof-1", now, now.Add(time.Minute))
	require.NoError(t, err)
	assert.True(t, replayed, "the same proof again")
	replayed, err = c.Remember(ctx, "proof-2", now, now.Add(time.Minute))
	require.NoError(t, err)
	assert.False(t, replayed)

	ttl, err := rdb.PTTL(ctx, "test:"+t.Name()+":proof-1").Result()
	require.NoError(t, err)
	assert.True(t, ttl > 50*time.Second && ttl <= time.Minute, "the key lives until the proof expires: %v", ttl)

	// A key expires with its proof; the same key is then new again.
	_, err = c.Remember(ctx, "short", now, now.Add(20*time.Millisecond))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return rdb.Exists(ctx, "test:"+t.Name()+":short").Val() == 0 }, 5*time.Second, 10*time.Millisecond)
	replayed, err = c.Remember(ctx, "short", now, now.Add(time.Minute))
	require.NoError(t, err)
	assert.False(t, replayed)
}

func TestPrefix(t *testing.T) {
	ctx := context.Background()
	rdb := client(t)
	now := time.Now()
	a, b := dpopredis.New(rdb, dpopredis.WithPrefix("api-a:")), dpopredis.New(rdb, dpopredis.WithPrefix("api-b:"))
	_, err := a.Remember(ctx, t.Name(), now, now.Add(time.Minute))
	require.NoError(t, err)
	replayed, err := b.Remember(ctx, t.Name(), now, now.Add(time.Minute))
	require.NoError(t, err)
	assert.False(t, replayed, "caches with other prefixes are apart")
	assert.Equal(t, int64(1), rdb.Exists(ctx, "api-a:"+t.Name()).Val())
	_, err = dpopredis.New(rdb).Remember(ctx, t.Name(), now, now.Add(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, int64(1), rdb.Exists(ctx, dpopredis.DefaultPrefix+t.Name()).Val())
}

// TestConcurrentRemember: of many replicas given one proof at once,
// exactly one accepts it.
func TestConcurrentRemember(t *testing.T) {
	now := time.Now()
	var fresh atomic.Int32
	var wg sync.WaitGroup
	for range 32 {
		c := dpopredis.New(client(t), dpopredis.WithPrefix("test:"+t.Name()+":"))
		wg.Go(func() {
			replayed, err := c.Remember(context.Background(), "one-proof", now, now.Add(time.Minute))
			if err != nil {
				t.Error(err)
				return
			}
			if !replayed {
				fresh.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), fresh.Load())
}

// replica is one API replica: its own validator and middleware, with a
// replay cache in the shared Redis, behind the external URL.
func replica(t *testing.T, iss *authztest.Issuer, replay authz.ReplayCache) string {
	t.Helper()
	v, err := authz.New(iss.URL(), []string{api}, authz.WithDPoP(authz.DPoPConfig{Replay: replay}))
	require.NoError(t, err)
	t.Cleanup(v.Close)
	mw, err := middleware.New(v, middleware.WithDPoP(authz.DPoPRequired), middleware.WithExternalURL(external))
	require.NoError(t, err)
	srv := httptest.NewServer(mw.Require("read:documents")(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"documents":[]}`))
	})))
	t.Cleanup(srv.Close)
	return srv.URL
}

const (
	api      = "https://api.example.com"
	external = "https://api.example.com"
)

func call(t *testing.T, base, token, proof string) int {
	t.Helper()
	req, err := http.NewRequest("GET", base+"/documents", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "DPoP "+token)
	req.Header.Set("DPoP", proof)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// TestReplicasShareRedis: two replicas, each with its own Redis client, as
// two processes behind one load balancer would be: a proof accepted by one
// is refused by the other, and by itself.
func TestReplicasShareRedis(t *testing.T) {
	iss, err := authztest.NewIssuer()
	require.NoError(t, err)
	t.Cleanup(iss.Close)
	prefix := dpopredis.WithPrefix("test:" + t.Name() + ":")
	a := replica(t, iss, dpopredis.New(client(t), prefix))
	b := replica(t, iss, dpopredis.New(client(t), prefix))
	key, err := authztest.NewDPoPKey("ES256", nil)
	require.NoError(t, err)
	tok, err := iss.APIToken(api, authztest.BoundTo(key), authztest.Scopes("read:documents"))
	require.NoError(t, err)
	proof, err := key.Proof("GET", external+"/documents", tok)
	require.NoError(t, err)

	assert.Equal(t, http.StatusOK, call(t, a, tok, proof), "replica A accepts the proof")
	assert.Equal(t, http.StatusUnauthorized, call(t, b, tok, proof), "replica B refuses it: replayed")
	assert.Equal(t, http.StatusUnauthorized, call(t, a, tok, proof), "and so does A")
	fresh, err := key.Proof("GET", external+"/documents", tok)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, call(t, b, tok, fresh), "a new proof passes anywhere")
}

// TestRedisDown: with Redis unreachable, the request is refused with 503
// (authz.ErrReplayUnavailable), never accepted.
func TestRedisDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := l.Addr().String()
	require.NoError(t, l.Close()) // nothing listens there any more
	rdb := redis.NewClient(&redis.Options{Addr: dead, DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	c := dpopredis.New(rdb)

	now := time.Now()
	_, err = c.Remember(context.Background(), "k", now, now.Add(time.Minute))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "dpopredis:")

	iss, err := authztest.NewIssuer()
	require.NoError(t, err)
	t.Cleanup(iss.Close)
	srv := replica(t, iss, c)
	key, err := authztest.NewDPoPKey("ES256", nil)
	require.NoError(t, err)
	tok, err := iss.APIToken(api, authztest.BoundTo(key), authztest.Scopes("read:documents"))
	require.NoError(t, err)
	proof, err := key.Proof("GET", external+"/documents", tok)
	require.NoError(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, call(t, srv, tok, proof))
}
