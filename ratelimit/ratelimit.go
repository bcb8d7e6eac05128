// Package ratelimit counts events per key in a sliding window, in memory
// and on the caller's clock: login attempts per phone and per address
// (auth), merchant QR tokens per resident (rewards).
package ratelimit

import (
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Limiter allows at most limit events per key in any window-long stretch
// of time. It lives in one process: with several replicas each enforces
// its own count, which still bounds guessing to replicas × limit.
//
// It remembers at most keys keys. Keys with nothing left in the window are
// dropped first (at most once per window); past the bound the least
// recently seen key is forgotten, so its count starts again: to have a key
// forgotten early, an attacker must bring as many fresh keys within one
// window as the limiter remembers.
type Limiter struct {
	limit  int
	window time.Duration
	now    func() time.Time

	mu        sync.Mutex
	recent    *simplelru.LRU[string, []time.Time] // times of allowed events per key, oldest first
	lastSweep time.Time
}

// New returns a limiter of limit events per key per window, remembering at
// most keys keys, on clock now. It panics if keys is not positive, a wiring
// mistake.
func New(limit int, window time.Duration, keys int, now func() time.Time) *Limiter {
	recent, err := simplelru.NewLRU[string, []time.Time](keys, nil)
	if err != nil {
		panic(fmt.Sprintf("ratelimit: %d keys: %v", keys, err))
	}
	return &Limiter{
		limit:  limit,
		window: window,
		now:    now,
		recent: recent,
	}
}

// Allow reports whether one more event for key fits in the window, and
// records it if so. A refused event is not recorded, so a caller who keeps
// trying gets in again once its oldest allowed event leaves the window.
func (l *Limiter) Allow(key string) bool {
	now := l.now()
	cutoff := now.Add(-l.window)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now, cutoff)
	times, _ := l.recent.Get(key)
	first := 0
	for first < len(times) && !times[first].After(cutoff) {
		first++
	}
	times = times[first:]
	if len(times) >= l.limit {
		l.recent.Add(key, times)
		return false
	}
	l.recent.Add(key, append(times, now))
	return true
}

// SetLimit changes how many events per key the window allows, from the
// next Allow on; what was recorded stays.
func (l *Limiter) SetLimit(limit int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.limit = limit
}

// Limit returns how many events per key the window allows.
func (l *Limiter) Limit() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.limit
}

// Len returns how many keys are remembered.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.recent.Len()
}

// sweep drops the keys with nothing in the window, at most once per window,
// so memory holds only the keys seen recently.
func (l *Limiter) sweep(now, cutoff time.Time) {
	if now.Sub(l.lastSweep) < l.window {
		return
	}
	l.lastSweep = now
	for _, key := range l.recent.Keys() {
		times, _ := l.recent.Peek(key)
		if len(times) == 0 || !times[len(times)-1].After(cutoff) {
			l.recent.Remove(key)
		}
	}
}
