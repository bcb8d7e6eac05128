package store

import (
	"context"
	"time"

	"github.com/linli-community/linli/models"
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
	OpID      string    `bson:"op,omitempty"`
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
		OpID:      c.OpID,
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
		OpID:        d.OpID,
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

// accessHintEvery is how often (in slots) a resident's access list's head
// hint is stored: a page of the residents list appends to fifty lists at
// once, and each hint is a write of its own, so these hints are sparser
// than other lists' (a process's first read of a list walks at most this
// far past it, a few lookups more).
const accessHintEvery = 128

// InsertAccessRecords inserts each of rs after its slot on its resident's
// list (insertListedMany). A page of the residents list records one read
// per resident shown, so they go in one ordered insert (one commit on the
// embedded store). A record whose id exists (a repeat) is kept as it is;
// the slot taken for it names nothing, which readers skip, and the rest go
// on.
func (s *Store) InsertAccessRecords(ctx context.Context, rs []models.AccessRecord) error {
	records := make([]listedRecord, len(rs))
	for i, r := range rs {
		records[i] = listedRecord{
			lists: []string{accessList(r.ResidentID)},
			ref:   r.ID,
			at:    r.At,
			doc:   func(slots []slotRef) any { return toAccessDoc(r, slots) },
		}
	}
	for len(records) > 0 {
		_, inserted, err := s.insertListedMany(ctx, colAccessLog, records, accessHintEvery)
		if err != nil {
			return err
		}
		records = records[min(inserted+1, len(records)):]
	}
	return nil
}

// AccessLog is one page of residentID's access records, newest first: at
// most limit slots read below cursor ("" for the first page), and the
// cursor of the next page ("" at the end).
func (s *Store) AccessLog(ctx context.Context, residentID, cursor string, limit int) ([]models.AccessRecord, string, error) {
	return listedRead[accessDoc, models.AccessRecord]{
		col:     colAccessLog,
		list:    accessList(residentID),
		slotsOf: func(d *accessDoc) []slotRef { return d.Slots },
		model:   (*accessDoc).model,
	}.pageAfter(ctx, s, cursor, limit)
}
