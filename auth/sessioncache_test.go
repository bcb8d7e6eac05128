package auth

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/models"
)

func (f *fakeSessions) readCount() int { f.mu.Lock(); defer f.mu.Unlock(); return f.reads }

func (f *fakeSessions) revoke(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.m[id]
	s.Revoked = true
	f.m[id] = s
}

func TestSessionCacheReadsTheStoreOncePerTTL(t *testing.T) {
	src, c := liveSessions(), &clock{t: t0}
	cache := NewSessionCache(src, 5*time.Second, c.now)
	ctx := context.Background()
	for range 10 {
		if s, err := cache.Session(ctx, "s1"); err != nil || s.ResidentID != "r1" {
			t.Fatalf("Session = %+v, %v", s, err)
		}
	}
	if n := src.readCount(); n != 1 {
		t.Fatalf("store reads = %d, want 1", n)
	}
	c.advance(5 * time.Second)
	if _, err := cache.Session(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if n := src.readCount(); n != 2 {
		t.Fatalf("after the TTL: store reads = %d, want 2", n)
	}
}

func TestSessionCacheForgetShowsARevocationAtOnce(t *testing.T) {
	src, c := liveSessions(), &clock{t: t0}
	cache := NewSessionCache(src, time.Minute, c.now)
	tk := mustTokens(t, TokenConfig{Keys: map[string][]byte{"k1": keyOld}, ActiveKID: "k1"}, cache, c.now)
	tok := mustIssue(t, tk, testPrincipal())
	ctx := context.Background()
	if _, err := tk.VerifyAccess(ctx, tok); err != nil {
		t.Fatal(err)
	}
	src.revoke("s1")
	// Without Forget the cached answer stands for the TTL (another
	// replica's revocation) …
	if _, err := tk.VerifyAccess(ctx, tok); err != nil {
		t.Fatalf("within the TTL, before Forget: %v", err)
	}
	// … with it (this replica revoked it) the token stops at once.
	cache.Forget("s1")
	if _, err := tk.VerifyAccess(ctx, tok); !errors.Is(err, models.ErrUnauthenticated) {
		t.Fatalf("after Forget: err = %v, want unauthenticated", err)
	}
}

func TestSessionCacheDoesNotKeepUnknownOrFailedLookups(t *testing.T) {
	src, c := liveSessions(), &clock{t: t0}
	cache := NewSessionCache(src, time.Minute, c.now)
	ctx := context.Background()
	if _, err := cache.Session(ctx, "s2"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	src.mu.Lock()
	src.m["s2"] = Session{ID: "s2", ResidentID: "r2"}
	src.mu.Unlock()
	if s, err := cache.Session(ctx, "s2"); err != nil || s.ResidentID != "r2" {
		t.Fatalf("a session created after a miss: %+v, %v", s, err)
	}
	src.mu.Lock()
	src.fail = errors.New("store down")
	src.mu.Unlock()
	if _, err := cache.Session(ctx, "s3"); err == nil {
		t.Fatal("a failed lookup answered without error")
	}
}

func TestSessionCacheZeroTTLAlwaysAsks(t *testing.T) {
	src, c := liveSessions(), &clock{t: t0}
	cache := NewSessionCache(src, 0, c.now)
	for range 3 {
		if _, err := cache.Session(context.Background(), "s1"); err != nil {
			t.Fatal(err)
		}
	}
	if n := src.readCount(); n != 3 {
		t.Fatalf("store reads = %d, want 3", n)
	}
}

func TestSessionCacheConcurrentUse(t *testing.T) {
	src, c := liveSessions(), &clock{t: t0}
	cache := NewSessionCache(src, time.Second, c.now)
	atonce.Run(8, func(g int) {
		for i := range 200 {
			if _, err := cache.Session(context.Background(), "s1"); err != nil {
				t.Error(err)
				return
			}
			if i%50 == g {
				cache.Forget("s1")
				c.advance(100 * time.Millisecond)
			}
		}
	})
	if n := src.readCount(); n < 2 || n > 1600 {
		t.Fatalf("store reads = %d", n)
	}
}

// A process keeps at most SessionCacheSize sessions, however many live ones
// it sees within the TTL: one more pushes the least recently used out, and
// that one is read from the store again.
func TestIssue12_SessionCache_Bounded(t *testing.T) {
	src, c := &fakeSessions{m: map[string]Session{}}, &clock{t: t0}
	for i := range SessionCacheSize + 1 {
		id := fmt.Sprint("s", i)
		src.m[id] = Session{
			ID:          id,
			ResidentID:  "r1",
			CommunityID: "c1",
		}
	}
	cache := NewSessionCache(src, time.Hour, c.now)
	ctx := context.Background()
	for i := range SessionCacheSize + 1 {
		if _, err := cache.Session(ctx, fmt.Sprint("s", i)); err != nil {
			t.Fatal(err)
		}
	}
	before := src.readCount()
	if _, err := cache.Session(ctx, "s0"); err != nil {
		t.Fatal(err)
	}
	if n := src.readCount() - before; n != 1 {
		t.Fatalf("the oldest of %d sessions: %d store reads, want 1 (it is no longer held)", SessionCacheSize+1, n)
	}
	if _, err := cache.Session(ctx, fmt.Sprint("s", SessionCacheSize)); err != nil {
		t.Fatal(err)
	}
	if n := src.readCount() - before; n != 1 {
		t.Fatalf("a recent session was read from the store again (%d reads)", n)
	}
}
