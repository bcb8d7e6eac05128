package auth

import (
	"fmt"
	"testing"
	"time"

	"github.com/linli-community/linli/models"
)

func TestLoginLimiter(t *testing.T) {
	c := &clock{t: t0}
	l := NewLoginLimiter(LoginLimits{
		PerPhone:      2,
		PhoneWindow:   15 * time.Minute,
		PerAddress:    3,
		AddressWindow: time.Minute,
	}, c.now)
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
