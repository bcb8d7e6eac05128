package store

import (
	"context"
	"errors"
	"time"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// colResidency holds the insert-once marks of residents leaving: a
// "moved:<resident>" mark when staff record the move, an
// "erased:<resident>" mark when the erasure is decided (once.ResidentMovedAway,
// once.ResidentErased). It holds two documents per resident who left, so
// it stays small enough to list by a filter.
const colResidency = "residency_marks"

// residencyMarkDoc is one residency mark.
type residencyMarkDoc struct {
	ID        string    `bson:"_id"`
	Kind      string    `bson:"kind"` // moved or erased
	Resident  string    `bson:"resident"`
	Community string    `bson:"community"`
	At        time.Time `bson:"at"`
	Actor     string    `bson:"actor,omitempty"`
}

// InsertResidencyMark inserts the mark id of kind ("moved" or "erased")
// for resident r at at by actor; models.ErrConflict if it exists.
func (s *Store) InsertResidencyMark(ctx context.Context, id, kind string, r models.Resident, at time.Time, actor string) error {
	return s.insert(ctx, colResidency, residencyMarkDoc{
		ID:        id,
		Kind:      kind,
		Resident:  r.ID,
		Community: r.CommunityID,
		At:        at,
		Actor:     actor,
	})
}

// Residency returns what was decided about resident id leaving, from its
// marks; models.ErrNotFound if they were never marked moved away.
func (s *Store) Residency(ctx context.Context, movedID, erasedID string) (models.Residency, error) {
	var moved residencyMarkDoc
	if err := s.findByID(ctx, colResidency, movedID, &moved); err != nil {
		return models.Residency{}, err
	}
	out := models.Residency{
		ResidentID:  moved.Resident,
		CommunityID: moved.Community,
		MovedAway:   moved.At.UTC(),
		MarkedBy:    moved.Actor,
	}
	var erased residencyMarkDoc
	switch err := s.findByID(ctx, colResidency, erasedID, &erased); {
	case err == nil:
		out.Erased = erased.At.UTC()
	case !errors.Is(err, models.ErrNotFound):
		return models.Residency{}, err
	}
	return out, nil
}

// MovedAway lists every resident marked moved away, by resident, with the
// time their erasure was decided if it was.
func (s *Store) MovedAway(ctx context.Context) ([]models.Residency, error) {
	cur, err := s.c(colResidency).Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	erased := map[string]time.Time{}
	var out []models.Residency
	err = eachDoc(ctx, cur, err, "residency marks", func(d residencyMarkDoc) error {
		switch d.Kind {
		case "erased":
			erased[d.Resident] = d.At.UTC()
		case "moved":
			out = append(out, models.Residency{
				ResidentID:  d.Resident,
				CommunityID: d.Community,
				MovedAway:   d.At.UTC(),
				MarkedBy:    d.Actor,
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Erased = erased[out[i].ResidentID]
	}
	return out, nil
}

// EraseResident replaces resident id's name by pseudonym and removes their
// phone, ID number and birth year, in whichever form they are stored, and
// records when. It sets only those fields, so it is safe to repeat.
// First the resident's search slots (search.go) stop pointing at them: a
// slot's _id holds a character of the name or the phone's last four
// digits, so it must no longer name whose they were. The slots stay, as
// tombstones, so the lists keep their numbering; a reader skips a slot
// whose record is not found.
func (s *Store) EraseResident(ctx context.Context, id, pseudonym string, at time.Time) error {
	err := s.write(ctx, func() error {
		_, err := s.c(colDirLists).UpdateMany(ctx, bson.D{{Key: "ref", Value: id}}, bson.D{{Key: "$set", Value: bson.D{{Key: "ref", Value: ""}}}})
		return err
	})
	s.dirSlots.forget()
	if err != nil {
		return s.count(mapErr("update "+colDirLists, err), "update "+colDirLists)
	}
	unset := bson.D{}
	for _, f := range []string{"phone", "birth_year", "phone_sealed", "phone_index", "birth_sealed", "id_number_sealed"} {
		unset = append(unset, bson.E{Key: f, Value: ""})
	}
	return s.updateByID(ctx, colResidents, id, bson.D{
		{Key: "$set", Value: bson.D{{Key: "name", Value: pseudonym}, {Key: "erased", Value: at}}},
		{Key: "$unset", Value: unset},
	})
}
