package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// replaceByID writes doc whole as the document with _id id, creating it if
// upsert. Used only for cache documents that can be rebuilt from keyed
// inserts, because a replace is not atomic against another writer.
func (s *Store) replaceByID(ctx context.Context, col, id string, doc any, upsert bool) error {
	var res *mongo.UpdateResult
	err := s.write(ctx, func() (err error) {
		res, err = s.c(col).ReplaceOne(ctx, byID(id), doc, options.Replace().SetUpsert(upsert))
		if upsert && err != nil && (mongo.IsDuplicateKeyError(err) || strings.Contains(err.Error(), "UNIQUE constraint")) {
			// Two upserts raced to create the document: it exists now, so
			// replace it.
			res, err = s.c(col).ReplaceOne(ctx, byID(id), doc)
		}
		return err
	})
	if err != nil {
		return mapErr("replace "+col, err)
	}
	if !upsert && res.MatchedCount == 0 {
		return fmt.Errorf("store: replace %s: %w", col, errNoDoc)
	}
	return nil
}

var errNoDoc = models.ErrNotFound

// isNotFound reports whether err is models.ErrNotFound.
func isNotFound(err error) bool { return errors.Is(err, models.ErrNotFound) }

// utc turns a stored time back into UTC, keeping the zero time zero.
func utc(t time.Time) time.Time {
	if t.IsZero() || t.Unix() <= 0 {
		return time.Time{}
	}
	return t.UTC()
}

// --- honour roll ---

// honourEntryDoc is an honour-roll entry in honour_entries.
type honourEntryDoc struct {
	ID          string    `bson:"_id"`
	Community   string    `bson:"community"`
	Resident    string    `bson:"resident,omitempty"`
	Household   string    `bson:"household,omitempty"`
	Building    string    `bson:"building,omitempty"`
	Category    string    `bson:"category"`
	Reason      string    `bson:"reason"`
	NominatedBy string    `bson:"nominated_by"`
	Nominated   time.Time `bson:"nominated"`
	NoticeEnds  time.Time `bson:"notice_ends"`
	Status      string    `bson:"status"`
	ListedAt    time.Time `bson:"listed_at,omitempty"`
	ExpiresAt   time.Time `bson:"expires_at,omitempty"`
	EndedAt     time.Time `bson:"ended_at,omitempty"`
	EndReason   string    `bson:"end_reason,omitempty"`
	Revocations int       `bson:"revocations"`
	Restored    int       `bson:"restored"`
	AppealOpen  bool      `bson:"appeal_open"`
	Hidden      bool      `bson:"hidden"`
	OpID        string    `bson:"op_id,omitempty"`
	// Slots are its places on its community's lists (honour_lists.go):
	// every nomination, and, once listed, the board.
	Slots []slotRef `bson:"slots,omitempty"`
}

// toHonourEntryDoc converts an honour-roll entry to its document.
func toHonourEntryDoc(e models.HonourEntry) honourEntryDoc {
	return honourEntryDoc{
		ID:          e.ID,
		Community:   e.CommunityID,
		Resident:    e.ResidentID,
		Household:   e.HouseholdID,
		Building:    e.BuildingID,
		Category:    e.Category,
		Reason:      e.Reason,
		NominatedBy: e.NominatedBy,
		Nominated:   e.Nominated,
		NoticeEnds:  e.NoticeEnds,
		Status:      string(e.Status),
		ListedAt:    e.ListedAt,
		ExpiresAt:   e.ExpiresAt,
		EndedAt:     e.EndedAt,
		EndReason:   e.EndReason,
		Revocations: e.Revocations,
		Restored:    e.Restored,
		AppealOpen:  e.AppealOpen,
		Hidden:      e.Hidden,
		OpID:        e.OpID,
	}
}

