package sessions

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/linli-community/linli/auth"
	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/once"
)

// Store keeps logins, sessions and refresh tokens. Every method is
// an insert or an exact-_id read or write.
type Store interface {
	// LoginCredentials returns the login of a normalised phone, or
	// models.ErrNotFound.
	LoginCredentials(ctx context.Context, phone string) (auth.Credentials, error)
	// InsertSession adds a live session; models.ErrConflict if its id exists.
	InsertSession(ctx context.Context, s auth.Session) error
	// Session returns the session with id, or models.ErrNotFound.
	Session(ctx context.Context, id string) (auth.Session, error)
	// RevokeSession marks the session revoked; models.ErrNotFound if none.
	RevokeSession(ctx context.Context, id, reason string, at time.Time) error
	// InsertRefreshToken stores t; models.ErrConflict if its hash exists.
	InsertRefreshToken(ctx context.Context, t auth.RefreshToken) error
	// RefreshToken returns the token stored under hash, or models.ErrNotFound.
	RefreshToken(ctx context.Context, hash string) (auth.RefreshToken, error)
	// MarkRefreshTokenUsed records the token as spent by an insert: of any
	// number of concurrent callers exactly one gets nil, the rest
	// models.ErrConflict.
	MarkRefreshTokenUsed(ctx context.Context, hash string, at time.Time) error
	// Residency reads the moved and erased marks of one resident;
	// models.ErrNotFound if there is no moved mark.
	Residency(ctx context.Context, movedID, erasedID string) (models.Residency, error)
}

// PasswordChecker checks a password against its stored hash.
type PasswordChecker interface {
	// Check returns models.ErrInvalidCredentials unless password matches
	// encodedHash. An empty encodedHash always fails, after the same work.
	Check(ctx context.Context, password, encodedHash string) error
}

// AccessIssuer signs access tokens.
type AccessIssuer interface {
	// IssueAccess returns a signed access token for p and its expiry.
	IssueAccess(p models.Principal) (string, time.Time, error)
}

// LoginLimiter counts login attempts.
type LoginLimiter interface {
	// Allow records an attempt on phone from addr, or returns
	// models.ErrRateLimited if either is over its limit.
	Allow(phone, addr string) error
}

// Revocation reasons kept on a session.
const (
	RevokedByLogout = "logout"
	RevokedByReuse  = "refresh_reuse"
)

// TokenPair is what a sign-in or a refresh hands the client.
type TokenPair struct {
	AccessToken    string
	AccessExpires  time.Time
	ExpiresIn      time.Duration // of the access token, from now
	RefreshToken   string
	RefreshExpires time.Time
}

// Service signs residents in and out and rotates their refresh tokens.
type Service struct {
	store      Store
	people     community.People
	passwords  PasswordChecker
	tokens     AccessIssuer
	limiter    LoginLimiter
	refreshTTL time.Duration
	now        func() time.Time
}

// New returns the sign-in service. d.RefreshTTL is the life of each
// refresh token (zero means auth.DefaultRefreshTTL); each refresh starts a
// new one.
func New(d Deps) *Service {
	refreshTTL := d.RefreshTTL
	if refreshTTL <= 0 {
		refreshTTL = auth.DefaultRefreshTTL
	}
	return &Service{
		store:      d.Store,
		people:     d.People,
		passwords:  d.Passwords,
		tokens:     d.Tokens,
		limiter:    d.Limiter,
		refreshTTL: refreshTTL,
		now:        d.Now,
	}
}

// Deps are what the sessions service is built on, by name.
type Deps struct {
	Store      Store
	People     community.People
	Passwords  PasswordChecker
	Tokens     AccessIssuer
	Limiter    LoginLimiter
	RefreshTTL time.Duration // 0: auth.DefaultRefreshTTL
	Now        func() time.Time
}

