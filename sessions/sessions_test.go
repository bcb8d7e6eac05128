package sessions_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/auth"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/once"
	"github.com/linli-community/linli/sessions"
	"github.com/linli-community/linli/store"
	"github.com/linli-community/linli/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

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

const (
	phone    = "13800138000"
	password = "correct horse"
)

// env is a sessions service over a fresh embedded store, with one
// resident (r1, a merchant clerk) who has a login.
type env struct {
	st       *store.Store
	clock    *clock
	tokens   *auth.Tokens
	sessions *sessions.Service
}

func newEnv(t *testing.T, limits auth.LoginLimits) *env {
	t.Helper()
	ctx := context.Background()
	st := storetest.New(t)
	c := &clock{t: time.Date(2026, 10, 1, 8, 0, 0, 0, time.UTC)}
	pw, err := auth.NewPasswords(auth.PasswordParams{
		MemoryKiB:   1024,
		Iterations:  1,
		Parallelism: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	hash, err := pw.Hash(password)
	if err != nil {
		t.Fatal(err)
	}
	r := models.Resident{
		ID:          "r1",
		CommunityID: "c1",
		Name:        "张三",
		Phone:       phone,
		Roles:       []models.Role{models.RoleResident, models.RoleMerchantClerk},
		MerchantID:  "m1",
		Created:     c.now(),
	}
	if err := st.InsertResident(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := st.InsertLogin(ctx, models.Login{
		Phone:        phone,
		ResidentID:   "r1",
		CommunityID:  "c1",
		PasswordHash: hash,
	}); err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.NewTokens(auth.TokenConfig{
		Issuer:    "linli",
		Audience:  "linli-api",
		Keys:      map[string][]byte{"k1": []byte("0123456789abcdef0123456789abcdef")},
		ActiveKID: "k1",
	}, st, c.now)
	if err != nil {
		t.Fatal(err)
	}
	svc := sessions.New(sessions.Deps{
		Store:      st,
		People:     st,
		Passwords:  pw,
		Tokens:     tokens,
		Limiter:    auth.NewLoginLimiter(limits, c.now),
		RefreshTTL: 0,
		Now:        c.now,
	})
	return &env{
		st:       st,
		clock:    c,
		tokens:   tokens,
		sessions: svc,
	}
}

func (e *env) mustLogin(t *testing.T) sessions.TokenPair {
	t.Helper()
	pair, err := e.sessions.Login(context.Background(), phone, password, "10.0.0.1")
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	return pair
}

func (e *env) mustRefresh(t *testing.T, token string) sessions.TokenPair {
	t.Helper()
	pair, err := e.sessions.Refresh(context.Background(), token)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	return pair
}

func (e *env) mustVerify(t *testing.T, access string) models.Principal {
	t.Helper()
	p, err := e.tokens.VerifyAccess(context.Background(), access)
	if err != nil {
		t.Fatalf("verify access: %v", err)
	}
	return p
}

func (e *env) wantUnauthenticated(t *testing.T, access string) {
	t.Helper()
	if _, err := e.tokens.VerifyAccess(context.Background(), access); err != models.ErrUnauthenticated {
		t.Fatalf("verify access: err = %v, want ErrUnauthenticated", err)
	}
}

func TestLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.LoginLimits{})
	pair, err := e.sessions.Login(context.Background(), "+86"+phone, password, "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if pair.ExpiresIn != auth.DefaultAccessTTL || !pair.RefreshExpires.Equal(e.clock.now().Add(auth.DefaultRefreshTTL)) {
		t.Errorf("expires in %v, refresh until %v", pair.ExpiresIn, pair.RefreshExpires)
	}
	p := e.mustVerify(t, pair.AccessToken)
	if p.ResidentID != "r1" || p.CommunityID != "c1" || p.SessionID == "" || p.MerchantID != "m1" ||
		!p.Has(models.RoleMerchantClerk) || p.Has(models.RoleStaff) {
		t.Errorf("principal = %+v", p)
	}
	// Only the hash of the refresh token is stored.
	if _, err := e.st.RefreshToken(context.Background(), pair.RefreshToken); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("refresh token stored in clear: err = %v", err)
	}
	if rt, err := e.st.RefreshToken(context.Background(), auth.HashRefreshToken(pair.RefreshToken)); err != nil || rt.SessionID != p.SessionID {
		t.Errorf("stored refresh token = %+v, %v", rt, err)
	}
	me, err := e.sessions.Me(context.Background(), p)
	if err != nil || me.ID != "r1" || me.Name != "张三" {
		t.Errorf("me = %+v, %v", me, err)
	}
}