// model returns the stored entry, its times in UTC.
func (d honourEntryDoc) model() models.HonourEntry {
	return models.HonourEntry{
		ID:          d.ID,
		CommunityID: d.Community,
		ResidentID:  d.Resident,
		HouseholdID: d.Household,
		BuildingID:  d.Building,
		Category:    d.Category,
		Reason:      d.Reason,
		NominatedBy: d.NominatedBy,
		Nominated:   utc(d.Nominated),
		NoticeEnds:  utc(d.NoticeEnds),
		Status:      models.HonourStatus(d.Status),
		ListedAt:    utc(d.ListedAt),
		ExpiresAt:   utc(d.ExpiresAt),
		EndedAt:     utc(d.EndedAt),
		EndReason:   d.EndReason,
		Revocations: d.Revocations,
		Restored:    d.Restored,
		AppealOpen:  d.AppealOpen,
		Hidden:      d.Hidden,
		OpID:        d.OpID,
	}
}

// InsertHonourEntry adds e, after its slot on its community's list of
// nominations (honour_lists.go); models.ErrConflict if its id exists.
func (s *Store) InsertHonourEntry(ctx context.Context, e models.HonourEntry) error {
	if e.CommunityID == "" {
		return s.insert(ctx, colHonourEntries, toHonourEntryDoc(e))
	}
	_, err := s.insertListed(ctx, colHonourEntries, []string{honourEntryList(e.CommunityID)}, e.ID, e.Nominated, func(slots []slotRef) any {
		d := toHonourEntryDoc(e)
		d.Slots = slots
		return d
	})
	return err
}

// HonourEntry returns the entry with id, or models.ErrNotFound.
func (s *Store) HonourEntry(ctx context.Context, id string) (models.HonourEntry, error) {
	var d honourEntryDoc
	if err := s.findByID(ctx, colHonourEntries, id, &d); err != nil {
		return models.HonourEntry{}, err
	}
	return d.model(), nil
}

// SaveHonourEntry rewrites the entry's cached state; models.ErrNotFound if
// it does not exist. Its list slots stay as they are: a field that is
// empty now is unset, the others set.
func (s *Store) SaveHonourEntry(ctx context.Context, e models.HonourEntry) error {
	raw, err := bson.Marshal(toHonourEntryDoc(e))
	if err != nil {
		return fmt.Errorf("store: save honour entry: %w", err)
	}
	var fields bson.D
	if err := bson.Unmarshal(raw, &fields); err != nil {
		return fmt.Errorf("store: save honour entry: %w", err)
	}
	set := bson.D{}
	for _, f := range fields {
		if f.Key != "_id" && f.Key != "slots" {
			set = append(set, f)
		}
	}
	unset := bson.D{}
	for key, empty := range map[string]bool{
		"resident":   e.ResidentID == "",
		"household":  e.HouseholdID == "",
		"building":   e.BuildingID == "",
		"listed_at":  e.ListedAt.IsZero(),
		"expires_at": e.ExpiresAt.IsZero(),
		"ended_at":   e.EndedAt.IsZero(),
		"end_reason": e.EndReason == "",
		"op_id":      e.OpID == "",
	} {
		if empty {
			unset = append(unset, bson.E{Key: key, Value: ""})
		}
	}
	update := bson.D{{Key: "$set", Value: set}}
	if len(unset) > 0 {
		update = append(update, bson.E{Key: "$unset", Value: unset})
	}
	return s.updateByID(ctx, colHonourEntries, e.ID, update)
}

// HonourEntries lists entries of a community ("" for every community) in
// the given statuses (all when none), by id after after, at most limit (0:
// all). It filters, so it is for staff screens, the board and jobs.
func (s *Store) HonourEntries(ctx context.Context, communityID string, statuses []models.HonourStatus, after string, limit int) ([]models.HonourEntry, error) {
	filter := bson.D{}
	if communityID != "" {
		filter = append(filter, bson.E{Key: "community", Value: communityID})
	}
	if len(statuses) > 0 {
		ss := make([]string, len(statuses))
		for i, st := range statuses {
			ss[i] = string(st)
		}
		filter = append(filter, bson.E{Key: "status", Value: bson.D{{Key: "$in", Value: ss}}})
	}
	var docs []honourEntryDoc
	if err := s.page(ctx, colHonourEntries, filter, after, limit, &docs); err != nil {
		return nil, err
	}
	out := make([]models.HonourEntry, 0, len(docs))
	for _, d := range docs {
		if !isSlot(d.ID) {
			out = append(out, d.model())
		}
	}
	return out, nil
}

