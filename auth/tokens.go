package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/linli-community/linli/models"
)

// Defaults and bounds of the token settings.
const (
	DefaultAccessTTL  = 15 * time.Minute
	DefaultRefreshTTL = 30 * 24 * time.Hour
	// MinKeyBytes is the shortest HS256 secret accepted: as long as the hash.
	MinKeyBytes = 32
)

// Session is one sign-in (one login family): its access tokens carry its
// id and its refresh tokens belong to it, so revoking it ends them all.
type Session struct {
	ID            string
	ResidentID    string
	CommunityID   string
	Created       time.Time
	Revoked       bool
	RevokedAt     time.Time
	RevokedReason string // "logout" or "refresh_reuse"
}

// RefreshToken is the stored form of a refresh token: only its SHA-256
// hash is kept, so a copy of the database cannot be used to sign in.
type RefreshToken struct {
	Hash       string
	SessionID  string
	ResidentID string
	Issued     time.Time
	Expires    time.Time
}

// SessionChecker reads sessions for VerifyAccess.
type SessionChecker interface {
	// Session returns the session with id, or models.ErrNotFound.
	Session(ctx context.Context, id string) (Session, error)
}

// TokenConfig configures access tokens.
type TokenConfig struct {
	Issuer    string
	Audience  string
	AccessTTL time.Duration // zero means DefaultAccessTTL
	// Keys are the HS256 secrets by key id; all of them verify, so a key
	// being retired keeps working until it is removed from the list.
	Keys map[string][]byte
	// ActiveKID is the key id new tokens are signed with.
	ActiveKID string
	// Leeway allows for clock skew between replicas on exp and iat.
	Leeway time.Duration
}

// Tokens issues and verifies access tokens.
type Tokens struct {
	issuer, audience string
	ttl              time.Duration
	keys             map[string][]byte
	active           string
	sessions         SessionChecker
	now              func() time.Time
	parser           *jwt.Parser
}

// NewTokens returns the access-token issuer and verifier. It refuses a
// config without issuer, audience or an active key, or with a key shorter
// than MinKeyBytes.
func NewTokens(cfg TokenConfig, sessions SessionChecker, now func() time.Time) (*Tokens, error) {
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("auth: token issuer and audience are required")
	}
	if cfg.AccessTTL <= 0 {
		cfg.AccessTTL = DefaultAccessTTL
	}
	keys := make(map[string][]byte, len(cfg.Keys))
	for kid, secret := range cfg.Keys {
		if !kidPattern.MatchString(kid) {
			return nil, fmt.Errorf("auth: key id %q must be 1-64 letters, digits or _.-", kid)
		}
		if len(secret) < MinKeyBytes {
			return nil, fmt.Errorf("auth: key %q is shorter than %d bytes", kid, MinKeyBytes)
		}
		keys[kid] = append([]byte(nil), secret...)
	}
	if _, ok := keys[cfg.ActiveKID]; !ok {
		return nil, fmt.Errorf("auth: active key id %q is not among the keys", cfg.ActiveKID)
	}
	t := &Tokens{
		issuer:   cfg.Issuer,
		audience: cfg.Audience,
		ttl:      cfg.AccessTTL,
		keys:     keys,
		active:   cfg.ActiveKID,
		sessions: sessions,
		now:      now,
	}
	t.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(now),
	)
	return t, nil
}

var kidPattern = regexp.MustCompile(`^[A-Za-z0-9_.\-]{1,64}$`)

// accessClaims is the payload of an access token.
type accessClaims struct {
	jwt.RegisteredClaims
	CommunityID string   `json:"cid"`
	SessionID   string   `json:"sid"`
	Roles       []string `json:"roles"`
	MerchantID  string   `json:"mid,omitempty"`
	PartnerID   string   `json:"pid,omitempty"`
}

// Validate adds what jwt's validator leaves optional: it checks iat only
// when present, and knows nothing of our own claims.
func (c accessClaims) Validate() error {
	if c.IssuedAt == nil || c.Subject == "" || c.SessionID == "" || c.CommunityID == "" {
		return errors.New("missing iat, sub, sid or cid")
	}
	return nil
}

// AccessTTL is how long an access token lives.
func (t *Tokens) AccessTTL() time.Duration { return t.ttl }

