package store

import (
	"context"
	"errors"
	"time"

	"github.com/linli-community/linli/auth"
	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// sessionDoc is a signed-in session in sessions. A session document is
// inserted once and afterwards only ever gets its revoked fields set. On
// the embedded store an update rewrites the whole document, so a second
// kind of update could race with a revocation and undo it; keep it the
// only one.
type sessionDoc struct {
	ID            string    `bson:"_id"`
	Resident      string    `bson:"resident"`
	Community     string    `bson:"community"`
	Created       time.Time `bson:"created"`
	Revoked       bool      `bson:"revoked"`
	RevokedAt     time.Time `bson:"revoked_at,omitempty"`
	RevokedReason string    `bson:"revoked_reason,omitempty"`
}

// model returns the stored session as auth sees it.
func (d sessionDoc) model() auth.Session {
	s := auth.Session{
		ID:            d.ID,
		ResidentID:    d.Resident,
		CommunityID:   d.Community,
		Created:       d.Created.UTC(),
		Revoked:       d.Revoked,
		RevokedReason: d.RevokedReason,
	}
	if !d.RevokedAt.IsZero() {
		s.RevokedAt = d.RevokedAt.UTC()
	}
	return s
}

// InsertSession adds a live session; models.ErrConflict if its id exists.
func (s *Store) InsertSession(ctx context.Context, ss auth.Session) error {
	return s.insert(ctx, colSessions, sessionDoc{
		ID:        ss.ID,
		Resident:  ss.ResidentID,
		Community: ss.CommunityID,
		Created:   ss.Created,
	})
}

// Session returns the session with id, or models.ErrNotFound.
func (s *Store) Session(ctx context.Context, id string) (auth.Session, error) {
	var d sessionDoc
	if err := s.findByID(ctx, colSessions, id, &d); err != nil {
		return auth.Session{}, err
	}
	return d.model(), nil
}

// RevokeSession marks the session revoked; models.ErrNotFound if there is
// none. Revoking twice is harmless (the later time and reason are kept).
func (s *Store) RevokeSession(ctx context.Context, id, reason string, at time.Time) error {
	return s.setByID(ctx, colSessions, id, bson.D{
		{Key: "revoked", Value: true}, {Key: "revoked_at", Value: at}, {Key: "revoked_reason", Value: reason},
	})
}

// refreshTokenDoc is a refresh token of a session. Refresh tokens and
// their "used" markers share the refresh_tokens collection: a token's _id
// is its hash (hex), a marker's is "used:" + hash.
type refreshTokenDoc struct {
	ID       string    `bson:"_id"`
	Session  string    `bson:"session"`
	Resident string    `bson:"resident"`
	Issued   time.Time `bson:"issued"`
	Expires  time.Time `bson:"expires"`
}

// refreshUsedDoc marks a refresh token used, once: its _id is usedPrefix
// and the token's hash, so a second use of the same token collides.
type refreshUsedDoc struct {
	ID string    `bson:"_id"`
	At time.Time `bson:"at"`
}

const usedPrefix = "used:"

// InsertRefreshToken stores t; models.ErrConflict if its hash exists.
func (s *Store) InsertRefreshToken(ctx context.Context, t auth.RefreshToken) error {
	if t.Hash == "" {
		return errors.New("store: insert refresh token: empty hash")
	}
	return s.insert(ctx, colRefreshTokens, refreshTokenDoc{
		ID:       t.Hash,
		Session:  t.SessionID,
		Resident: t.ResidentID,
		Issued:   t.Issued,
		Expires:  t.Expires,
	})
}

// RefreshToken returns the refresh token stored under hash, or
// models.ErrNotFound.
func (s *Store) RefreshToken(ctx context.Context, hash string) (auth.RefreshToken, error) {
	var d refreshTokenDoc
	if hash == "" {
		return auth.RefreshToken{}, models.ErrNotFound
	}
	if err := s.findByID(ctx, colRefreshTokens, hash, &d); err != nil {
		return auth.RefreshToken{}, err
	}
	return auth.RefreshToken{
		Hash:       d.ID,
		SessionID:  d.Session,
		ResidentID: d.Resident,
		Issued:     d.Issued.UTC(),
		Expires:    d.Expires.UTC(),
	}, nil
}

// MarkRefreshTokenUsed records that the token with hash has been spent. It
// is an insert against the unique _id, the one step the embedded store does
// atomically, so of any number of concurrent callers exactly one gets nil;
// the others get models.ErrConflict.
func (s *Store) MarkRefreshTokenUsed(ctx context.Context, hash string, at time.Time) error {
	return s.insert(ctx, colRefreshTokens, refreshUsedDoc{ID: usedPrefix + hash, At: at})
}

// LoginCredentials returns the login of phone in auth's terms (see
// LoginByPhone), or models.ErrNotFound.
func (s *Store) LoginCredentials(ctx context.Context, phone string) (auth.Credentials, error) {
	l, err := s.LoginByPhone(ctx, phone)
	if err != nil {
		return auth.Credentials{}, err
	}
	return auth.Credentials{
		Phone:        l.Phone,
		ResidentID:   l.ResidentID,
		CommunityID:  l.CommunityID,
		PasswordHash: l.PasswordHash,
	}, nil
}
