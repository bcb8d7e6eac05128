package ratelimit

import (
	"fmt"
	"sync"
	"sync/atomic"
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

func TestIssue12_RateLimit_SlidingWindow(t *testing.T) {
	clk := newClock()
	l := New(3, time.Minute, 100, clk.Now)
	for i := range 3 {
		if !l.Allow("a") {
			t.Fatalf("attempt %d refused", i+1)
		}
		clk.advance(10 * time.Second)
	}
	if l.Allow("a") {
		t.Fatal("4th attempt within the window allowed")
	}
	if !l.Allow("b") {
		t.Fatal("another key is limited too")
	}
	clk.advance(30*time.Second - time.Nanosecond)
	if l.Allow("a") {
		t.Fatal("allowed a nanosecond before the oldest attempt left the window")
	}
	clk.advance(time.Nanosecond) // the first attempt is now exactly a minute old
	if !l.Allow("a") {
		t.Fatal("not allowed again after the oldest attempt left the window")
	}
	if l.Allow("a") {
		t.Fatal("a second attempt allowed when only one slot freed")
	}
}

func TestIssue12_RateLimit_ForgetsIdleKeys(t *testing.T) {
	clk := newClock()
	l := New(1, time.Minute, 10_000, clk.Now)
	for i := range 1000 {
		l.Allow(fmt.Sprint(i))
	}
	clk.advance(2 * time.Minute)
	l.Allow("new")
	if n := l.Len(); n != 1 {
		t.Errorf("%d keys kept, want 1", n)
	}
}

// However many keys come within one window, at most keys are remembered;
// the least recently seen one is forgotten and starts again.
func TestIssue12_RateLimit_BoundedKeys(t *testing.T) {
	clk := newClock()
	l := New(1, time.Hour, 3, clk.Now)
	for _, key := range []string{"a", "b", "c"} {
		if !l.Allow(key) {
			t.Fatalf("first event of %s refused", key)
		}
	}
	if l.Allow("a") {
		t.Fatal("a's second event allowed") // and a is now the most recently seen
	}
	if !l.Allow("d") {
		t.Fatal("first event of d refused")
	}
	if n := l.Len(); n != 3 {
		t.Fatalf("%d keys remembered, want 3", n)
	}
	if l.Allow("a") {
		t.Fatal("a was forgotten, though b was seen less recently")
	}
	if !l.Allow("b") {
		t.Fatal("b, the least recently seen key, is still remembered")
	}
	for i := range 1000 {
		l.Allow(fmt.Sprint("k", i))
	}
	if n := l.Len(); n != 3 {
		t.Fatalf("after 1000 keys: %d remembered, want 3", n)
	}
}

func TestIssue12_RateLimit_SetLimit(t *testing.T) {
	clk := newClock()
	l := New(1, time.Minute, 10, clk.Now)
	if !l.Allow("a") || l.Allow("a") {
		t.Fatal("limit 1 not applied")
	}
	l.SetLimit(2)
	if l.Limit() != 2 {
		t.Fatalf("Limit = %d, want 2", l.Limit())
	}
	if !l.Allow("a") || l.Allow("a") {
		t.Fatal("limit 2 not applied to the events already recorded")
	}
}

// Fifty goroutines released at once share one key's five events.
func TestIssue12_RateLimit_Concurrent(t *testing.T) {
	clk := newClock()
	l := New(5, time.Hour, 10, clk.Now)
	var allowed atomic.Int32
	atonce.Run(50, func(int) {
		if l.Allow("k") {
			allowed.Add(1)
		}
	})
	if allowed.Load() != 5 {
		t.Errorf("%d allowed, want 5", allowed.Load())
	}
}