func TestLoginDoesNotRevealWhetherAPhoneIsRegistered(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.LoginLimits{})
	ctx := context.Background()
	_, wrongPassword := e.sessions.Login(ctx, phone, "wrong password", "10.0.0.1")
	_, unknownPhone := e.sessions.Login(ctx, "13900139000", password, "10.0.0.1")
	if !errors.Is(wrongPassword, models.ErrInvalidCredentials) || !errors.Is(unknownPhone, models.ErrInvalidCredentials) {
		t.Fatalf("wrong password: %v; unknown phone: %v; want ErrInvalidCredentials", wrongPassword, unknownPhone)
	}
	if wrongPassword.Error() != unknownPhone.Error() {
		t.Errorf("errors differ: %q vs %q", wrongPassword, unknownPhone)
	}
	if _, err := e.sessions.Login(ctx, "12345", password, "10.0.0.1"); models.CodeOf(err) != models.ErrValidation.Code {
		t.Errorf("malformed phone: %v, want ErrValidation", err)
	}
}

func TestLoginRateLimitPerPhone(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.LoginLimits{
		PerPhone:      3,
		PhoneWindow:   15 * time.Minute,
		PerAddress:    100,
		AddressWindow: time.Minute,
	})
	ctx := context.Background()
	for i, addr := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"} {
		if _, err := e.sessions.Login(ctx, phone, "wrong password", addr); !errors.Is(err, models.ErrInvalidCredentials) {
			t.Fatalf("guess %d: %v", i+1, err)
		}
	}
	// Even the right password is refused now, from any address.
	if _, err := e.sessions.Login(ctx, phone, password, "10.0.0.9"); !errors.Is(err, models.ErrRateLimited) {
		t.Fatalf("4th attempt: %v, want ErrRateLimited", err)
	}
	// An unknown phone is limited the same way.
	for range 3 {
		_, _ = e.sessions.Login(ctx, "13900139000", password, "10.0.0.1")
	}
	if _, err := e.sessions.Login(ctx, "13900139000", password, "10.0.0.1"); !errors.Is(err, models.ErrRateLimited) {
		t.Fatalf("unknown phone, 4th attempt: %v, want ErrRateLimited", err)
	}
	e.clock.advance(15 * time.Minute)
	e.mustLogin(t)
}

func TestLoginRateLimitPerAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.LoginLimits{
		PerPhone:      100,
		PhoneWindow:   15 * time.Minute,
		PerAddress:    4,
		AddressWindow: time.Minute,
	})
	ctx := context.Background()
	for _, p := range []string{"13900000001", "13900000002", "13900000003", "13900000004"} {
		if _, err := e.sessions.Login(ctx, p, password, "10.6.6.6"); !errors.Is(err, models.ErrInvalidCredentials) {
			t.Fatalf("%s: %v", p, err)
		}
	}
	if _, err := e.sessions.Login(ctx, phone, password, "10.6.6.6"); !errors.Is(err, models.ErrRateLimited) {
		t.Fatalf("5th attempt from one address: %v, want ErrRateLimited", err)
	}
	if _, err := e.sessions.Login(ctx, phone, password, "10.0.0.1"); err != nil {
		t.Fatalf("another address: %v", err)
	}
	e.clock.advance(time.Minute)
	if _, err := e.sessions.Login(ctx, phone, password, "10.6.6.6"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestRefreshRotationAndReuse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.LoginLimits{})
	ctx := context.Background()
	first := e.mustLogin(t)
	e.clock.advance(time.Minute)
	second := e.mustRefresh(t, first.RefreshToken)
	if second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
		t.Fatal("refresh did not rotate the tokens")
	}
	third := e.mustRefresh(t, second.RefreshToken)
	p := e.mustVerify(t, third.AccessToken)
	if p2 := e.mustVerify(t, first.AccessToken); p2.SessionID != p.SessionID {
		t.Errorf("refresh changed the session: %s then %s", p2.SessionID, p.SessionID)
	}

	// The first token again: someone has a copy. The whole sign-in ends.
	if _, err := e.sessions.Refresh(ctx, first.RefreshToken); !errors.Is(err, models.ErrTokenReused) {
		t.Fatalf("reused refresh token: err = %v, want ErrTokenReused", err)
	}
	if _, err := e.sessions.Refresh(ctx, third.RefreshToken); !errors.Is(err, models.ErrUnauthenticated) {
		t.Errorf("newest refresh token after reuse: err = %v, want ErrUnauthenticated", err)
	}
	e.wantUnauthenticated(t, third.AccessToken)
	e.wantUnauthenticated(t, first.AccessToken)
	sess, err := e.st.Session(ctx, p.SessionID)
	if err != nil || !sess.Revoked || sess.RevokedReason != sessions.RevokedByReuse {
		t.Errorf("session = %+v, %v", sess, err)
	}
	// A new login is a new family and works.
	e.mustVerify(t, e.mustLogin(t).AccessToken)
}

