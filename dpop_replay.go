package authz

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"time"
)

// ReplayCache remembers the DPoP proofs a validator accepted, so that each
// is accepted once (RFC 9449 section 11.1). Implementations must be safe
// for concurrent use. [NewMemoryReplayCache] is one, for a single process;
// replicas behind one load balancer need a shared one, such as the Redis
// cache of the authz/dpopredis module.
type ReplayCache interface {
	// Remember records key, which names one proof, until expires, and
	// reports whether key was already recorded and has not expired yet:
	// the proof is then a replay. now is the validator's clock. The
	// check and the record must be one atomic step. An error means the
	// cache cannot answer, and the proof is refused with
	// [ErrReplayUnavailable]: a replay cache fails closed.
	Remember(ctx context.Context, key string, now, expires time.Time) (replayed bool, err error)
}

// DefaultReplayCapacity is how many proofs the default in-memory replay
// cache holds: with the default window and leeway, 2,900 proofs a second,
// in about 20 MB when full.
const DefaultReplayCapacity = 1 << 18

// ErrReplayCacheFull is the error of a [NewMemoryReplayCache] holding as
// many unexpired proofs as it may: new proofs are refused until some
// expire, rather than forgetting a proof that could then be replayed.
var ErrReplayCacheFull = errors.New("authz: DPoP replay cache is full")

// NewMemoryReplayCache returns a [ReplayCache] in this process's memory
// that holds up to capacity unexpired proofs (at least 1). Expired proofs
// are dropped as new ones arrive, at a constant cost per proof.
func NewMemoryReplayCache(capacity int) ReplayCache {
	return &memoryReplay{seen: map[[16]byte]int64{}, capacity: max(1, capacity)}
}

// memoryReplay is NewMemoryReplayCache's cache: a map of key hashes to
// expiry times, and a queue of the keys in the order they were recorded,
// from which expired ones are dropped.
type memoryReplay struct {
	mu       sync.Mutex
	seen     map[[16]byte]int64 // key hash -> expiry, Unix nanoseconds
	queue    []replayEntry
	head     int // queue[head:] are live
	capacity int
}

type replayEntry struct {
	key     [16]byte
	expires int64
}

func (m *memoryReplay) Remember(_ context.Context, key string, now, expires time.Time) (bool, error) {
	sum := sha256.Sum256([]byte(key))
	var k [16]byte
	copy(k[:], sum[:])
	n, exp := now.UnixNano(), expires.UnixNano()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.expire(n)
	if e, ok := m.seen[k]; ok && e > n {
		return true, nil
	}
	if len(m.seen) >= m.capacity {
		return false, ErrReplayCacheFull
	}
	m.seen[k] = exp
	m.queue = append(m.queue, replayEntry{k, exp})
	return false, nil
}

// expire drops the expired proofs at the head of the queue. Proofs expire
// in about the order they arrive (their "iat" plus a fixed window); one
// that expires later than those behind it holds them up for at most the
// window's length.
func (m *memoryReplay) expire(now int64) {
	for m.head < len(m.queue) && m.queue[m.head].expires <= now {
		e := m.queue[m.head]
		if m.seen[e.key] == e.expires {
			delete(m.seen, e.key)
		}
		m.head++
	}
	if m.head > 1024 && m.head > len(m.queue)/2 {
		m.queue = append(m.queue[:0], m.queue[m.head:]...)
		m.head = 0
	}
}
