package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// ResealCounts is what a pass of ResealPersonalData did.
type ResealCounts struct {
	Residents   int // residents read
	Resealed    int // residents whose fields were sealed again (or for the first time)
	Logins      int // logins read
	LoginsMoved int // logins moved from the phone in clear to its blind index, or sealed again
	Remaining   int // documents a concurrent change kept from being sealed under the current key; run again
}

// resealPage is how many documents a pass reads at a time.
const resealPage = 200

// ResealPersonalData seals under the current data key every resident field
// and login phone that is in clear (stored before sealing) or sealed under
// an older key, one document at a time. It is safe to repeat and to stop
// anywhere: each resident is one single-document update, every key stays
// able to open until the operator drops it, and a login is moved by
// inserting its blind-indexed copy and then deleting the old one, so a
// crash between the two leaves both, the copy found first, and the next
// pass deletes the old one (docs/ARCHITECTURE.md §11).
func (s *Store) ResealPersonalData(ctx context.Context) (ResealCounts, error) {
	var c ResealCounts
	keys, err := s.keys()
	if err != nil {
		return c, err
	}
	for after := ""; ; {
		var docs []residentDoc
		if err := s.page(ctx, colResidents, bson.D{}, after, resealPage, &docs); err != nil {
			return c, err
		}
		for _, d := range docs {
			c.Residents++
			if !residentNeedsReseal(d, keys) {
				continue
			}
			done, err := s.resealResident(ctx, d.ID)
			if err != nil {
				return c, err
			}
			if done {
				c.Resealed++
			} else {
				c.Remaining++
			}
		}
		if len(docs) < resealPage {
			break
		}
		after = docs[len(docs)-1].ID
	}
	for after := ""; ; {
		var docs []loginDoc
		if err := s.page(ctx, colLogins, bson.D{}, after, resealPage, &docs); err != nil {
			return c, err
		}
		for _, d := range docs {
			c.Logins++
			if strings.HasPrefix(d.ID, phoneIndexPrefix) && sealedUnder(d.PhoneSealed) == keys.current {
				continue
			}
			if err := s.resealLogin(ctx, d); err != nil {
				return c, err
			}
			c.LoginsMoved++
		}
		if len(docs) < resealPage {
			break
		}
		after = docs[len(docs)-1].ID
	}
	return c, nil
}

// residentNeedsReseal reports whether d holds a personal field in clear or
// sealed under a key other than the current one.
func residentNeedsReseal(d residentDoc, keys *DataKeys) bool {
	if d.Phone != "" || d.BirthYear != 0 {
		return true
	}
	for _, v := range []string{d.PhoneSealed, d.BirthSealed, d.IDSealed} {
		if v != "" && sealedUnder(v) != keys.current {
			return true
		}
	}
	return false
}

// resealResident seals resident id's personal fields under the current
// key. The read and the write share one write turn, so on the embedded
// store no other write of this process lands between them (a profile
// edit's birth year is never overwritten by the value read before it);
// on MongoDB the update is conditional on the fields read. It reports
// false when a concurrent change won; the next pass seals it.
func (s *Store) resealResident(ctx context.Context, id string) (bool, error) {
	keys, err := s.keys()
	if err != nil {
		return false, err
	}
	matched := false
	err = s.write(ctx, func() error {
		var d residentDoc
		if err := s.c(colResidents).FindOne(ctx, byID(id)).Decode(&d); err != nil {
			if errors.Is(err, mongo.ErrNoDocuments) {
				matched = true // deleted meanwhile: nothing to seal
				return nil
			}
			return err
		}
		if !residentNeedsReseal(d, keys) {
			matched = true
			return nil
		}
		p, err := s.openResident(d)
		if err != nil {
			return err
		}
		next := residentDoc{ID: d.ID}
		if err := s.sealResident(&next, p.phone, p.birthYear, p.idNumber); err != nil {
			return err
		}
		filter := byID(id)
		if s.writer == nil {
			filter = append(filter,
				bson.E{Key: "phone", Value: nilIfEmpty(d.Phone)},
				bson.E{Key: "birth_year", Value: nilIfZero(d.BirthYear)},
				bson.E{Key: "phone_sealed", Value: nilIfEmpty(d.PhoneSealed)},
				bson.E{Key: "birth_sealed", Value: nilIfEmpty(d.BirthSealed)},
				bson.E{Key: "id_number_sealed", Value: nilIfEmpty(d.IDSealed)},
			)
		}
		set, unset := bson.D{}, bson.D{{Key: "phone", Value: ""}, {Key: "birth_year", Value: ""}}
		for _, f := range []struct {
			key   string
			value string
		}{
			{"phone_sealed", next.PhoneSealed},
			{"phone_index", next.PhoneIndex},
			{"birth_sealed", next.BirthSealed},
			{"id_number_sealed", next.IDSealed},
		} {
			if f.value == "" {
				unset = append(unset, bson.E{Key: f.key, Value: ""})
			} else {
				set = append(set, bson.E{Key: f.key, Value: f.value})
			}
		}
		update := bson.D{{Key: "$unset", Value: unset}}
		if len(set) > 0 {
			update = append(update, bson.E{Key: "$set", Value: set})
		}
		res, err := s.c(colResidents).UpdateOne(ctx, filter, update)
		if err != nil {
			return err
		}
		matched = res.MatchedCount == 1
		return nil
	})
	return matched, s.count(mapErr("reseal residents", err), "reseal residents")
}

// resealLogin stores login d under the blind index of its phone with the
// phone sealed under the current key: a login in clear is copied and then
// deleted; a blind-indexed one has its phone sealed again in place (its
// phone cannot change, so nothing is lost).
func (s *Store) resealLogin(ctx context.Context, d loginDoc) error {
	l, err := s.loginModel(d)
	if err != nil {
		return err
	}
	next, err := s.loginDoc(l)
	if err != nil {
		return err
	}
	if next.ID == d.ID {
		return s.setByID(ctx, colLogins, d.ID, bson.D{{Key: "phone_sealed", Value: next.PhoneSealed}})
	}
	// In one write turn, so no password change of this process lands on
	// the old document between the copy and the delete.
	err = s.write(ctx, func() error {
		var cur loginDoc
		if err := s.c(colLogins).FindOne(ctx, byID(d.ID)).Decode(&cur); err != nil {
			if errors.Is(err, mongo.ErrNoDocuments) {
				return nil // moved by another pass
			}
			return err
		}
		next.Hash = cur.Hash
		if _, err := s.c(colLogins).InsertOne(ctx, next); err != nil && !mongo.IsDuplicateKeyError(err) {
			return err
		}
		_, err := s.c(colLogins).DeleteOne(ctx, byID(d.ID))
		return err
	})
	if err != nil {
		return s.count(fmt.Errorf("store: move login: %w", err), "reseal logins")
	}
	return nil
}

// nilIfEmpty is v, or nil (matching a missing field) when v is "".
func nilIfEmpty(v string) any {
	if v == "" {
		return nil
	}
	return v
}

// nilIfZero is v, or nil (matching a missing field) when v is 0.
func nilIfZero(v int) any {
	if v == 0 {
		return nil
	}
	return v
}