func TestRefreshRefusesUnknownAndExpiredTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.LoginLimits{})
	ctx := context.Background()
	pair := e.mustLogin(t)
	for _, tok := range []string{"", "nonsense", pair.AccessToken, auth.HashRefreshToken(pair.RefreshToken)} {
		if _, err := e.sessions.Refresh(ctx, tok); !errors.Is(err, models.ErrUnauthenticated) {
			t.Errorf("Refresh(%.12q): %v, want ErrUnauthenticated", tok, err)
		}
	}
	e.clock.advance(auth.DefaultRefreshTTL)
	if _, err := e.sessions.Refresh(ctx, pair.RefreshToken); !errors.Is(err, models.ErrUnauthenticated) {
		t.Errorf("expired: %v, want ErrUnauthenticated", err)
	}
}

func TestRefreshReadsRolesAfresh(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.LoginLimits{})
	pair := e.mustLogin(t)
	if err := e.st.SetResidentRoles(context.Background(), "r1", []models.Role{models.RoleResident, models.RoleStaff}, "", ""); err != nil {
		t.Fatal(err)
	}
	p := e.mustVerify(t, e.mustRefresh(t, pair.RefreshToken).AccessToken)
	if !p.IsStaff() || p.Has(models.RoleMerchantClerk) || p.MerchantID != "" {
		t.Errorf("principal after role change = %+v", p)
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.LoginLimits{})
	ctx := context.Background()
	phoneA, laptop := e.mustLogin(t), e.mustLogin(t)
	p := e.mustVerify(t, phoneA.AccessToken)
	if err := e.sessions.Logout(ctx, p); err != nil {
		t.Fatal(err)
	}
	e.wantUnauthenticated(t, phoneA.AccessToken)
	if _, err := e.sessions.Refresh(ctx, phoneA.RefreshToken); !errors.Is(err, models.ErrUnauthenticated) {
		t.Errorf("refresh after logout: %v, want ErrUnauthenticated", err)
	}
	if err := e.sessions.Logout(ctx, p); err != nil {
		t.Errorf("second logout: %v", err)
	}
	// Another sign-in of the same resident goes on.
	e.mustVerify(t, laptop.AccessToken)
	e.mustRefresh(t, laptop.RefreshToken)
}

func TestConcurrentRefreshSucceedsOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.LoginLimits{})
	pair := e.mustLogin(t)
	const n = 16
	var (
		mu            sync.Mutex
		wins, reuses  int
		others        []error
		ctx, cancel   = context.WithTimeout(context.Background(), time.Minute)
		winnerRefresh []string
	)
	defer cancel()
	atonce.Run(n, func(int) {
		got, err := e.sessions.Refresh(ctx, pair.RefreshToken)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			wins++
			winnerRefresh = append(winnerRefresh, got.RefreshToken)
		case errors.Is(err, models.ErrTokenReused):
			reuses++
		default:
			others = append(others, err)
		}
	})
	if wins != 1 || reuses != n-1 || len(others) > 0 {
		t.Fatalf("%d successes, %d reuses, other errors %v; want 1 and %d", wins, reuses, others, n-1)
	}
	// The copies were presented, so the session is revoked, winner included.
	if _, err := e.sessions.Refresh(ctx, winnerRefresh[0]); !errors.Is(err, models.ErrUnauthenticated) {
		t.Errorf("winner's refresh token: %v, want ErrUnauthenticated", err)
	}
}

// From the moment staff mark a resident moved away, neither a login nor a
// refresh of a session begun before gives tokens: both say why
// (models.ErrMovedAway). The same password and token worked just before.
func TestMovedAwayResidentNeitherSignsInNorRefreshes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, auth.LoginLimits{})
	pair := e.mustLogin(t)
	pair = e.mustRefresh(t, pair.RefreshToken)
	r, err := e.st.Resident(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.InsertResidencyMark(ctx, once.ResidentMovedAway("r1"), "moved", r, e.clock.now(), "staff1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sessions.Login(ctx, phone, password, "10.0.0.1"); !errors.Is(err, models.ErrMovedAway) {
		t.Fatalf("login after moving away: %v; want ErrMovedAway", err)
	}
	if _, err := e.sessions.Refresh(ctx, pair.RefreshToken); !errors.Is(err, models.ErrMovedAway) {
		t.Fatalf("refresh after moving away: %v; want ErrMovedAway", err)
	}
}