// objectionDoc is an objection to a nomination in honour_objections.
type objectionDoc struct {
	ID        string    `bson:"_id"`
	Entry     string    `bson:"entry"`
	Community string    `bson:"community"`
	Resident  string    `bson:"resident"`
	Reason    string    `bson:"reason"`
	At        time.Time `bson:"at"`
	Status    string    `bson:"status"`
	RuledBy   string    `bson:"ruled_by,omitempty"`
	RuledAt   time.Time `bson:"ruled_at,omitempty"`
	Ruling    string    `bson:"ruling,omitempty"`
	// Slots are its place on its entry's list of objections
	// (honour_lists.go).
	Slots []slotRef `bson:"slots,omitempty"`
}

// toObjectionDoc converts an objection to its document.
func toObjectionDoc(o models.Objection) objectionDoc {
	return objectionDoc{
		ID:        o.ID,
		Entry:     o.EntryID,
		Community: o.CommunityID,
		Resident:  o.ResidentID,
		Reason:    o.Reason,
		At:        o.At,
		Status:    string(o.Status),
		RuledBy:   o.RuledBy,
		RuledAt:   o.RuledAt,
		Ruling:    o.Ruling,
	}
}

// model returns the stored objection, its times in UTC.
func (d objectionDoc) model() models.Objection {
	return models.Objection{
		ID:          d.ID,
		EntryID:     d.Entry,
		CommunityID: d.Community,
		ResidentID:  d.Resident,
		Reason:      d.Reason,
		At:          utc(d.At),
		Status:      models.ObjectionStatus(d.Status),
		RuledBy:     d.RuledBy,
		RuledAt:     utc(d.RuledAt),
		Ruling:      d.Ruling,
	}
}

// InsertObjection adds o, after its slot on its entry's list of
// objections (honour_lists.go); models.ErrConflict if its id exists.
func (s *Store) InsertObjection(ctx context.Context, o models.Objection) error {
	_, err := s.insertListed(ctx, colObjections, []string{objectionList(o.EntryID)}, o.ID, o.At, func(slots []slotRef) any {
		d := toObjectionDoc(o)
		d.Slots = slots
		return d
	})
	return err
}

// Objection returns the objection with id, or models.ErrNotFound.
func (s *Store) Objection(ctx context.Context, id string) (models.Objection, error) {
	var d objectionDoc
	if err := s.findByID(ctx, colObjections, id, &d); err != nil {
		return models.Objection{}, err
	}
	return d.model(), nil
}

// SaveObjection rewrites the objection's cached ruling (its ruling fields
// only: the objection and its list slot stay as inserted).
func (s *Store) SaveObjection(ctx context.Context, o models.Objection) error {
	return s.setByID(ctx, colObjections, o.ID, bson.D{
		{Key: "status", Value: string(o.Status)},
		{Key: "ruled_by", Value: o.RuledBy},
		{Key: "ruled_at", Value: o.RuledAt},
		{Key: "ruling", Value: o.Ruling},
	})
}

// honourEventDoc is a once-only state change of the honour roll in honour_events, inserted
// once under its id.
type honourEventDoc struct {
	ID        string    `bson:"_id"`
	Community string    `bson:"community"`
	Subject   string    `bson:"subject"`
	Kind      string    `bson:"kind"`
	By        string    `bson:"by,omitempty"`
	Reason    string    `bson:"reason,omitempty"`
	Month     string    `bson:"month,omitempty"`
	At        time.Time `bson:"at"`
	Slots     []slotRef `bson:"slots,omitempty"` // on its lists (honourEventLists)
}

