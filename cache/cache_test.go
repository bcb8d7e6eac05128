package cache

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
)

// clock is a fake clock the tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock {
	return &clock{now: time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func mustGet(t *testing.T, c *Cache[string, int], key string, want int) {
	t.Helper()
	got, ok := c.Get(key)
	if !ok || got != want {
		t.Fatalf("Get(%q) = %d, %v; want %d, true", key, got, ok, want)
	}
}

func mustMiss(t *testing.T, c *Cache[string, int], key string) {
	t.Helper()
	if got, ok := c.Get(key); ok {
		t.Fatalf("Get(%q) = %d, true; want a miss", key, got)
	}
}

// An entry is returned until exactly ttl after it was put in, and not at
// that instant.
func TestIssue12_Cache_ExpiresExactlyAtTTL(t *testing.T) {
	clk := newClock()
	c := New[string, int](5*time.Second, 10, clk.Now)
	c.Put("a", 1)
	clk.advance(5*time.Second - time.Nanosecond)
	mustGet(t, c, "a", 1)
	clk.advance(time.Nanosecond)
	mustMiss(t, c, "a")
	if n := c.Len(); n != 0 {
		t.Fatalf("an expired entry is kept after the Get that found it: Len = %d", n)
	}
	// Put again starts a new ttl from now.
	c.Put("a", 2)
	clk.advance(4 * time.Second)
	c.Put("a", 3)
	clk.advance(4 * time.Second)
	mustGet(t, c, "a", 3)
}

// The cache never holds more than size entries; the least recently used
// one goes first.
func TestIssue12_Cache_BoundRespected(t *testing.T) {
	clk := newClock()
	c := New[string, int](time.Hour, 3, clk.Now)
	c.Put("a", 1)
	c.Put("b", 2)
	c.Put("c", 3)
	mustGet(t, c, "a", 1) // a is now the most recently used
	c.Put("d", 4)
	if n := c.Len(); n != 3 {
		t.Fatalf("Len = %d, want 3", n)
	}
	mustMiss(t, c, "b")
	mustGet(t, c, "a", 1)
	mustGet(t, c, "c", 3)
	mustGet(t, c, "d", 4)
	for i := range 1000 {
		c.Put(fmt.Sprint("k", i), i)
	}
	if n := c.Len(); n != 3 {
		t.Fatalf("after 1000 puts: Len = %d, want 3", n)
	}
}

func TestIssue12_Cache_Forget(t *testing.T) {
	clk := newClock()
	c := New[string, int](time.Hour, 10, clk.Now)
	c.Put("a", 1)
	c.Put("b", 2)
	c.Forget("a")
	c.Forget("never put")
	mustMiss(t, c, "a")
	mustGet(t, c, "b", 2)
}

func TestIssue12_Cache_ZeroTTLKeepsNothing(t *testing.T) {
	clk := newClock()
	for _, ttl := range []time.Duration{0, -time.Second} {
		c := New[string, int](ttl, 10, clk.Now)
		c.Put("a", 1)
		mustMiss(t, c, "a")
	}
}

func TestIssue12_Cache_SizeMustBePositive(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("New with size 0 did not panic")
		}
	}()
	New[string, int](time.Second, 0, time.Now)
}

// Many goroutines put, get, forget and move the clock at once; under -race
// this finds any access outside the lock, and the bound holds throughout.
func TestIssue12_Cache_ConcurrentUse(t *testing.T) {
	clk := newClock()
	const size = 16
	c := New[string, int](time.Second, size, clk.Now)
	atonce.Run(8, func(g int) {
		for i := range 500 {
			key := fmt.Sprint("k", (g*7+i)%40)
			c.Put(key, i)
			if v, ok := c.Get(key); ok && v < 0 {
				t.Errorf("Get(%q) = %d", key, v)
			}
			if i%50 == g {
				c.Forget(key)
				clk.advance(100 * time.Millisecond)
			}
			if n := c.Len(); n > size {
				t.Errorf("Len = %d, over the bound %d", n, size)
			}
		}
	})
}
