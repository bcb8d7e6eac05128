package auth

import (
	"sync"
	"time"

	"github.com/linli-community/linli/models"
)

// Limiter allows at most a fixed number of events per key in any sliding
// window. It lives in one process: with several replicas each enforces its
// own count, which still bounds guessing to replicas × limit.
type Limiter struct {
	limit  int
	window time.Duration
	now    func() time.Time

	mu        sync.Mutex
	hits      map[string][]time.Time // times of allowed events, oldest first
	lastSweep time.Time
}

// NewLimiter allows limit events per key per window.
func NewLimiter(limit int, window time.Duration, now func() time.Time) *Limiter {
	return &Limiter{limit: limit, window: window, now: now, hits: map[string][]time.Time{}}
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
	h := l.hits[key]
	i := 0
	for i < len(h) && !h[i].After(cutoff) {
		i++
	}
	h = h[i:]
	if len(h) >= l.limit {
		l.hits[key] = h
		return false
	}
	l.hits[key] = append(h, now)
	return true
}

// sweep drops keys with nothing in the window, at most once per window, so
// memory holds only the keys seen recently.
func (l *Limiter) sweep(now, cutoff time.Time) {
	if now.Sub(l.lastSweep) < l.window {
		return
	}
	l.lastSweep = now
	for k, h := range l.hits {
		if len(h) == 0 || !h[len(h)-1].After(cutoff) {
			delete(l.hits, k)
		}
	}
}

// LoginLimits bound login attempts; zero fields take the defaults.
type LoginLimits struct {
	PerPhone      int
	PhoneWindow   time.Duration
	PerAddress    int
	AddressWindow time.Duration
}

// DefaultLoginLimits: 5 attempts per phone per 15 minutes, 20 per client
// address per minute.
var DefaultLoginLimits = LoginLimits{PerPhone: 5, PhoneWindow: 15 * time.Minute, PerAddress: 20, AddressWindow: time.Minute}

// LoginLimiter counts login attempts per phone and per client address.
type LoginLimiter struct {
	phone, addr *Limiter
}

// NewLoginLimiter returns a limiter with limits.
func NewLoginLimiter(limits LoginLimits, now func() time.Time) *LoginLimiter {
	d := DefaultLoginLimits
	if limits.PerPhone <= 0 {
		limits.PerPhone = d.PerPhone
	}
	if limits.PhoneWindow <= 0 {
		limits.PhoneWindow = d.PhoneWindow
	}
	if limits.PerAddress <= 0 {
		limits.PerAddress = d.PerAddress
	}
	if limits.AddressWindow <= 0 {
		limits.AddressWindow = d.AddressWindow
	}
	return &LoginLimiter{
		phone: NewLimiter(limits.PerPhone, limits.PhoneWindow, now),
		addr:  NewLimiter(limits.PerAddress, limits.AddressWindow, now),
	}
}

// Allow records a login attempt for phone from addr, or returns
// models.ErrRateLimited if either is over its limit. Every attempt counts,
// right or wrong, and an unknown phone counts like a known one, so the
// limit reveals nothing either.
func (l *LoginLimiter) Allow(phone, addr string) error {
	if !l.addr.Allow(addr) || !l.phone.Allow(phone) {
		return models.ErrRateLimited
	}
	return nil
}