// Login checks phone and password and starts a session. A wrong password
// and an unknown phone both give models.ErrInvalidCredentials after the
// same Argon2id work; too many attempts on the phone or from clientAddr give
// models.ErrRateLimited; a malformed phone gives models.ErrValidation.
func (s *Service) Login(ctx context.Context, phone, password, clientAddr string) (TokenPair, error) {
	phone, err := models.NormalizePhone(phone)
	if err != nil {
		return TokenPair{}, err
	}
	if err := s.limiter.Allow(phone, clientAddr); err != nil {
		return TokenPair{}, fmt.Errorf("login: %w", err)
	}
	creds, err := s.store.LoginCredentials(ctx, phone)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return TokenPair{}, fmt.Errorf("login: %w", err)
	}
	// creds.PasswordHash is empty for an unknown phone: Check then runs
	// against a dummy hash and fails.
	if err := s.passwords.Check(ctx, password, creds.PasswordHash); err != nil {
		return TokenPair{}, fmt.Errorf("login: %w", err)
	}
	r, err := s.people.Resident(ctx, creds.ResidentID)
	if errors.Is(err, models.ErrNotFound) {
		// A login whose resident is gone (a half-undone sign-up) is no
		// account at all.
		return TokenPair{}, fmt.Errorf("login: %w", models.ErrInvalidCredentials)
	}
	if err != nil {
		return TokenPair{}, fmt.Errorf("login: %w", err)
	}
	if err := s.stillResident(ctx, r.ID); err != nil {
		return TokenPair{}, fmt.Errorf("login: %w", err)
	}
	sess := auth.Session{
		ID:          auth.NewSessionID(),
		ResidentID:  r.ID,
		CommunityID: r.CommunityID,
		Created:     s.now(),
	}
	if err := s.store.InsertSession(ctx, sess); err != nil {
		return TokenPair{}, fmt.Errorf("login: %w", err)
	}
	pair, err := s.issue(ctx, sess.ID, r)
	if err != nil {
		return TokenPair{}, fmt.Errorf("login: %w", err)
	}
	return pair, nil
}

// Refresh spends a refresh token and returns a new pair in the same
// session. An unknown, expired or revoked token gives
// models.ErrUnauthenticated. A token that was already spent means a copy is
// in someone else's hands: the whole session is revoked, so every token of
// that sign-in stops working, and models.ErrTokenReused is returned.
func (s *Service) Refresh(ctx context.Context, refreshToken string) (TokenPair, error) {
	if refreshToken == "" {
		return TokenPair{}, models.ErrUnauthenticated
	}
	hash := auth.HashRefreshToken(refreshToken)
	rt, err := s.store.RefreshToken(ctx, hash)
	if errors.Is(err, models.ErrNotFound) {
		return TokenPair{}, models.ErrUnauthenticated
	}
	if err != nil {
		return TokenPair{}, fmt.Errorf("refresh: %w", err)
	}
	now := s.now()
	if !now.Before(rt.Expires) {
		return TokenPair{}, models.ErrUnauthenticated
	}
	// The session is read before the token is spent, so the one caller that
	// spends it is not failed by the revocation its racing copies set off.
	sess, sessErr := s.liveSession(ctx, rt.SessionID)
	if sessErr != nil && !errors.Is(sessErr, models.ErrUnauthenticated) {
		return TokenPair{}, fmt.Errorf("refresh: %w", sessErr)
	}
	// The commit point is an insert against the unique _id, atomic on both
	// stores (a conditional update is not, on the embedded one). It runs for
	// a revoked session too, so a spent token is reported as reused either way.
	err = s.store.MarkRefreshTokenUsed(ctx, hash, now)
	if errors.Is(err, models.ErrConflict) {
		if sessErr == nil {
			err := s.store.RevokeSession(ctx, rt.SessionID, RevokedByReuse, now)
			if err != nil && !errors.Is(err, models.ErrNotFound) {
				return TokenPair{}, fmt.Errorf("refresh: revoke reused session: %w", err)
			}
		}
		return TokenPair{}, models.ErrTokenReused
	}
	if err != nil {
		return TokenPair{}, fmt.Errorf("refresh: %w", err)
	}
	if sessErr != nil || sess.ResidentID != rt.ResidentID {
		return TokenPair{}, models.ErrUnauthenticated
	}
	// Roles, merchant and partner are read afresh, so a change reaches the
	// client at its next refresh.
	r, err := s.people.Resident(ctx, sess.ResidentID)
	if errors.Is(err, models.ErrNotFound) {
		return TokenPair{}, models.ErrUnauthenticated
	}
	if err != nil {
		return TokenPair{}, fmt.Errorf("refresh: %w", err)
	}
	if err := s.stillResident(ctx, r.ID); err != nil {
		return TokenPair{}, fmt.Errorf("refresh: %w", err)
	}
	pair, err := s.issue(ctx, sess.ID, r)
	if err != nil {
		return TokenPair{}, fmt.Errorf("refresh: %w", err)
	}
	return pair, nil
}

