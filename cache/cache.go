// Package cache keeps what was read from the store in memory for a while,
// on the caller's clock, and never more than a fixed number of entries.
// Sessions (auth), members, the rewards catalogue and policies use it; what
// each replica may hold and how stale it may be is docs/ARCHITECTURE.md §6.
package cache

import (
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Cache maps keys to values that expire ttl after they were put in, by the
// clock it was given. It holds at most size entries: putting one more drops
// the least recently used. A ttl of zero or less keeps nothing, so every
// Get misses. It is safe for concurrent use.
type Cache[K comparable, V any] struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries *simplelru.LRU[K, entry[V]]
}

// entry is a value and the instant it stops being returned.
type entry[V any] struct {
	value   V
	expires time.Time
}

// New returns an empty cache whose entries live for ttl on clock now, at
// most size of them. It panics if size is not positive: a cache without
// room is a wiring mistake, not a runtime condition.
func New[K comparable, V any](ttl time.Duration, size int, now func() time.Time) *Cache[K, V] {
	entries, err := simplelru.NewLRU[K, entry[V]](size, nil)
	if err != nil {
		panic(fmt.Sprintf("cache: size %d: %v", size, err))
	}
	return &Cache[K, V]{
		ttl:     ttl,
		now:     now,
		entries: entries,
	}
}

// Get returns key's value if it was put in less than ttl ago. An expired
// entry is dropped on the way.
func (c *Cache[K, V]) Get(key K) (V, bool) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	hit, ok := c.entries.Get(key)
	if !ok {
		var zero V
		return zero, false
	}
	if !now.Before(hit.expires) {
		c.entries.Remove(key)
		var zero V
		return zero, false
	}
	return hit.value, true
}

// Put keeps value for key until ttl from now, replacing what key had.
func (c *Cache[K, V]) Put(key K, value V) {
	if c.ttl <= 0 {
		return
	}
	expires := c.now().Add(c.ttl)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries.Add(key, entry[V]{
		value:   value,
		expires: expires,
	})
}

// Forget drops key, so the next Get misses: call it when this process
// changes what key stands for.
func (c *Cache[K, V]) Forget(key K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries.Remove(key)
}

// Len returns how many entries are held, expired ones not yet dropped
// included.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entries.Len()
}
