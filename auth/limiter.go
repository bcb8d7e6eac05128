package auth

import (
	"time"

	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/ratelimit"
)

// LoginLimits bound login attempts; zero fields take the defaults.
type LoginLimits struct {
	PerPhone      int
	PhoneWindow   time.Duration
	PerAddress    int
	AddressWindow time.Duration
}

// DefaultLoginLimits: 5 attempts per phone per 15 minutes, 20 per client
// address per minute.
var DefaultLoginLimits = LoginLimits{
	PerPhone:      5,
	PhoneWindow:   15 * time.Minute,
	PerAddress:    20,
	AddressWindow: time.Minute,
}

// LoginLimitKeys bounds how many phones, and separately how many client
// addresses, one process remembers attempts for.
const LoginLimitKeys = 100_000

// LoginLimiter counts login attempts per phone and per client address.
type LoginLimiter struct {
	phone   *ratelimit.Limiter
	address *ratelimit.Limiter
}

// NewLoginLimiter returns a limiter with limits on clock now.
func NewLoginLimiter(limits LoginLimits, now func() time.Time) *LoginLimiter {
	defaults := DefaultLoginLimits
	if limits.PerPhone <= 0 {
		limits.PerPhone = defaults.PerPhone
	}
	if limits.PhoneWindow <= 0 {
		limits.PhoneWindow = defaults.PhoneWindow
	}
	if limits.PerAddress <= 0 {
		limits.PerAddress = defaults.PerAddress
	}
	if limits.AddressWindow <= 0 {
		limits.AddressWindow = defaults.AddressWindow
	}
	return &LoginLimiter{
		phone:   ratelimit.New(limits.PerPhone, limits.PhoneWindow, LoginLimitKeys, now),
		address: ratelimit.New(limits.PerAddress, limits.AddressWindow, LoginLimitKeys, now),
	}
}

// Allow records a login attempt for phone from addr, or returns
// models.ErrRateLimited if either is over its limit. Every attempt counts,
// right or wrong, and an unknown phone counts like a known one, so the
// limit reveals nothing either.
func (l *LoginLimiter) Allow(phone, addr string) error {
	if !l.address.Allow(addr) || !l.phone.Allow(phone) {
		return models.ErrRateLimited
	}
	return nil
}