// InsertHonourEvent records a once-only state change; models.ErrConflict if
// it was recorded before. A duty's confirmation and a month's claim of a
// duty go after their slots on the allowance run's lists
// (honourEventLists), in one ordered insert (lists.go); a repeat's slot
// then names nothing and is skipped.
func (s *Store) InsertHonourEvent(ctx context.Context, e models.HonourEvent) error {
	doc := honourEventDoc{
		ID:        e.ID,
		Community: e.CommunityID,
		Subject:   e.Subject,
		Kind:      e.Kind,
		By:        e.By,
		Reason:    e.Reason,
		Month:     e.Month,
		At:        e.At,
	}
	lists := honourEventLists(e)
	if len(lists) == 0 {
		return s.insert(ctx, colHonourEvents, doc)
	}
	_, err := s.insertListed(ctx, colHonourEvents, lists, e.ID, e.At, func(slots []slotRef) any {
		doc.Slots = slots
		return doc
	})
	return err
}

// HonourEvent returns the event with id, or models.ErrNotFound.
func (s *Store) HonourEvent(ctx context.Context, id string) (models.HonourEvent, error) {
	var d honourEventDoc
	if err := s.findByID(ctx, colHonourEvents, id, &d); err != nil {
		return models.HonourEvent{}, err
	}
	return models.HonourEvent{
		ID:          d.ID,
		CommunityID: d.Community,
		Subject:     d.Subject,
		Kind:        d.Kind,
		By:          d.By,
		Reason:      d.Reason,
		Month:       d.Month,
		At:          utc(d.At),
	}, nil
}

// honourCurrentDoc is a resident's or household's current listing in honour_current, read
// by exact _id on the hot path.
type honourCurrentDoc struct {
	ID        string    `bson:"_id"`
	Community string    `bson:"community"`
	Entry     string    `bson:"entry"`
	ListedAt  time.Time `bson:"listed_at"`
	ExpiresAt time.Time `bson:"expires_at"`
	EndedAt   time.Time `bson:"ended_at,omitempty"`
}

// HonourCurrent returns the current listing of key ("r:"+resident or
// "h:"+household), or models.ErrNotFound. An exact _id read: hot path.
func (s *Store) HonourCurrent(ctx context.Context, key string) (models.HonourCurrent, error) {
	var d honourCurrentDoc
	if err := s.findByID(ctx, colHonourCurrent, key, &d); err != nil {
		return models.HonourCurrent{}, err
	}
	return models.HonourCurrent{
		Key:         d.ID,
		CommunityID: d.Community,
		EntryID:     d.Entry,
		ListedAt:    utc(d.ListedAt),
		ExpiresAt:   utc(d.ExpiresAt),
		EndedAt:     utc(d.EndedAt),
	}, nil
}

// SaveHonourCurrent writes c whole.
func (s *Store) SaveHonourCurrent(ctx context.Context, c models.HonourCurrent) error {
	return s.replaceByID(ctx, colHonourCurrent, c.Key, honourCurrentDoc{c.Key, c.CommunityID, c.EntryID, c.ListedAt, c.ExpiresAt, c.EndedAt}, true)
}

// --- heads ---

// headTermDoc is a term of a building head or other 三长 in head_terms, and an item of a
// resident's head_current document.
type headTermDoc struct {
	ID          string    `bson:"_id"`
	Community   string    `bson:"community"`
	Seat        string    `bson:"seat"`
	N           int       `bson:"n"`
	Role        string    `bson:"role"`
	Building    string    `bson:"building,omitempty"`
	Resident    string    `bson:"resident"`
	Start       time.Time `bson:"start"`
	End         time.Time `bson:"end,omitempty"`
	EndKind     string    `bson:"end_kind,omitempty"`
	EndReason   string    `bson:"end_reason,omitempty"`
	AppointedBy string    `bson:"appointed_by"`
	// Slots put it on its community's and its seat's lists
	// (headTermLists); never set on the copies in head_current.
	Slots []slotRef `bson:"slots,omitempty"`
}

// toHeadTermDoc converts a head's term to its document.
func toHeadTermDoc(t models.HeadTerm) headTermDoc {
	return headTermDoc{
		ID:          t.ID,
		Community:   t.CommunityID,
		Seat:        t.Seat,
		N:           t.N,
		Role:        string(t.Role),
		Building:    t.BuildingID,
		Resident:    t.ResidentID,
		Start:       t.Start,
		End:         t.End,
		EndKind:     t.EndKind,
		EndReason:   t.EndReason,
		AppointedBy: t.AppointedBy,
	}
}

