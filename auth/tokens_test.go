package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/linli-community/linli/models"
)

var t0 = time.Date(2026, 10, 1, 8, 0, 0, 0, time.UTC)

// fakeSessions is an in-memory SessionChecker.
type fakeSessions struct {
	mu    sync.Mutex
	m     map[string]Session
	fail  error
	reads int
}

func (f *fakeSessions) Session(_ context.Context, id string) (Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	if f.fail != nil {
		return Session{}, f.fail
	}
	s, ok := f.m[id]
	if !ok {
		return Session{}, models.ErrNotFound
	}
	return s, nil
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var (
	keyOld   = []byte("old-secret-old-secret-old-secret-0123")
	keyNew   = []byte("new-secret-new-secret-new-secret-4567")
	keyOther = []byte("other-secret-other-secret-other-89ab")
)

func testPrincipal() models.Principal {
	return models.Principal{
		ResidentID:  "r1",
		CommunityID: "c1",
		SessionID:   "s1",
		Roles:       []models.Role{models.RoleResident, models.RoleMerchantClerk},
		MerchantID:  "m7",
	}
}

func liveSessions() *fakeSessions {
	return &fakeSessions{m: map[string]Session{"s1": {
		ID:          "s1",
		ResidentID:  "r1",
		CommunityID: "c1",
	}}}
}

func mustTokens(t *testing.T, cfg TokenConfig, s SessionChecker, now func() time.Time) *Tokens {
	t.Helper()
	if cfg.Issuer == "" {
		cfg.Issuer = "linli"
	}
	if cfg.Audience == "" {
		cfg.Audience = "linli-api"
	}
	tk, err := NewTokens(cfg, s, now)
	if err != nil {
		t.Fatalf("NewTokens: %v", err)
	}
	return tk
}

func mustIssue(t *testing.T, tk *Tokens, p models.Principal) string {
	t.Helper()
	s, _, err := tk.IssueAccess(p)
	if err != nil {
		t.Fatalf("IssueAccess: %v", err)
	}
	return s
}

// sign builds a token by hand, for the shapes IssueAccess never makes.
func sign(t *testing.T, m jwt.SigningMethod, key any, kid string, claims jwt.Claims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

func goodClaims(now time.Time) accessClaims {
	return accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    "linli",
			Subject:   "r1",
			Audience:  jwt.ClaimStrings{"linli-api"},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(10 * time.Minute)),
		},
		CommunityID: "c1",
		SessionID:   "s1",
		Roles:       []string{"resident"},
	}
}

func TestVerifyAccessValid(t *testing.T) {
	c := &clock{t: t0}
	tk := mustTokens(t, TokenConfig{Keys: map[string][]byte{"k1": keyOld}, ActiveKID: "k1"}, liveSessions(), c.now)
	tok, exp, err := tk.IssueAccess(testPrincipal())
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(t0.Add(DefaultAccessTTL)) {
		t.Errorf("expiry = %v, want %v", exp, t0.Add(DefaultAccessTTL))
	}
	c.advance(DefaultAccessTTL - time.Second)
	p, err := tk.VerifyAccess(context.Background(), tok)
	if err != nil {
		t.Fatalf("VerifyAccess: %v", err)
	}
	want := testPrincipal()
	if p.ResidentID != want.ResidentID || p.CommunityID != want.CommunityID || p.SessionID != want.SessionID ||
		p.MerchantID != want.MerchantID || p.PartnerID != "" || len(p.Roles) != 2 ||
		p.Roles[0] != models.RoleResident || p.Roles[1] != models.RoleMerchantClerk {
		t.Errorf("principal = %+v, want %+v", p, want)
	}
	// The hand-built good token passes too, so the failures below fail for
	// the one thing each changes.
	if _, err := tk.VerifyAccess(context.Background(), sign(t, jwt.SigningMethodHS256, keyOld, "k1", goodClaims(c.now()))); err != nil {
		t.Errorf("hand-built good token: %v", err)
	}
}

