// Package dpopredis is a DPoP replay cache ([authz.ReplayCache]) in Redis,
// for API replicas behind one load balancer: a DPoP proof (RFC 9449)
// accepted by one replica is refused by all the others.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", DialTimeout: time.Second, ReadTimeout: 500 * time.Millisecond})
//	v, err := authz.New(issuer, audiences, authz.WithDPoP(authz.DPoPConfig{Replay: dpopredis.New(rdb)}))
//
// Each proof is one SET with NX and a relative expiry: atomic, so two
// replicas given the same proof at the same moment cannot both accept it.
// The expiry is the validator's own (the proof's "iat" plus the window and
// leeway), sent as a duration, so the Redis server's clock does not
// matter.
//
// When Redis cannot be reached, Remember returns the error and the
// validator refuses the request with authz.ErrReplayUnavailable (the
// middleware answers 503): a replay cache fails closed. Give the client
// short timeouts, so that an unreachable Redis costs requests a second at
// most, not the client's default of five.
package dpopredis

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed31d61d31/authz"
)

// DefaultPrefix is the prefix of the keys Cache writes.
const DefaultPrefix = "authz:dpop:"

// Cache is an [authz.ReplayCache] in Redis. It is safe for concurrent use.
type Cache struct {
	client redis.UniversalClient
	prefix string
}

var _ authz.ReplayCache = (*Cache)(nil)

// Option configures a Cache.
type Option func(*Cache)

// WithPrefix sets the prefix of the cache's keys (default
// [DefaultPrefix]), for instance to share one Redis between APIs whose
// replay caches must stay apart.
func WithPrefix(prefix string) Option {
	return func(c *Cache) { c.prefix = prefix }
}

// New returns a Cache that keeps proofs in client, a single server, a
// cluster or a failover client.
func New(client redis.UniversalClient, opts ...Option) *Cache {
	c := &Cache{client: client, prefix: DefaultPrefix}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	return c
}

// Remember records key until expires with SET key 1 NX PX (expires-now),
// and reports a replay when the key was already there.
func (c *Cache) Remember(ctx context.Context, key string, now, expires time.Time) (bool, error) {
	ttl := max(expires.Sub(now), time.Millisecond)
	ok, err := c.client.SetNX(ctx, c.prefix+key, 1, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("dpopredis: %w", err)
	}
	return !ok, nil
}
