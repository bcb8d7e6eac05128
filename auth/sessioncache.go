package auth

import (
	"context"
	"sync"
	"time"
)

// SessionCache answers VerifyAccess's session lookups from memory for a few
// seconds, so a request costs no store read for its session. A session
// revoked through this process is forgotten at once (Forget); one revoked
// through another replica keeps working here for at most the cache's TTL.
// Only sessions the store returned are kept: an unknown id is asked again.
type SessionCache struct {
	src SessionChecker
	ttl time.Duration
	now func() time.Time

	mu   sync.Mutex
	seen map[string]cachedSession
}

type cachedSession struct {
	s       Session
	expires time.Time
}

// sessionCacheSweep is the size past which expired sessions are dropped.
const sessionCacheSweep = 4096

// NewSessionCache caches src's sessions for ttl; a ttl of zero or less
// caches nothing.
func NewSessionCache(src SessionChecker, ttl time.Duration, now func() time.Time) *SessionCache {
	return &SessionCache{src: src, ttl: ttl, now: now, seen: map[string]cachedSession{}}
}

// Session implements SessionChecker.
func (c *SessionCache) Session(ctx context.Context, id string) (Session, error) {
	if c.ttl <= 0 {
		return c.src.Session(ctx, id)
	}
	now := c.now()
	c.mu.Lock()
	hit, ok := c.seen[id]
	c.mu.Unlock()
	if ok && now.Before(hit.expires) {
		return hit.s, nil
	}
	s, err := c.src.Session(ctx, id)
	if err != nil {
		return s, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.seen) >= sessionCacheSweep {
		for k, v := range c.seen {
			if !now.Before(v.expires) {
				delete(c.seen, k)
			}
		}
	}
	c.seen[id] = cachedSession{s: s, expires: now.Add(c.ttl)}
	return s, nil
}

// Forget drops session id, so the next lookup asks the store: call it
// after revoking the session.
func (c *SessionCache) Forget(id string) {
	c.mu.Lock()
	delete(c.seen, id)
	c.mu.Unlock()
}
