package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/linli-community/linli/auth"
	"github.com/linli-community/linli/sessions"
	"github.com/linli-community/linli/store"
)

// wireAuth builds passwords, tokens and sessions.
func (s *system) wireAuth() error {
	keySpec := string(s.cfg.JWTKeys)
	if keySpec == "" {
		if !s.cfg.embedded() {
			return errors.New("config: LINLI_JWT_KEYS is required with MONGODB_URI")
		}
		var err error
		if keySpec, err = localKeys(s.cfg.DataDir); err != nil {
			return err
		}
	}
	keys, last, err := auth.ParseKeys(keySpec)
	if err != nil {
		return fmt.Errorf("config: LINLI_JWT_KEYS: %w", err)
	}
	active := s.cfg.JWTActiveKID
	if active == "" {
		active = last
	}
	cached := cachedSessions{Store: s.store, cache: auth.NewSessionCache(s.store, s.cfg.SessionCache, s.now)}
	tokens, err := auth.NewTokens(auth.TokenConfig{
		Issuer:    s.cfg.JWTIssuer,
		Audience:  s.cfg.JWTAudience,
		AccessTTL: s.cfg.AccessTTL,
		Keys:      keys,
		ActiveKID: active,
	}, cached.cache, s.now)
	if err != nil {
		return fmt.Errorf("config: tokens: %w", err)
	}
	pw, err := auth.NewPasswords(s.cfg.passwordCost)
	if err != nil {
		return err
	}
	limiter := auth.NewLoginLimiter(auth.LoginLimits{
		PerPhone:      s.cfg.LoginPerPhone,
		PhoneWindow:   15 * time.Minute,
		PerAddress:    s.cfg.LoginPerAddr,
		AddressWindow: time.Minute,
	}, s.now)
	// QR tokens (activity check-in, merchant redemption) are signed with a
	// key derived from the active signing key, so there is one secret to
	// manage and rotate.
	mac := hmac.New(sha256.New, keys[active])
	mac.Write([]byte("linli-qr-v1"))
	s.qrSecret = mac.Sum(nil)
	s.passwords = pw
	s.deps.Tokens = tokens
	s.deps.Auth = sessions.New(sessions.Deps{
		Store:      cached,
		People:     s.store,
		Passwords:  pw,
		Tokens:     tokens,
		Limiter:    limiter,
		RefreshTTL: s.cfg.RefreshTTL,
		Now:        s.now,
	})
	return nil
}

// cachedSessions is the store's sessions with this replica's session cache
// (which token checks read): a session revoked here is forgotten at once.
// Refresh and logout read sessions from the store itself.
type cachedSessions struct {
	*store.Store
	cache *auth.SessionCache
}

// RevokeSession revokes session id in the store and forgets it in this replica's cache, so
// its tokens stop working here at once.
func (c cachedSessions) RevokeSession(ctx context.Context, id, reason string, at time.Time) error {
	err := c.Store.RevokeSession(ctx, id, reason, at)
	c.cache.Forget(id)
	return err
}

// localKeys keeps a signing key for the embedded store in the data folder,
// made on first start, so tokens outlive a restart on a developer's machine.
func localKeys(dataDir string) (string, error) {
	path := filepath.Join(dataDir, "jwt-keys")
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("jwt keys: %w", err)
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return "", err
	}
	spec := "local1:" + hex.EncodeToString(secret)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", fmt.Errorf("jwt keys: %w", err)
	}
	if err := os.WriteFile(path, []byte(spec+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("jwt keys: %w", err)
	}
	return spec, nil
}
