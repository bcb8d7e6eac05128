package store

import (
	"context"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// loginDoc is a login as stored in logins; its _id is the phone.
type loginDoc struct {
	ID        string `bson:"_id"`
	Resident  string `bson:"resident"`
	Community string `bson:"community"`
	Hash      string `bson:"password_hash"`
}

// toLoginDoc is the document stored for l; its id is the phone.
func toLoginDoc(l models.Login) loginDoc {
	return loginDoc{
		ID:        l.Phone,
		Resident:  l.ResidentID,
		Community: l.CommunityID,
		Hash:      l.PasswordHash,
	}
}

// model is the login d records.
func (d loginDoc) model() models.Login {
	return models.Login{
		Phone:        d.ID,
		ResidentID:   d.Resident,
		CommunityID:  d.Community,
		PasswordHash: d.Hash,
	}
}

// InsertLogin adds l; models.ErrConflict if the phone has a login already.
func (s *Store) InsertLogin(ctx context.Context, l models.Login) error {
	return s.insert(ctx, colLogins, toLoginDoc(l))
}

// LoginByPhone returns the login of phone, or models.ErrNotFound.
func (s *Store) LoginByPhone(ctx context.Context, phone string) (models.Login, error) {
	var d loginDoc
	if err := s.findByID(ctx, colLogins, phone, &d); err != nil {
		return models.Login{}, err
	}
	return d.model(), nil
}

// SetPasswordHash replaces the password hash of phone's login.
func (s *Store) SetPasswordHash(ctx context.Context, phone, hash string) error {
	return s.setByID(ctx, colLogins, phone, bson.D{{Key: "password_hash", Value: hash}})
}

// DeleteLogin removes phone's login; used to undo a half-done create.
func (s *Store) DeleteLogin(ctx context.Context, phone string) error {
	return s.deleteByID(ctx, colLogins, phone)
}
