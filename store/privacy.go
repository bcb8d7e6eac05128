package store

import (
	"context"
	"time"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"golang.org/x/sync/errgroup"
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

// accessHintEvery is how often (in slots) a resident's access list's head
// hint is stored: a page of the residents list appends to fifty lists at
// once, and each hint is a write of its own, so these hints are sparser
// than other lists' (a process's first read of a list walks at most this
// far past it, a few lookups more).
const accessHintEvery = 128

// InsertAccessRecords inserts each of rs after its slot on its resident's
// list (lists.go). A page of the residents list records one read per
// resident shown, so they go in one ordered insert (one commit on the
// embedded store): slot, record, slot, record … The lists' heads are
// found first (concurrently, for the lists this process has not met) and
// the slot numbers taken inside the write's turn, so concurrent pages in
// this process, which show the same residents, do not collide. A slot
// another writer took meanwhile (another process) stops the batch there;
// the rest is numbered again past it and inserted in the next batch. A
// record whose id exists (a repeat) is kept as it is; the slot taken for
// it points at a record naming another slot, which readers skip.
func (s *Store) InsertAccessRecords(ctx context.Context, rs []models.AccessRecord) error {
	if err := s.knowHeads(ctx, colAccessLog, rs); err != nil {
		return err
	}
	pending := rs
	for len(pending) > 0 {
		batch := make([]any, 0, 2*len(pending))
		slots := make([]slotRef, len(pending))
		err := s.write(ctx, func() error {
			taken := map[string]int64{}
			for i, r := range pending {
				list := accessList(r.ResidentID)
				n, ok := taken[list]
				if !ok {
					n, _ = s.heads.get(list)
				}
				taken[list] = n + 1
				slots[i] = slotRef{List: list, N: n + 1}
				batch = append(batch, listSlotDoc{
					ID:  slotID(list, n+1),
					Ref: r.ID,
					At:  r.At,
				}, toAccessDoc(r, []slotRef{slots[i]}))
			}
			_, err := s.c(colAccessLog).InsertMany(ctx, batch, options.InsertMany().SetOrdered(true))
			stored := len(batch)
			if err != nil {
				stored = max(failedIndex(err), 0)
			}
			// Raised inside the turn: the next writer numbers past them.
			for _, sl := range slots[:(stored+1)/2] {
				s.heads.raise(sl.List, sl.N)
			}
			if failed := failedIndex(err); failed >= 0 && failed%2 == 0 {
				// The slot was taken by another process: its list's head is
				// at least there.
				s.heads.raise(slots[failed/2].List, slots[failed/2].N)
			}
			return err
		})
		stored := len(batch)
		if err != nil {
			if stored = failedIndex(err); stored < 0 {
				return s.count(mapErr("insert "+colAccessLog, err), "insert "+colAccessLog)
			}
		}
		for _, sl := range slots[:(stored+1)/2] {
			if sl.N%accessHintEvery == 0 {
				s.saveListHint(ctx, sl.List, sl.N)
			}
		}
		if err == nil {
			return nil
		}
		// Records [0, stored/2) are in. An odd stored means record stored/2
		// collided on its own id after its slot went in: it exists already.
		// An even one means its slot was taken: it is numbered again.
		skip := stored / 2
		if stored%2 == 1 {
			skip++
		}
		pending = pending[skip:]
	}
	return nil
}

// knowHeads makes sure this process knows the head of each of rs's
// residents' access lists in col, finding the unknown ones eight at a
// time.
func (s *Store) knowHeads(ctx context.Context, col string, rs []models.AccessRecord) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	seen := map[string]bool{}
	for _, r := range rs {
		list := accessList(r.ResidentID)
		if _, ok := s.heads.get(list); ok || seen[list] {
			continue
		}
		seen[list] = true
		g.Go(func() error {
			_, err := s.listHead(gctx, col, list)
			return err
		})
	}
	return g.Wait()
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