// model returns the stored term, its times in UTC.
func (d headTermDoc) model() models.HeadTerm {
	return models.HeadTerm{
		ID:          d.ID,
		CommunityID: d.Community,
		Seat:        d.Seat,
		N:           d.N,
		Role:        models.HeadRole(d.Role),
		BuildingID:  d.Building,
		ResidentID:  d.Resident,
		Start:       utc(d.Start),
		End:         utc(d.End),
		EndKind:     d.EndKind,
		EndReason:   d.EndReason,
		AppointedBy: d.AppointedBy,
	}
}

// InsertHeadTerm adds t after its slots on its community's and its
// seat's lists (headTermLists), in one ordered insert (lists.go);
// models.ErrConflict if its id (seat and number) exists (the new slots
// then name nothing and are skipped).
func (s *Store) InsertHeadTerm(ctx context.Context, t models.HeadTerm) error {
	_, err := s.insertListed(ctx, colHeadTerms, headTermLists(t.CommunityID, t.Seat), t.ID, t.Start, func(slots []slotRef) any {
		d := toHeadTermDoc(t)
		d.Slots = slots
		return d
	})
	return err
}

// HeadTerm returns the term with id, or models.ErrNotFound.
func (s *Store) HeadTerm(ctx context.Context, id string) (models.HeadTerm, error) {
	var d headTermDoc
	if err := s.findByID(ctx, colHeadTerms, id, &d); err != nil {
		return models.HeadTerm{}, err
	}
	return d.model(), nil
}

// SaveHeadTerm rewrites the term's cached end, leaving its slots as
// inserted (setFieldsByID).
func (s *Store) SaveHeadTerm(ctx context.Context, t models.HeadTerm) error {
	return s.setFieldsByID(ctx, colHeadTerms, t.ID, toHeadTermDoc(t))
}

// HeadTerms lists every term of a community, only those of seat when it
// is not "", by id. It reads the community's or the seat's list
// (headTermLists), so it costs those terms, not the collection; with no
// community it lists nothing.
func (s *Store) HeadTerms(ctx context.Context, communityID, seat string) ([]models.HeadTerm, error) {
	if communityID == "" {
		return []models.HeadTerm{}, nil
	}
	lists := headTermLists(communityID, seat)
	list := lists[0]
	if seat != "" {
		list = lists[1]
	}
	out, err := listedRead[headTermDoc, models.HeadTerm]{
		col:     colHeadTerms,
		list:    list,
		slotsOf: func(d *headTermDoc) []slotRef { return d.Slots },
		keep:    func(d *headTermDoc) bool { return d.Community == communityID && (seat == "" || d.Seat == seat) },
		model:   (*headTermDoc).model,
	}.all(ctx, s)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b models.HeadTerm) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// headCurrentDoc is the terms one resident has held, in head_current under the resident's
// id.
type headCurrentDoc struct {
	ID    string        `bson:"_id"`
	Terms []headTermDoc `bson:"terms"`
}

// HeadCurrent returns the terms a resident has held (a small array kept
// per resident for _id reads); none if there is no document.
func (s *Store) HeadCurrent(ctx context.Context, residentID string) ([]models.HeadTerm, error) {
	var d headCurrentDoc
	err := s.findByID(ctx, colHeadCurrent, residentID, &d)
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	out := make([]models.HeadTerm, len(d.Terms))
	for i, t := range d.Terms {
		out[i] = t.model()
	}
	return out, nil
}

// SaveHeadCurrent writes the resident's terms whole.
func (s *Store) SaveHeadCurrent(ctx context.Context, residentID string, terms []models.HeadTerm) error {
	d := headCurrentDoc{ID: residentID, Terms: make([]headTermDoc, len(terms))}
	for i, t := range terms {
		d.Terms[i] = toHeadTermDoc(t)
	}
	return s.replaceByID(ctx, colHeadCurrent, residentID, d, true)
}

