package auth

import (
	"context"
	"time"

	"github.com/linli-community/linli/cache"
)

// SessionCache answers VerifyAccess's session lookups from memory for a few
// seconds, so a request costs no store read for its session. A session
// revoked through this process is forgotten at once (Forget); one revoked
// through another replica keeps working here for at most the cache's TTL.
// Only sessions the store returned are kept: an unknown id is asked again.
type SessionCache struct {
	src      SessionChecker
	sessions *cache.Cache[string, Session] // by session id
}

// SessionCacheSize bounds how many sessions one process keeps in memory;
// past it the least recently used is read from the store again.
const SessionCacheSize = 10_000

// NewSessionCache caches src's sessions for ttl on clock now; a ttl of zero
// or less caches nothing.
func NewSessionCache(src SessionChecker, ttl time.Duration, now func() time.Time) *SessionCache {
	return &SessionCache{
		src:      src,
		sessions: cache.New[string, Session](ttl, SessionCacheSize, now),
	}
}

// Session implements SessionChecker: the cached session if it is fresh,
// otherwise the store's answer, kept when it is a session.
func (c *SessionCache) Session(ctx context.Context, id string) (Session, error) {
	if s, ok := c.sessions.Get(id); ok {
		return s, nil
	}
	s, err := c.src.Session(ctx, id)
	if err != nil {
		return s, err
	}
	c.sessions.Put(id, s)
	return s, nil
}

// Forget drops session id, so the next lookup asks the store: call it
// after revoking the session.
func (c *SessionCache) Forget(id string) {
	c.sessions.Forget(id)
}
