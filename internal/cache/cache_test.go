package cache

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKeyIsSHA256OfTheWholeToken(t *testing.T) {
	assert.Equal(t, Key(sha256.Sum256([]byte("a.b.c"))), KeyOf("a.b.c"))
	assert.NotEqual(t, KeyOf("a.b.c"), KeyOf("a.b.d"))
}

func TestGetPutAndDeadline(t *testing.T) {
	c := New[string](100)
	k := KeyOf("token")
	_, ok := c.Get(k, 0)
	assert.False(t, ok)

	c.Put(k, "claims", 100, 0)
	v, ok := c.Get(k, 99)
	assert.True(t, ok)
	assert.Equal(t, "claims", v)
	_, ok = c.Get(k, 100)
	assert.False(t, ok, "a lookup at the deadline misses")
}

func TestBoundedByEntries(t *testing.T) {
	c := New[int](64)
	for i := range 10_000 {
		c.Put(KeyOf(fmt.Sprint(i)), i, int64(1000+i), 0)
	}
	assert.LessOrEqual(t, c.Len(), 64)
	assert.Greater(t, c.Len(), 32)
}

func TestEvictionPrefersExpiredThenSoonest(t *testing.T) {
	c := New[int](shardCount) // one entry per shard
	var a, b Key
	for i := 0; ; i++ { // two keys in the same shard
		k := KeyOf(fmt.Sprint(i))
		if i == 0 {
			a = k
		} else if k[0]%shardCount == a[0]%shardCount {
			b = k
			break
		}
	}
	c.Put(a, 1, 10, 0)
	c.Put(b, 2, 20, 50) // a has expired at now=50: it goes
	_, ok := c.Get(a, 0)
	assert.False(t, ok)
	v, ok := c.Get(b, 0)
	assert.True(t, ok)
	assert.Equal(t, 2, v)
}

func TestDeleteFunc(t *testing.T) {
	c := New[int](100)
	for i := range 10 {
		c.Put(KeyOf(fmt.Sprint(i)), i, 100, 0)
	}
	c.DeleteFunc(func(v int) bool { return v%2 == 0 })
	assert.Equal(t, 5, c.Len())
	_, ok := c.Get(KeyOf("3"), 0)
	assert.True(t, ok)
	_, ok = c.Get(KeyOf("4"), 0)
	assert.False(t, ok)
}

func TestFlightRunsOncePerKey(t *testing.T) {
	var f Flight[int]
	var runs atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	results := make([]int, 100)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err, _ := f.Do(KeyOf("t"), nil, nil, func() (int, error) {
				runs.Add(1)
				<-release
				return 42, nil
			})
			assert.NoError(t, err)
			results[i] = v
		}()
	}
	time.Sleep(50 * time.Millisecond) // let every caller join the flight
	close(release)
	wg.Wait()
	assert.Equal(t, int32(1), runs.Load())
	for _, v := range results {
		assert.Equal(t, 42, v)
	}
}

func TestFlightWaiterCancels(t *testing.T) {
	var f Flight[int]
	release := make(chan struct{})
	started := make(chan struct{})
	go func() {
		_, _, _ = f.Do(KeyOf("t"), nil, nil, func() (int, error) {
			close(started)
			<-release
			return 1, nil
		})
	}()
	<-started
	cancel := make(chan struct{})
	close(cancel)
	errGone := errors.New("gone")
	_, err, shared := f.Do(KeyOf("t"), cancel, func() error { return errGone }, func() (int, error) {
		t.Fatal("a second run")
		return 0, nil
	})
	assert.ErrorIs(t, err, errGone)
	assert.True(t, shared)
	close(release)
}

func TestConcurrentUse(t *testing.T) {
	c := New[int](128)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				k := KeyOf(fmt.Sprint(g, i%300))
				if _, ok := c.Get(k, int64(i)); !ok {
					c.Put(k, i, int64(i+100), int64(i))
				}
				if i%500 == 0 {
					c.DeleteFunc(func(v int) bool { return v%7 == 0 })
				}
			}
		}()
	}
	wg.Wait()
	require.LessOrEqual(t, c.Len(), 128)
}