// dutyDoc is a monthly duty a head logged, in head_duties.
type dutyDoc struct {
	ID        string    `bson:"_id"`
	Community string    `bson:"community"`
	Term      string    `bson:"term"`
	Resident  string    `bson:"resident"`
	Month     string    `bson:"month"`
	Duty      string    `bson:"duty"`
	Evidence  string    `bson:"evidence"`
	PhotoURL  string    `bson:"photo_url,omitempty"`
	Status    string    `bson:"status"`
	Logged    time.Time `bson:"logged"`
	RuledBy   string    `bson:"ruled_by,omitempty"`
	RuledAt   time.Time `bson:"ruled_at,omitempty"`
	Note      string    `bson:"note,omitempty"`
	// Slots put it on its community's, its term's, its month's and its
	// head's lists (dutyLists).
	Slots []slotRef `bson:"slots,omitempty"`
}

// toDutyDoc converts a logged duty to its document, without its slots.
func toDutyDoc(d models.Duty) dutyDoc {
	return dutyDoc{
		ID:        d.ID,
		Community: d.CommunityID,
		Term:      d.TermID,
		Resident:  d.ResidentID,
		Month:     d.Month,
		Duty:      d.Duty,
		Evidence:  d.Evidence,
		PhotoURL:  d.PhotoURL,
		Status:    string(d.Status),
		Logged:    d.Logged,
		RuledBy:   d.RuledBy,
		RuledAt:   d.RuledAt,
		Note:      d.Note,
	}
}

// model returns the stored duty, its times in UTC.
func (d dutyDoc) model() models.Duty {
	return models.Duty{
		ID:          d.ID,
		CommunityID: d.Community,
		TermID:      d.Term,
		ResidentID:  d.Resident,
		Month:       d.Month,
		Duty:        d.Duty,
		Evidence:    d.Evidence,
		PhotoURL:    d.PhotoURL,
		Status:      models.DutyStatus(d.Status),
		Logged:      utc(d.Logged),
		RuledBy:     d.RuledBy,
		RuledAt:     utc(d.RuledAt),
		Note:        d.Note,
	}
}

// InsertDuty adds d after its slots on its community's, its term's, its
// month's and its head's lists (dutyLists), in one ordered insert
// (lists.go); models.ErrConflict if that duty of that term and month
// exists (the new slots then name nothing and are skipped).
func (s *Store) InsertDuty(ctx context.Context, d models.Duty) error {
	lists := dutyLists(d.CommunityID, d.TermID, d.Month, d.ResidentID)
	_, err := s.insertListed(ctx, colDuties, lists, d.ID, d.Logged, func(slots []slotRef) any {
		doc := toDutyDoc(d)
		doc.Slots = slots
		return doc
	})
	return err
}

// Duty returns the duty with id, or models.ErrNotFound.
func (s *Store) Duty(ctx context.Context, id string) (models.Duty, error) {
	var d dutyDoc
	if err := s.findByID(ctx, colDuties, id, &d); err != nil {
		return models.Duty{}, err
	}
	return d.model(), nil
}

// SaveDuty rewrites a duty, leaving its slots as inserted
// (setFieldsByID): its term and month, and so its lists, never change.
func (s *Store) SaveDuty(ctx context.Context, d models.Duty) error {
	return s.setFieldsByID(ctx, colDuties, d.ID, toDutyDoc(d))
}

// Duties lists every duty of a community, narrowed by term and month
// when they are not "", by id. It reads the narrowest list the filter
// names (dutyLists): the term's, else the month's, else the community's,
// so it costs those duties, not the collection.
func (s *Store) Duties(ctx context.Context, communityID, termID, month string) ([]models.Duty, error) {
	lists := dutyLists(communityID, termID, month, "")
	list := lists[0]
	switch {
	case termID != "":
		list = lists[1]
	case month != "":
		list = lists[2]
	}
	return s.listedDuties(ctx, list, func(d *dutyDoc) bool {
		return d.Community == communityID && (termID == "" || d.Term == termID) && (month == "" || d.Month == month)
	})
}

