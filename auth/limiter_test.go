package auth

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linli-community/linli/models"
)

func TestLimiterSlidingWindow(t *testing.T) {
	c := &clock{t: t0}
	l := NewLimiter(3, time.Minute, c.now)
	for i := range 3 {
		if !l.Allow("a") {
			t.Fatalf("attempt %d refused", i+1)
		}
		c.advance(10 * time.Second)
	}
	if l.Allow("a") {
		t.Fatal("4th attempt within the window allowed")
	}
	if !l.Allow("b") {
		t.Fatal("another key is limited too")
	}
	c.advance(30 * time.Second) // the first attempt (t0) is now a minute old
	if !l.Allow("a") {
		t.Fatal("not allowed again after the oldest attempt left the window")
	}
	if l.Allow("a") {
		t.Fatal("a second attempt allowed when only one slot freed")
	}
}

func TestLimiterForgetsIdleKeys(t *testing.T) {
	c := &clock{t: t0}
	l := NewLimiter(1, time.Minute, c.now)
	for i := range 1000 {
		l.Allow(fmt.Sprint(i))
	}
	c.advance(2 * time.Minute)
	l.Allow("new")
	if n := len(l.hits); n != 1 {
		t.Errorf("%d keys kept, want 1", n)
	}
}

func TestLimiterConcurrent(t *testing.T) {
	l := NewLimiter(5, time.Hour, func() time.Time { return t0 })
	var ok atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if l.Allow("k") {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 5 {
		t.Errorf("%d allowed, want 5", ok.Load())
	}
}

func TestLoginLimiter(t *testing.T) {
	c := &clock{t: t0}
	l := NewLoginLimiter(LoginLimits{PerPhone: 2, PhoneWindow: 15 * time.Minute, PerAddress: 3, AddressWindow: time.Minute}, c.now)
	// Per phone, across addresses.
	if l.Allow("p1", "a1") != nil || l.Allow("p1", "a2") != nil {
		t.Fatal("first two attempts refused")
	}
	if err := l.Allow("p1", "a3"); err != models.ErrRateLimited {
		t.Fatalf("3rd attempt on p1: %v, want ErrRateLimited", err)
	}
	// Per address, across phones: a1 has used 1 of 3.
	if l.Allow("p2", "a1") != nil || l.Allow("p3", "a1") != nil {
		t.Fatal("address refused too early")
	}
	if err := l.Allow("p4", "a1"); err != models.ErrRateLimited {
		t.Fatalf("4th attempt from a1: %v, want ErrRateLimited", err)
	}
	c.advance(time.Minute)
	if err := l.Allow("p4", "a1"); err != nil {
		t.Fatalf("address window passed: %v", err)
	}
	if err := l.Allow("p1", "a1"); err != models.ErrRateLimited {
		t.Fatalf("phone window not passed: %v, want ErrRateLimited", err)
	}
	c.advance(15 * time.Minute)
	if err := l.Allow("p1", "a9"); err != nil {
		t.Fatalf("phone window passed: %v", err)
	}
}

func TestLoginLimiterDefaults(t *testing.T) {
	l := NewLoginLimiter(LoginLimits{}, func() time.Time { return t0 })
	for i := range DefaultLoginLimits.PerPhone {
		if err := l.Allow("p", fmt.Sprint("a", i)); err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	if l.Allow("p", "a-last") == nil {
		t.Error("default per-phone limit not applied")
	}
}
