package store

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Login is a resident's phone and password hash. Its key is the phone, so a
// phone can belong to one login only, enforced by the insert.
type Login struct {
	Phone        string
	ResidentID   string
	CommunityID  string
	PasswordHash string // Argon2id, in its encoded form
}

type loginDoc struct {
	ID        string `bson:"_id"`
	Resident  string `bson:"resident"`
	Community string `bson:"community"`
	Hash      string `bson:"password_hash"`
}

// InsertLogin adds l; models.ErrConflict if the phone has a login already.
func (s *Store) InsertLogin(ctx context.Context, l Login) error {
	return s.insert(ctx, colLogins, loginDoc{ID: l.Phone, Resident: l.ResidentID, Community: l.CommunityID, Hash: l.PasswordHash})
}

// LoginByPhone returns the login of phone, or models.ErrNotFound.
func (s *Store) LoginByPhone(ctx context.Context, phone string) (Login, error) {
	var d loginDoc
	if err := s.findByID(ctx, colLogins, phone, &d); err != nil {
		return Login{}, err
	}
	return Login{Phone: d.ID, ResidentID: d.Resident, CommunityID: d.Community, PasswordHash: d.Hash}, nil
}

// SetPasswordHash replaces the password hash of phone's login.
func (s *Store) SetPasswordHash(ctx context.Context, phone, hash string) error {
	return s.setByID(ctx, colLogins, phone, bson.D{{Key: "password_hash", Value: hash}})
}

// DeleteLogin removes phone's login; used to undo a half-done create.
func (s *Store) DeleteLogin(ctx context.Context, phone string) error {
	_, err := s.c(colLogins).DeleteOne(ctx, byID(phone))
	return mapErr("delete login", err)
}
