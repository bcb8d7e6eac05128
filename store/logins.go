package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// loginDoc is a login as stored in logins. Its _id is the blind index of
// the phone (store/sealed.go), so a phone has one login and is found
// without being stored in clear; the phone itself is sealed beside it. A
// login stored before sealing has the phone as its _id and no sealed
// phone: it is read as it is, and `linli rotate-keys` moves it.
type loginDoc struct {
	ID          string `bson:"_id"`
	PhoneSealed string `bson:"phone_sealed,omitempty"`
	Resident    string `bson:"resident"`
	Community   string `bson:"community"`
	Hash        string `bson:"password_hash"`
}

// loginDoc is the document stored for l, under the blind index of its
// phone.
func (s *Store) loginDoc(l models.Login) (loginDoc, error) {
	keys, err := s.keys()
	if err != nil {
		return loginDoc{}, err
	}
	d := loginDoc{
		ID:        keys.phoneIndex(l.Phone),
		Resident:  l.ResidentID,
		Community: l.CommunityID,
		Hash:      l.PasswordHash,
	}
	if d.PhoneSealed, err = keys.seal(colLogins, d.ID, "phone", l.Phone); err != nil {
		return loginDoc{}, err
	}
	return d, nil
}

// loginModel is the login d records, its phone opened.
func (s *Store) loginModel(d loginDoc) (models.Login, error) {
	l := models.Login{
		Phone:        d.ID,
		ResidentID:   d.Resident,
		CommunityID:  d.Community,
		PasswordHash: d.Hash,
	}
	if d.PhoneSealed == "" {
		return l, nil
	}
	keys, err := s.keys()
	if err != nil {
		return models.Login{}, err
	}
	if l.Phone, _, err = keys.open(colLogins, d.ID, "phone", d.PhoneSealed); err != nil {
		return models.Login{}, err
	}
	return l, nil
}

// InsertLogin adds l; models.ErrConflict if the phone has a login already
// (under its blind index, or in clear from before sealing).
func (s *Store) InsertLogin(ctx context.Context, l models.Login) error {
	d, err := s.loginDoc(l)
	if err != nil {
		return err
	}
	var legacy loginDoc
	switch err := s.findByID(ctx, colLogins, l.Phone, &legacy); {
	case err == nil:
		return fmt.Errorf("store: insert %s: %w", colLogins, models.ErrConflict)
	case !errors.Is(err, models.ErrNotFound):
		return err
	}
	return s.insert(ctx, colLogins, d)
}

// loginID is the _id of phone's login: its blind index, or the phone
// itself for a login stored before sealing; models.ErrNotFound if neither.
func (s *Store) loginID(ctx context.Context, phone string, out *loginDoc) error {
	keys, err := s.keys()
	if err != nil {
		return err
	}
	err = s.findByID(ctx, colLogins, keys.phoneIndex(phone), out)
	if !errors.Is(err, models.ErrNotFound) {
		return err
	}
	return s.findByID(ctx, colLogins, phone, out)
}

// LoginByPhone returns the login of phone, or models.ErrNotFound.
func (s *Store) LoginByPhone(ctx context.Context, phone string) (models.Login, error) {
	var d loginDoc
	if err := s.loginID(ctx, phone, &d); err != nil {
		return models.Login{}, err
	}
	return s.loginModel(d)
}

// SetPasswordHash replaces the password hash of phone's login.
func (s *Store) SetPasswordHash(ctx context.Context, phone, hash string) error {
	var d loginDoc
	if err := s.loginID(ctx, phone, &d); err != nil {
		return err
	}
	return s.setByID(ctx, colLogins, d.ID, bson.D{{Key: "password_hash", Value: hash}})
}

// DeleteLogin removes phone's login; used to undo a half-done create and
// to erase a resident who moved away. A missing login is not an error.
func (s *Store) DeleteLogin(ctx context.Context, phone string) error {
	keys, err := s.keys()
	if err != nil {
		return err
	}
	if err := s.deleteByID(ctx, colLogins, keys.phoneIndex(phone)); err != nil {
		return err
	}
	return s.deleteByID(ctx, colLogins, phone)
}
