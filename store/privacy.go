package store

import (
	"context"
	"errors"
	"time"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Residents' personal information (package privacy).
const (
	colConsents  = "consents"   // _id is consent:resident:version, inserted once
	colAccessLog = "access_log" // who read whose personal data; each resident's list acc:<resident>
)

// consentDoc is a resident's acceptance of a notice version in consents, inserted once per
// resident and version.
type consentDoc struct {
	ID        string    `bson:"_id"`
	Resident  string    `bson:"resident"`
	Community string    `bson:"community"`
	Version   string    `bson:"version"`
	Language  string    `bson:"lang"`
	At        time.Time `bson:"at"`
}

// InsertConsent inserts c under id; models.ErrConflict if id exists.
func (s *Store) InsertConsent(ctx context.Context, id string, c models.Consent) error {
	return s.insert(ctx, colConsents, consentDoc{
		ID:        id,
		Resident:  c.ResidentID,
		Community: c.CommunityID,
		Version:   c.Version,
		Language:  string(c.Language),
		At:        c.At,
	})
}

// Consent returns the consent stored under id, or models.ErrNotFound.
func (s *Store) Consent(ctx context.Context, id string) (models.Consent, error) {
	var d consentDoc
	if err := s.findByID(ctx, colConsents, id, &d); err != nil {
		return models.Consent{}, err
	}
	return models.Consent{
		ResidentID:  d.Resident,
		CommunityID: d.Community,
		Version:     d.Version,
		Language:    models.Language(d.Language),
		At:          d.At.UTC(),
	}, nil
}

// accessDoc is one read of a resident's personal data by someone else, in access_log,
// never changed.
type accessDoc struct {
	ID        string    `bson:"_id"`
	Resident  string    `bson:"resident"`
	Community string    `bson:"community"`
	Actor     string    `bson:"actor"`
	Roles     []string  `bson:"roles"`
	Kind      string    `bson:"kind"`
	Detail    string    `bson:"detail,omitempty"`
	At        time.Time `bson:"at"`
	Slots     []slotRef `bson:"slots"` // its place on its resident's list
}

// accessList is the name of a resident's list of access-log records.
func accessList(residentID string) string { return "acc:" + residentID }

// toAccessDoc converts an access record to its document, naming its slots on the
// resident's list.
func toAccessDoc(r models.AccessRecord, slots []slotRef) accessDoc {
	roles := make([]string, len(r.ActorRoles))
	for i, role := range r.ActorRoles {
		roles[i] = string(role)
	}
	return accessDoc{
		ID:        r.ID,
		Resident:  r.ResidentID,
		Community: r.CommunityID,
		Actor:     r.ActorID,
		Roles:     roles,
		Kind:      string(r.Kind),
		Detail:    r.Detail,
		At:        r.At,
		Slots:     slots,
	}
}

// model returns the stored access record, its time in UTC.
func (d accessDoc) model() models.AccessRecord {
	roles := make([]models.Role, len(d.Roles))
	for i, role := range d.Roles {
		roles[i] = models.Role(role)
	}
	return models.AccessRecord{
		ID:          d.ID,
		ResidentID:  d.Resident,
		CommunityID: d.Community,
		ActorID:     d.Actor,
		ActorRoles:  roles,
		Kind:        models.AccessKind(d.Kind),
		Detail:      d.Detail,
		At:          d.At.UTC(),
	}
}

// InsertAccessRecords inserts each of rs after its slot on its resident's
// list (lists.go). A page of the residents list records one read per
// resident shown, so they go in one ordered insert (one commit on the
// embedded store): slot, record, slot, record … A slot another writer
// took meanwhile stops the batch there; the records from that one on are
// inserted one at a time, each moving on to the next free slot. A record
// whose id exists (a repeat) is kept as it is.
func (s *Store) InsertAccessRecords(ctx context.Context, rs []models.AccessRecord) error {
	batch := make([]any, 0, 2*len(rs))
	slots := make([]slotRef, len(rs))
	for i, r := range rs {
		list := accessList(r.ResidentID)
		n, err := s.nextSlot(ctx, colAccessLog, list)
		if err != nil {
			return err
		}
		// Two records of one resident in one batch take the slots after
		// each other.
		for j := range i {
			if slots[j].List == list && slots[j].N >= n {
				n = slots[j].N + 1
			}
		}
		slots[i] = slotRef{List: list, N: n}
		slot := listSlotDoc{
			ID:  slotID(list, n),
			Ref: r.ID,
			At:  r.At,
		}
		batch = append(batch, slot, toAccessDoc(r, []slotRef{slots[i]}))
	}
	err := s.write(ctx, func() error {
		_, err := s.c(colAccessLog).InsertMany(ctx, batch, options.InsertMany().SetOrdered(true))
		return err
	})
	stored := len(batch)
	if err != nil {
		if stored = failedIndex(err); stored < 0 {
			return s.count(mapErr("insert "+colAccessLog, err), "insert "+colAccessLog)
		}
	}
	for _, sl := range slots[:(stored+1)/2] {
		s.heads.raise(sl.List, sl.N)
		if sl.N%listHintEvery == 0 {
			s.saveListHint(ctx, sl.List, sl.N)
		}
	}
	if err == nil {
		return nil
	}
	// Records [0, stored/2) are in; an odd stored means record stored/2
	// collided on its own id after its slot went in: it exists already.
	for _, r := range rs[(stored+1)/2:] {
		_, err := s.insertListed(ctx, colAccessLog, []string{accessList(r.ResidentID)}, r.ID, r.At, func(sl []slotRef) any {
			return toAccessDoc(r, sl)
		})
		if err != nil && !errors.Is(err, models.ErrConflict) {
			return err
		}
	}
	return nil
}

// AccessLog is one page of residentID's access records, newest first: at
// most limit slots read below cursor ("" for the first page), and the
// cursor of the next page ("" at the end).
func (s *Store) AccessLog(ctx context.Context, residentID, cursor string, limit int) ([]models.AccessRecord, string, error) {
	var at slotCursor
	if cursor != "" {
		var err error
		if at, err = parseCursor(cursor, false); err != nil {
			return nil, "", err
		}
	}
	slots, refs, next, err := s.pageSlots(ctx, colAccessLog, accessList(residentID), at.before, limit)
	if err != nil {
		return nil, "", err
	}
	docs, err := listedDocs(ctx, s, colAccessLog, slots, refs, func(d *accessDoc) []slotRef { return d.Slots }, func(*accessDoc) bool { return true })
	if err != nil {
		return nil, "", err
	}
	out := make([]models.AccessRecord, len(docs))
	for i, d := range docs {
		out[i] = d.model()
	}
	if next == 0 {
		return out, "", nil
	}
	return out, slotCursor{before: next}.String(), nil
}