// ResidentDuties lists every duty residentID logged as a head of
// communityID, only those of month when it is not "", by id. It reads the
// head's list (dutyLists), so it costs the head's duties.
func (s *Store) ResidentDuties(ctx context.Context, communityID, residentID, month string) ([]models.Duty, error) {
	return s.listedDuties(ctx, dutyLists(communityID, "", month, residentID)[3], func(d *dutyDoc) bool {
		return d.Community == communityID && d.Resident == residentID && (month == "" || d.Month == month)
	})
}

// listedDuties is every duty on list that keep accepts, by id.
func (s *Store) listedDuties(ctx context.Context, list string, keep func(*dutyDoc) bool) ([]models.Duty, error) {
	out, err := listedRead[dutyDoc, models.Duty]{
		col:     colDuties,
		list:    list,
		slotsOf: func(d *dutyDoc) []slotRef { return d.Slots },
		keep:    keep,
		model:   (*dutyDoc).model,
	}.all(ctx, s)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b models.Duty) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// --- star households ---

// starDoc is a household's star level for a year in star_levels, inserted
// once per household and year; a lowering rewrites its cached level.
type starDoc struct {
	ID            string    `bson:"_id"`
	Community     string    `bson:"community"`
	Household     string    `bson:"household"`
	Year          int       `bson:"year"`
	Computed      int       `bson:"computed"`
	Level         int       `bson:"level"`
	Points        int64     `bson:"points"`
	Listed        bool      `bson:"listed"`
	Why           string    `bson:"why"`
	LoweredBy     string    `bson:"lowered_by,omitempty"`
	LoweredReason string    `bson:"lowered_reason,omitempty"`
	Recorded      time.Time `bson:"recorded"`
}

// toStarDoc converts a star record to its document.
func toStarDoc(r models.StarRecord) starDoc {
	return starDoc{r.ID, r.CommunityID, r.HouseholdID, r.Year, r.Computed, r.Level, int64(r.Points), r.Listed, r.Why, r.LoweredBy, r.LoweredReason, r.Recorded}
}

// model returns the stored star record, its time in UTC.
func (d starDoc) model() models.StarRecord {
	return models.StarRecord{
		ID:            d.ID,
		CommunityID:   d.Community,
		HouseholdID:   d.Household,
		Year:          d.Year,
		Computed:      d.Computed,
		Level:         d.Level,
		Points:        models.Points(d.Points),
		Listed:        d.Listed,
		Why:           d.Why,
		LoweredBy:     d.LoweredBy,
		LoweredReason: d.LoweredReason,
		Recorded:      utc(d.Recorded),
	}
}

// InsertStarRecord adds r; models.ErrConflict if the household's year is recorded.
func (s *Store) InsertStarRecord(ctx context.Context, r models.StarRecord) error {
	return s.insert(ctx, colStarLevels, toStarDoc(r))
}

// StarRecord returns the record with id (household:year), or models.ErrNotFound.
func (s *Store) StarRecord(ctx context.Context, id string) (models.StarRecord, error) {
	var d starDoc
	if err := s.findByID(ctx, colStarLevels, id, &d); err != nil {
		return models.StarRecord{}, err
	}
	return d.model(), nil
}

// SaveStarRecord rewrites a record's cached level after a lowering.
func (s *Store) SaveStarRecord(ctx context.Context, r models.StarRecord) error {
	return s.replaceByID(ctx, colStarLevels, r.ID, toStarDoc(r), false)
}

// EachCommunityEntry calls fn for every ledger entry of a community with
// from <= at < to, streaming with a cursor (jobs and rankings only: it
// scans on the embedded store).
func (s *Store) EachCommunityEntry(ctx context.Context, communityID string, from, to time.Time, fn func(models.Entry) error) error {
	filter := bson.D{{Key: "community", Value: communityID},
		{Key: "at", Value: bson.D{{Key: "$gte", Value: from}, {Key: "$lt", Value: to}}}}
	cur, err := s.c(colEntries).Find(ctx, filter)
	return eachDoc(ctx, cur, err, "scan entries", func(d entryDoc) error { return fn(d.model()) })
}