// Logout revokes the caller's session: its access tokens fail at once and
// its refresh tokens can no longer be used. Logging out twice is fine.
func (s *Service) Logout(ctx context.Context, p models.Principal) error {
	if p.SessionID == "" {
		return models.ErrUnauthenticated
	}
	err := s.store.RevokeSession(ctx, p.SessionID, RevokedByLogout, s.now())
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

// Me returns the caller's own resident record.
func (s *Service) Me(ctx context.Context, p models.Principal) (models.Resident, error) {
	r, err := s.people.Resident(ctx, p.ResidentID)
	if err != nil {
		return models.Resident{}, fmt.Errorf("me: %w", err)
	}
	return r, nil
}

// stillResident returns models.ErrMovedAway if staff marked resident id
// moved away (once.ResidentMovedAway): from the mark on, neither a login
// nor a refresh starts or continues a session, so an access token already
// issued is the last, and lasts at most its lifetime (LINLI_ACCESS_TTL).
// The resident's records stay until the retention period ends
// (directory.Service.EraseDue).
func (s *Service) stillResident(ctx context.Context, id string) error {
	_, err := s.store.Residency(ctx, once.ResidentMovedAway(id), once.ResidentErased(id))
	switch {
	case errors.Is(err, models.ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	return models.ErrMovedAway
}

// liveSession returns the session with id, or models.ErrUnauthenticated if
// it is unknown or revoked.
func (s *Service) liveSession(ctx context.Context, id string) (auth.Session, error) {
	sess, err := s.store.Session(ctx, id)
	if errors.Is(err, models.ErrNotFound) {
		return auth.Session{}, models.ErrUnauthenticated
	}
	if err != nil {
		return auth.Session{}, err
	}
	if sess.Revoked {
		return auth.Session{}, models.ErrUnauthenticated
	}
	return sess, nil
}

// issue stores a new refresh token for the session and signs an access
// token for r.
func (s *Service) issue(ctx context.Context, sessionID string, r models.Resident) (TokenPair, error) {
	now := s.now()
	token, hash := auth.NewRefreshToken()
	rt := auth.RefreshToken{
		Hash:       hash,
		SessionID:  sessionID,
		ResidentID: r.ID,
		Issued:     now,
		Expires:    now.Add(s.refreshTTL),
	}
	if err := s.store.InsertRefreshToken(ctx, rt); err != nil {
		return TokenPair{}, err
	}
	access, exp, err := s.tokens.IssueAccess(principalOf(r, sessionID))
	if err != nil {
		return TokenPair{}, err
	}
	return TokenPair{
		AccessToken:    access,
		AccessExpires:  exp,
		ExpiresIn:      exp.Sub(now),
		RefreshToken:   token,
		RefreshExpires: rt.Expires,
	}, nil
}

// principalOf is who r is in session sessionID.
func principalOf(r models.Resident, sessionID string) models.Principal {
	return models.Principal{
		ResidentID:  r.ID,
		CommunityID: r.CommunityID,
		SessionID:   sessionID,
		Roles:       append([]models.Role(nil), r.Roles...),
		MerchantID:  r.MerchantID,
		PartnerID:   r.PartnerID,
	}
}