func TestVerifyAccessRejectsBadTokens(t *testing.T) {
	c := &clock{t: t0}
	sessions := liveSessions()
	tk := mustTokens(t, TokenConfig{Keys: map[string][]byte{"k1": keyOld}, ActiveKID: "k1"}, sessions, c.now)
	valid := mustIssue(t, tk, testPrincipal())
	otherIss := mustTokens(t, TokenConfig{
		Issuer:    "evil",
		Keys:      map[string][]byte{"k1": keyOld},
		ActiveKID: "k1",
	}, sessions, c.now)
	otherAud := mustTokens(t, TokenConfig{
		Audience:  "other-app",
		Keys:      map[string][]byte{"k1": keyOld},
		ActiveKID: "k1",
	}, sessions, c.now)
	unknownKID := mustTokens(t, TokenConfig{Keys: map[string][]byte{"k9": keyOld}, ActiveKID: "k9"}, sessions, c.now)

	noExp := goodClaims(t0)
	noExp.ExpiresAt = nil
	noIat := goodClaims(t0)
	noIat.IssuedAt = nil
	noSid := goodClaims(t0)
	noSid.SessionID = ""
	future := goodClaims(t0.Add(time.Hour))
	stranger := testPrincipal()
	stranger.ResidentID = "r2" // session s1 belongs to r1
	unknownSession := testPrincipal()
	unknownSession.SessionID = "s404"

	parts := strings.Split(valid, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	tampered := strings.Join([]string{parts[0],
		base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"resident"`, `"admin"`, 1))), parts[2]}, ".")
	if tampered == valid {
		t.Fatal("tampering changed nothing")
	}

	cases := map[string]string{
		"alg none":            sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "k1", goodClaims(t0)),
		"HS512 with the key":  sign(t, jwt.SigningMethodHS512, keyOld, "k1", goodClaims(t0)),
		"wrong key":           sign(t, jwt.SigningMethodHS256, keyOther, "k1", goodClaims(t0)),
		"no kid":              sign(t, jwt.SigningMethodHS256, keyOld, "", goodClaims(t0)),
		"unknown kid":         mustIssue(t, unknownKID, testPrincipal()),
		"wrong issuer":        mustIssue(t, otherIss, testPrincipal()),
		"wrong audience":      mustIssue(t, otherAud, testPrincipal()),
		"missing exp":         sign(t, jwt.SigningMethodHS256, keyOld, "k1", noExp),
		"missing iat":         sign(t, jwt.SigningMethodHS256, keyOld, "k1", noIat),
		"missing sid":         sign(t, jwt.SigningMethodHS256, keyOld, "k1", noSid),
		"iat in the future":   sign(t, jwt.SigningMethodHS256, keyOld, "k1", future),
		"tampered payload":    tampered,
		"session of another":  mustIssue(t, tk, stranger),
		"unknown session":     mustIssue(t, tk, unknownSession),
		"garbage":             "not.a.token",
		"empty":               "",
		"signature stripped":  parts[0] + "." + parts[1] + ".",
		"valid but truncated": valid[:len(valid)-2],
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := tk.VerifyAccess(context.Background(), tok)
			if err != models.ErrUnauthenticated {
				t.Errorf("err = %v, want ErrUnauthenticated", err)
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		c := &clock{t: t0}
		tk := mustTokens(t, TokenConfig{Keys: map[string][]byte{"k1": keyOld}, ActiveKID: "k1"}, sessions, c.now)
		tok := mustIssue(t, tk, testPrincipal())
		c.advance(DefaultAccessTTL + time.Second)
		if _, err := tk.VerifyAccess(context.Background(), tok); err != models.ErrUnauthenticated {
			t.Errorf("err = %v, want ErrUnauthenticated", err)
		}
	})
	t.Run("revoked session", func(t *testing.T) {
		revoked := &fakeSessions{m: map[string]Session{"s1": {
			ID:         "s1",
			ResidentID: "r1",
			Revoked:    true,
		}}}
		tk := mustTokens(t, TokenConfig{Keys: map[string][]byte{"k1": keyOld}, ActiveKID: "k1"}, revoked, c.now)
		if _, err := tk.VerifyAccess(context.Background(), mustIssue(t, tk, testPrincipal())); err != models.ErrUnauthenticated {
			t.Errorf("err = %v, want ErrUnauthenticated", err)
		}
	})
	t.Run("store failure is not a sign-out", func(t *testing.T) {
		broken := &fakeSessions{fail: errors.New("connection refused")}
		tk := mustTokens(t, TokenConfig{Keys: map[string][]byte{"k1": keyOld}, ActiveKID: "k1"}, broken, c.now)
		_, err := tk.VerifyAccess(context.Background(), mustIssue(t, tk, testPrincipal()))
		if err == nil || errors.Is(err, models.ErrUnauthenticated) {
			t.Errorf("err = %v, want an internal error", err)
		}
	})
}

func TestKeyRotation(t *testing.T) {
	c := &clock{t: t0}
	s := liveSessions()
	before := mustTokens(t, TokenConfig{Keys: map[string][]byte{"2025": keyOld}, ActiveKID: "2025"}, s, c.now)
	during := mustTokens(t, TokenConfig{Keys: map[string][]byte{"2025": keyOld, "2026": keyNew}, ActiveKID: "2026"}, s, c.now)
	after := mustTokens(t, TokenConfig{Keys: map[string][]byte{"2026": keyNew}, ActiveKID: "2026"}, s, c.now)

	oldTok := mustIssue(t, before, testPrincipal())
	newTok := mustIssue(t, during, testPrincipal())
	if kid := header(t, newTok)["kid"]; kid != "2026" {
		t.Errorf("new token kid = %v, want 2026", kid)
	}
	if _, err := during.VerifyAccess(context.Background(), oldTok); err != nil {
		t.Errorf("old-kid token while the old key is configured: %v", err)
	}
	if _, err := after.VerifyAccess(context.Background(), oldTok); err != models.ErrUnauthenticated {
		t.Errorf("old-kid token after the old key is removed: err = %v, want ErrUnauthenticated", err)
	}
	if _, err := after.VerifyAccess(context.Background(), newTok); err != nil {
		t.Errorf("new token after rotation: %v", err)
	}
	if _, err := before.VerifyAccess(context.Background(), newTok); err != models.ErrUnauthenticated {
		t.Errorf("new-kid token before the new key is known: err = %v, want ErrUnauthenticated", err)
	}
}

func header(t *testing.T, tok string) map[string]any {
	t.Helper()
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	return parsed.Header
}

func TestNewTokensRefusesBadConfig(t *testing.T) {
	now := func() time.Time { return t0 }
	cases := map[string]TokenConfig{
		"no issuer": {
			Audience:  "a",
			Keys:      map[string][]byte{"k": keyOld},
			ActiveKID: "k",
		},
		"no audience": {
			Issuer:    "i",
			Keys:      map[string][]byte{"k": keyOld},
			ActiveKID: "k",
		},
		"short key": {
			Issuer:    "i",
			Audience:  "a",
			Keys:      map[string][]byte{"k": []byte("short")},
			ActiveKID: "k",
		},
		"active key absent": {
			Issuer:    "i",
			Audience:  "a",
			Keys:      map[string][]byte{"k": keyOld},
			ActiveKID: "x",
		},
		"bad kid": {
			Issuer:    "i",
			Audience:  "a",
			Keys:      map[string][]byte{"k id": keyOld},
			ActiveKID: "k id",
		},
	}
	for name, cfg := range cases {
		if _, err := NewTokens(cfg, liveSessions(), now); err == nil {
			t.Errorf("%s: NewTokens accepted it", name)
		}
	}
}

func TestParseKeys(t *testing.T) {
	keys, last, err := ParseKeys(" 2025:" + string(keyOld) + " , 2026:" + string(keyNew) + ",")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || string(keys["2025"]) != string(keyOld) || string(keys["2026"]) != string(keyNew) || last != "2026" {
		t.Errorf("keys = %q, last = %q", keys, last)
	}
	for _, bad := range []string{"", " , ", "nocolon" + string(keyOld), "k:short-secret",
		"k:" + string(keyOld) + ",k:" + string(keyNew), "bad kid:" + string(keyOld), ":" + string(keyOld)} {
		if _, _, err := ParseKeys(bad); err == nil {
			t.Errorf("ParseKeys(%q) accepted it", bad)
		} else if strings.Contains(err.Error(), "short-secret") || strings.Contains(err.Error(), string(keyOld)) {
			t.Errorf("error shows the secret: %v", err)
		}
	}
}

func TestRefreshTokenShape(t *testing.T) {
	tok, hash := NewRefreshToken()
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) != 32 {
		t.Fatalf("token %q: %d bytes, %v", tok, len(raw), err)
	}
	if hash != HashRefreshToken(tok) || len(hash) != 64 || strings.Contains(hash, tok) {
		t.Errorf("hash = %q", hash)
	}
	if tok2, _ := NewRefreshToken(); tok2 == tok {
		t.Error("two refresh tokens are equal")
	}
}
