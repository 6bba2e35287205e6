// Package cache holds verified tokens, keyed by the SHA-256 of the whole
// token, so that a token seen again skips signature and JSON work.
//
// A hit is impossible without the exact token bytes: the key is a
// cryptographic hash, never a fast non-cryptographic one that a forged token
// could be made to collide with.
//
// The cache is bounded by entries and sharded; a lookup takes one shard's
// read lock. When a shard is full, an insert evicts the entry that expires
// soonest among a few sampled at random (Go's map iteration order), which
// favours dropping tokens that are about to die anyway.
package cache

import (
	"crypto/sha256"
	"sync"
	"unsafe"
)

// Key is the SHA-256 of a token.
type Key [sha256.Size]byte

// KeyOf hashes token without copying it.
func KeyOf(token string) Key {
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token)))
}

const (
	shardCount  = 16
	evictSample = 4
)

// Cache maps a token's Key to a value until the value's deadline. It is safe
// for concurrent use. The zero value is not usable; call New.
type Cache[V any] struct {
	shards   [shardCount]shard[V]
	perShard int
}

type shard[V any] struct {
	mu sync.RWMutex
	m  map[Key]entry[V]
}

type entry[V any] struct {
	value    V
	deadline int64 // unix nanoseconds; a lookup at or after it misses
}

// New returns a cache of at most maxEntries entries (rounded up to a
// multiple of the shard count).
func New[V any](maxEntries int) *Cache[V] {
	c := &Cache[V]{perShard: max(1, (maxEntries+shardCount-1)/shardCount)}
	for i := range c.shards {
		c.shards[i].m = make(map[Key]entry[V])
	}
	return c
}

func (c *Cache[V]) shard(k Key) *shard[V] { return &c.shards[k[0]%shardCount] }

// Get returns the value for k if it is there and its deadline is after now.
func (c *Cache[V]) Get(k Key, now int64) (V, bool) {
	s := c.shard(k)
	s.mu.RLock()
	e, ok := s.m[k]
	s.mu.RUnlock()
	if !ok || now >= e.deadline {
		var zero V
		return zero, false
	}
	return e.value, true
}

// Put stores v for k until deadline (unix nanoseconds), evicting when the
// shard is full.
func (c *Cache[V]) Put(k Key, v V, deadline, now int64) {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[k]; !ok && len(s.m) >= c.perShard {
		s.evict(now)
	}
	s.m[k] = entry[V]{value: v, deadline: deadline}
}

// evict drops expired entries among a sample, or else the one of the sample
// that expires soonest. The caller holds the lock.
func (s *shard[V]) evict(now int64) {
	var victim Key
	soonest, n := int64(0), 0
	for k, e := range s.m {
		if e.deadline <= now {
			delete(s.m, k)
			return
		}
		if n == 0 || e.deadline < soonest {
			victim, soonest = k, e.deadline
		}
		if n++; n == evictSample {
			break
		}
	}
	delete(s.m, victim)
}

// DeleteFunc drops every entry whose value matches drop.
func (c *Cache[V]) DeleteFunc(drop func(V) bool) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for k, e := range s.m {
			if drop(e.value) {
				delete(s.m, k)
			}
		}
		s.mu.Unlock()
	}
}

// Len returns the number of entries, expired ones included.
func (c *Cache[V]) Len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}

// Flight runs one computation per key at a time: concurrent callers with the
// same key wait for the first one's result instead of repeating its work.
type Flight[V any] struct {
	mu    sync.Mutex
	calls map[Key]*call[V]
}

type call[V any] struct {
	done  chan struct{}
	value V
	err   error
}

// Do runs fn for k, or waits for the run already in flight. shared reports
// whether the result came from another caller's run. A waiter whose done
// channel closes first returns cancel() instead.
func (f *Flight[V]) Do(k Key, cancel <-chan struct{}, cancelErr func() error, fn func() (V, error)) (v V, err error, shared bool) {
	f.mu.Lock()
	if f.calls == nil {
		f.calls = make(map[Key]*call[V])
	}
	if c, ok := f.calls[k]; ok {
		f.mu.Unlock()
		select {
		case <-c.done:
			return c.value, c.err, true
		case <-cancel:
			var zero V
			return zero, cancelErr(), true
		}
	}
	c := &call[V]{done: make(chan struct{})}
	f.calls[k] = c
	f.mu.Unlock()

	defer func() {
		f.mu.Lock()
		delete(f.calls, k)
		f.mu.Unlock()
		close(c.done)
	}()
	c.value, c.err = fn()
	return c.value, c.err, false
}