// IssueAccess signs an access token for p with the active key and returns
// it with its expiry.
func (t *Tokens) IssueAccess(p models.Principal) (string, time.Time, error) {
	now := t.now()
	exp := now.Add(t.ttl)
	roles := make([]string, len(p.Roles))
	for i, r := range p.Roles {
		roles[i] = string(r)
	}
	claims := accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    t.issuer,
			Subject:   p.ResidentID,
			Audience:  jwt.ClaimStrings{t.audience},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
		CommunityID: p.CommunityID,
		SessionID:   p.SessionID,
		Roles:       roles,
		MerchantID:  p.MerchantID,
		PartnerID:   p.PartnerID,
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	tok.Header["kid"] = t.active
	s, err := tok.SignedString(t.keys[t.active])
	if err != nil {
		return "", time.Time{}, fmt.Errorf("auth: sign access token: %w", err)
	}
	return s, exp, nil
}

// VerifyAccess returns the principal of a valid access token whose session
// is still live. Every bad token (wrong algorithm or key, unknown kid,
// expired, wrong issuer or audience, tampered, missing claims, revoked or
// unknown session) gives models.ErrUnauthenticated; a store failure is
// returned wrapped, so an outage is not mistaken for a sign-out.
func (t *Tokens) VerifyAccess(ctx context.Context, token string) (models.Principal, error) {
	var claims accessClaims
	_, err := t.parser.ParseWithClaims(token, &claims, t.key)
	if err != nil {
		return models.Principal{}, models.ErrUnauthenticated
	}
	s, err := t.sessions.Session(ctx, claims.SessionID)
	if errors.Is(err, models.ErrNotFound) {
		return models.Principal{}, models.ErrUnauthenticated
	}
	if err != nil {
		return models.Principal{}, fmt.Errorf("auth: verify access: %w", err)
	}
	if s.Revoked || s.ResidentID != claims.Subject {
		return models.Principal{}, models.ErrUnauthenticated
	}
	p := models.Principal{
		ResidentID:  claims.Subject,
		CommunityID: claims.CommunityID,
		SessionID:   claims.SessionID,
		MerchantID:  claims.MerchantID,
		PartnerID:   claims.PartnerID,
	}
	for _, r := range claims.Roles {
		p.Roles = append(p.Roles, models.Role(r))
	}
	return p, nil
}

// key picks the verification secret named by the token's kid header.
func (t *Tokens) key(tok *jwt.Token) (any, error) {
	kid, _ := tok.Header["kid"].(string)
	secret, ok := t.keys[kid]
	if !ok {
		return nil, errors.New("unknown kid")
	}
	return secret, nil
}

// NewRefreshToken returns a new opaque refresh token (32 random bytes,
// base64url) and the hash under which it is stored.
func NewRefreshToken() (token, hash string) {
	token = base64.RawURLEncoding.EncodeToString(randomBytes(32))
	return token, HashRefreshToken(token)
}

// HashRefreshToken is the stored key of a refresh token: hex SHA-256. The
// token is already 256 random bits, so an unsalted fast hash is enough.
func HashRefreshToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// NewSessionID returns a random session id.
func NewSessionID() string { return "s_" + hex.EncodeToString(randomBytes(16)) }

// randomBytes reads n bytes from crypto/rand, which never fails (since Go
// 1.24 a broken source crashes the program instead).
func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// ParseKeys reads signing keys written as "kid:secret,kid:secret", each
// secret a string of at least MinKeyBytes bytes with no comma, as they come
// from the environment. It also returns the kid listed last, the default
// active key.
func ParseKeys(s string) (keys map[string][]byte, last string, err error) {
	keys = map[string][]byte{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		kid, secret, ok := strings.Cut(part, ":")
		if !ok || !kidPattern.MatchString(kid) {
			return nil, "", errors.New("auth: keys must be written kid:secret,kid:secret")
		}
		if _, dup := keys[kid]; dup {
			return nil, "", fmt.Errorf("auth: key id %q is listed twice", kid)
		}
		if len(secret) < MinKeyBytes {
			// Never echo the secret itself.
			return nil, "", fmt.Errorf("auth: key %q is shorter than %d bytes", kid, MinKeyBytes)
		}
		keys[kid], last = []byte(secret), kid
	}
	if len(keys) == 0 {
		return nil, "", errors.New("auth: no signing keys")
	}
	return keys, last, nil
}
