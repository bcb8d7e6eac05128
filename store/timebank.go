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
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"golang.org/x/sync/errgroup"
)

// --- activities ---

// activityDoc is a volunteer activity in tb_activities.
type activityDoc struct {
	ID           string    `bson:"_id"`
	Community    string    `bson:"community"`
	Title        string    `bson:"title"`
	Category     string    `bson:"category"`
	Place        string    `bson:"place"`
	Organisation string    `bson:"organisation"`
	Start        time.Time `bson:"start"`
	End          time.Time `bson:"end"`
	Capacity     int       `bson:"capacity"`
	MaxMinutes   int64     `bson:"max_minutes"`
	SelfCheckin  bool      `bson:"self_checkin"`
	CreatedBy    string    `bson:"created_by"`
	Created      time.Time `bson:"created"`
	// Slots put it on the list of each day it runs on (`act:`).
	Slots []slotRef `bson:"slots,omitempty"`
}

// model returns the stored activity, its times in UTC.
func (d activityDoc) model() models.Activity {
	return models.Activity{
		ID:           d.ID,
		CommunityID:  d.Community,
		Title:        d.Title,
		Category:     d.Category,
		Place:        d.Place,
		Organisation: d.Organisation,
		Start:        d.Start.UTC(),
		End:          d.End.UTC(),
		Capacity:     d.Capacity,
		MaxMinutes:   models.Minutes(d.MaxMinutes),
		SelfCheckin:  d.SelfCheckin,
		CreatedBy:    d.CreatedBy,
		Created:      d.Created.UTC(),
	}
}

// InsertActivity adds a, after one slot on each of its community's lists
// of the days it runs on (days, 2006-01-02 in the community's zone), in
// one ordered insert (lists.go); models.ErrConflict if its id exists.
func (s *Store) InsertActivity(ctx context.Context, a models.Activity, days []string) error {
	lists := make([]string, len(days))
	for i, day := range days {
		lists[i] = activityDayList(a.CommunityID, day)
	}
	_, err := s.insertListed(ctx, colActivities, lists, a.ID, a.Created, func(slots []slotRef) any {
		return activityDoc{
			ID:           a.ID,
			Community:    a.CommunityID,
			Title:        a.Title,
			Category:     a.Category,
			Place:        a.Place,
			Organisation: a.Organisation,
			Start:        a.Start,
			End:          a.End,
			Capacity:     a.Capacity,
			MaxMinutes:   int64(a.MaxMinutes),
			SelfCheckin:  a.SelfCheckin,
			CreatedBy:    a.CreatedBy,
			Created:      a.Created,
			Slots:        slots,
		}
	})
	return err
}

// activityDayList is the list of a community's activities that run on day
// (2006-01-02, the community's zone).
func activityDayList(communityID, day string) string { return "act:" + communityID + ":" + day }

// Activity returns the activity with id, or models.ErrNotFound.
func (s *Store) Activity(ctx context.Context, id string) (models.Activity, error) {
	var d activityDoc
	if err := s.findByID(ctx, colActivities, id, &d); err != nil {
		return models.Activity{}, err
	}
	return d.model(), nil
}

// ActivitiesOn is one page of a community's activities that run on day
// (2006-01-02, the community's zone), the latest published first: the
// activities on at most limit slots of the day's list below cursor (""
// for the first page), and the next page's cursor ("" at the end). A
// cursor is "<day>.<slot>" (slotCursor), so one given out for another
// day, or never given out, is models.ErrBadCursor.
func (s *Store) ActivitiesOn(ctx context.Context, communityID, day, cursor string, limit int) ([]models.Activity, string, error) {
	compact := strings.ReplaceAll(day, "-", "")
	var at slotCursor
	if cursor != "" {
		var err error
		at, err = parseCursor(cursor, true)
		if err == nil && (at.day != compact || at.before < 2) {
			err = badCursor(cursor)
		}
		if err != nil {
			return nil, "", err
		}
	}
	at.day = compact // the next page's cursor names the day
	return listedRead[activityDoc, models.Activity]{
		col:     colActivities,
		list:    activityDayList(communityID, day),
		slotsOf: func(d *activityDoc) []slotRef { return d.Slots },
		keep:    func(d *activityDoc) bool { return d.Community == communityID },
		model:   (*activityDoc).model,
	}.page(ctx, s, at, limit)
}

// listActivitiesStoredBefore puts the activities stored before the day
// lists existed on the lists of their days, once (listStoredBefore), each
// day in its community's zone.
func (s *Store) listActivitiesStoredBefore(ctx context.Context) error {
	zones := map[string]*time.Location{}
	return s.listStoredBefore(ctx, "activity-lists", colActivities, nil, func(d bson.M) ([]string, time.Time) {
		community, _ := d["community"].(string)
		start, okStart := d["start"].(bson.DateTime)
		end, okEnd := d["end"].(bson.DateTime)
		created, _ := d["created"].(bson.DateTime)
		if community == "" || !okStart || !okEnd {
			return nil, time.Time{}
		}
		loc, ok := zones[community]
		if !ok {
			c, err := s.Community(ctx, community)
			if err != nil {
				return nil, time.Time{} // left unlisted; a community that is gone lists nothing
			}
			loc = c.Location()
			zones[community] = loc
		}
		lists := []string{}
		for _, day := range (models.Activity{Start: start.Time(), End: end.Time()}).Days(loc) {
			lists = append(lists, activityDayList(community, day))
		}
		return lists, created.Time().UTC()
	})
}

// --- sign-ups ---

// signupDoc is a resident's sign-up for an activity in tb_signups under
// activity:resident:generation, naming the capacity slot it holds.
type signupDoc struct {
	ID        string    `bson:"_id"`
	Activity  string    `bson:"activity"`
	Community string    `bson:"community"`
	Resident  string    `bson:"resident"`
	Gen       int       `bson:"gen"`
	Slot      string    `bson:"slot"`
	Cancelled bool      `bson:"cancelled"`
	At        time.Time `bson:"at"`
	// Slots put it on its activity's and its resident's lists (signupLists).
	Slots []slotRef `bson:"slots,omitempty"`
}

// model returns the stored sign-up, its time in UTC.
func (d signupDoc) model() models.Signup {
	return models.Signup{
		ID:          d.ID,
		ActivityID:  d.Activity,
		CommunityID: d.Community,
		ResidentID:  d.Resident,
		Gen:         d.Gen,
		Slot:        d.Slot,
		Cancelled:   d.Cancelled,
		At:          d.At.UTC(),
	}
}

// InsertSignup adds su after its slots on its activity's and its
// resident's lists of sign-ups (signupLists), in one ordered insert
// (lists.go); models.ErrConflict if its id exists (the new slots then
// name nothing and are skipped).
func (s *Store) InsertSignup(ctx context.Context, su models.Signup) error {
	_, err := s.insertListed(ctx, colSignups, signupLists(su.ActivityID, su.ResidentID), su.ID, su.At, func(slots []slotRef) any {
		return signupDoc{
			ID:        su.ID,
			Activity:  su.ActivityID,
			Community: su.CommunityID,
			Resident:  su.ResidentID,
			Gen:       su.Gen,
			Slot:      su.Slot,
			Cancelled: su.Cancelled,
			At:        su.At,
			Slots:     slots,
		}
	})
	return err
}

// Signup returns the sign-up with id, or models.ErrNotFound.
func (s *Store) Signup(ctx context.Context, id string) (models.Signup, error) {
	var d signupDoc
	if err := s.findByID(ctx, colSignups, id, &d); err != nil {
		return models.Signup{}, err
	}
	return d.model(), nil
}

// SetSignupState caches the slot and cancellation of a sign-up.
func (s *Store) SetSignupState(ctx context.Context, id, slot string, cancelled bool) error {
	return s.setByID(ctx, colSignups, id, bson.D{{Key: "slot", Value: slot}, {Key: "cancelled", Value: cancelled}})
}

// Signups lists every sign-up of an activity (activityID set; only the
// resident's too when residentID is set) or of a resident, cancelled or
// not, by id: it reads the activity's or the resident's list
// (signupLists), so it costs that list, not the collection. With neither
// set it lists nothing.
func (s *Store) Signups(ctx context.Context, activityID, residentID string) ([]models.Signup, error) {
	if activityID == "" && residentID == "" {
		return []models.Signup{}, nil
	}
	lists := signupLists(activityID, residentID)
	list := lists[1]
	if activityID != "" {
		list = lists[0]
	}
	out, err := listedRead[signupDoc, models.Signup]{
		col:     colSignups,
		list:    list,
		slotsOf: func(d *signupDoc) []slotRef { return d.Slots },
		keep: func(d *signupDoc) bool {
			return (activityID == "" || d.Activity == activityID) && (residentID == "" || d.Resident == residentID)
		},
		model: (*signupDoc).model,
	}.all(ctx, s)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b models.Signup) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// signupLists are the lists a sign-up is on: its activity's (`tbsa:`,
// the organiser's list) and its resident's (`tbsr:`, "my activities").
func signupLists(activityID, residentID string) []string {
	return []string{"tbsa:" + activityID, "tbsr:" + residentID}
}

// --- marks ---

// markDoc is a once-only time-bank step in tb_keys (a slot, a check-in, a decision, an aid
// step), inserted once under its key.
type markDoc struct {
	ID        string    `bson:"_id"`
	Kind      string    `bson:"kind"`
	Community string    `bson:"community,omitempty"`
	Ref       string    `bson:"ref,omitempty"`
	Resident  string    `bson:"resident,omitempty"`
	Actor     string    `bson:"actor,omitempty"`
	Reason    string    `bson:"reason,omitempty"`
	Amount    int64     `bson:"amount"`
	Flag      bool      `bson:"flag"`
	At        time.Time `bson:"at"`
	// Slots put a check-in on its activity's list (checkinList).
	Slots []slotRef `bson:"slots,omitempty"`
}

// toMarkDoc converts a mark to its document, without slots.
func toMarkDoc(m models.Mark) markDoc {
	return markDoc{
		ID:        m.ID,
		Kind:      m.Kind,
		Community: m.CommunityID,
		Ref:       m.Ref,
		Resident:  m.ResidentID,
		Actor:     m.Actor,
		Reason:    m.Reason,
		Amount:    m.Amount,
		Flag:      m.Flag,
		At:        m.At,
	}
}

// model returns the stored mark, its time in UTC.
func (d markDoc) model() models.Mark {
	return models.Mark{
		ID:          d.ID,
		Kind:        d.Kind,
		CommunityID: d.Community,
		Ref:         d.Ref,
		ResidentID:  d.Resident,
		Actor:       d.Actor,
		Reason:      d.Reason,
		Amount:      d.Amount,
		Flag:        d.Flag,
		At:          d.At.UTC(),
	}
}

// InsertMark adds m; models.ErrConflict if a mark with its id exists. A
// check-in goes on its activity's list of check-ins
// (insertCheckinMark).
func (s *Store) InsertMark(ctx context.Context, m models.Mark) error {
	if m.Kind == checkinKind && m.Ref != "" {
		return s.insertCheckinMark(ctx, toMarkDoc(m))
	}
	return s.insert(ctx, colTBKeys, toMarkDoc(m))
}

// Mark returns the mark with id, or models.ErrNotFound.
func (s *Store) Mark(ctx context.Context, id string) (models.Mark, error) {
	var d markDoc
	if err := s.findByID(ctx, colTBKeys, id, &d); err != nil {
		return models.Mark{}, err
	}
	return d.model(), nil
}

// DeleteMark removes a mark written by a step that was then refused; nil
// if it is gone already.
func (s *Store) DeleteMark(ctx context.Context, id string) error {
	return s.deleteByID(ctx, colTBKeys, id)
}

// SetFlag sets (or clears) a resident setting kept as a mark, such as the
// needy flag staff give elderly residents; unlike a once-only mark it may
// change.
func (s *Store) SetFlag(ctx context.Context, m models.Mark) error {
	doc := markDoc{
		ID:        m.ID,
		Kind:      m.Kind,
		Community: m.CommunityID,
		Ref:       m.Ref,
		Resident:  m.ResidentID,
		Actor:     m.Actor,
		Reason:    m.Reason,
		Amount:    m.Amount,
		Flag:      m.Flag,
		At:        m.At,
	}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		// Two upserts of a missing document race to insert it; the loser
		// (a duplicate key, or on the embedded store a code-1 "UNIQUE
		// constraint failed") finds it there on the next try and replaces it.
		err = s.write(ctx, func() error {
			_, err := s.c(colTBKeys).ReplaceOne(ctx, byID(m.ID), doc, options.Replace().SetUpsert(true))
			return err
		})
		if err == nil || ctx.Err() != nil {
			return mapErr("set flag", err)
		}
	}
	return err
}

// --- service records ---

// recordDoc is a service record in tb_records; its state is a cache of the decisions in
// tb_keys, and it names its slots on its lists.
type recordDoc struct {
	ID            string    `bson:"_id"`
	Community     string    `bson:"community"`
	Resident      string    `bson:"resident"`
	Activity      string    `bson:"activity,omitempty"`
	Category      string    `bson:"category"`
	Organisation  string    `bson:"organisation"`
	Description   string    `bson:"description,omitempty"`
	Start         time.Time `bson:"start"`
	End           time.Time `bson:"end"`
	Minutes       int64     `bson:"minutes"`
	Source        string    `bson:"source"`
	Created       time.Time `bson:"created"`
	State         string    `bson:"state"`
	Credited      int64     `bson:"credited"`
	Points        int64     `bson:"points"`
	PolicyVersion int       `bson:"policy_version"`
	DecidedBy     string    `bson:"decided_by,omitempty"`
	DecidedAt     time.Time `bson:"decided_at,omitempty"`
	Reason        string    `bson:"reason,omitempty"`
	Slots         []slotRef `bson:"slots,omitempty"` // its place on its resident's list
}

// toRecordDoc converts a service record to its document, without its slots.
func toRecordDoc(r models.ServiceRecord) recordDoc {
	return recordDoc{
		ID:            r.ID,
		Community:     r.CommunityID,
		Resident:      r.ResidentID,
		Activity:      r.ActivityID,
		Category:      r.Category,
		Organisation:  r.Organisation,
		Description:   r.Description,
		Start:         r.Start,
		End:           r.End,
		Minutes:       int64(r.Minutes),
		Source:        string(r.Source),
		Created:       r.Created,
		State:         string(r.State),
		Credited:      int64(r.Credited),
		Points:        int64(r.Points),
		PolicyVersion: r.PolicyVersion,
		DecidedBy:     r.DecidedBy,
		DecidedAt:     r.DecidedAt,
		Reason:        r.Reason,
	}
}

// model returns the stored service record, its times in UTC.
func (d recordDoc) model() models.ServiceRecord {
	r := models.ServiceRecord{
		ID:            d.ID,
		CommunityID:   d.Community,
		ResidentID:    d.Resident,
		ActivityID:    d.Activity,
		Category:      d.Category,
		Organisation:  d.Organisation,
		Description:   d.Description,
		Start:         d.Start.UTC(),
		End:           d.End.UTC(),
		Minutes:       models.Minutes(d.Minutes),
		Source:        models.RecordSource(d.Source),
		Created:       d.Created.UTC(),
		State:         models.RecordState(d.State),
		Credited:      models.Minutes(d.Credited),
		Points:        models.Points(d.Points),
		PolicyVersion: d.PolicyVersion,
		DecidedBy:     d.DecidedBy,
		Reason:        d.Reason,
	}
	if !d.DecidedAt.IsZero() {
		r.DecidedAt = d.DecidedAt.UTC()
	}
	return r
}

// InsertRecord adds r after its slots on its lists (recordLists,
// lists.go); models.ErrConflict if its id exists. A void record takes no
// slot.
func (s *Store) InsertRecord(ctx context.Context, r models.ServiceRecord) error {
	if r.State == models.RecordVoid || r.ResidentID == "" {
		return s.insert(ctx, colRecords, toRecordDoc(r))
	}
	_, err := s.insertListed(ctx, colRecords, recordLists(r), r.ID, r.Created, func(slots []slotRef) any {
		d := toRecordDoc(r)
		d.Slots = slots
		return d
	})
	return err
}

// ResidentRecords is one page of residentID's service records, the latest
// stored first: at most limit slots read below cursor ("" for the first
// page), and the cursor of the next page ("" at the end). Void records are
// not shown.
func (s *Store) ResidentRecords(ctx context.Context, residentID, cursor string, limit int) ([]models.ServiceRecord, string, error) {
	return listedRead[recordDoc, models.ServiceRecord]{
		col:     colRecords,
		list:    "sr:" + residentID,
		slotsOf: func(d *recordDoc) []slotRef { return d.Slots },
		keep:    func(d *recordDoc) bool { return d.State != string(models.RecordVoid) },
		model:   (*recordDoc).model,
	}.pageAfter(ctx, s, cursor, limit)
}

// Record returns the service record with id, or models.ErrNotFound.
func (s *Store) Record(ctx context.Context, id string) (models.ServiceRecord, error) {
	var d recordDoc
	if err := s.findByID(ctx, colRecords, id, &d); err != nil {
		return models.ServiceRecord{}, err
	}
	return d.model(), nil
}

// SaveRecordState caches a record's decision fields.
func (s *Store) SaveRecordState(ctx context.Context, r models.ServiceRecord) error {
	return s.setByID(ctx, colRecords, r.ID, bson.D{
		{Key: "state", Value: string(r.State)}, {Key: "credited", Value: int64(r.Credited)},
		{Key: "points", Value: int64(r.Points)}, {Key: "policy_version", Value: r.PolicyVersion},
		{Key: "decided_by", Value: r.DecidedBy}, {Key: "decided_at", Value: r.DecidedAt}, {Key: "reason", Value: r.Reason},
	})
}

// EachRecord streams the records matching f with a cursor, in _id order.
func (s *Store) EachRecord(ctx context.Context, f models.RecordFilter, fn func(models.ServiceRecord) error) error {
	filter := bson.D{}
	if f.CommunityID != "" {
		filter = append(filter, bson.E{Key: "community", Value: f.CommunityID})
	}
	if f.ResidentID != "" {
		filter = append(filter, bson.E{Key: "resident", Value: f.ResidentID})
	}
	if f.State != "" {
		filter = append(filter, bson.E{Key: "state", Value: string(f.State)})
	}
	if !f.From.IsZero() || !f.To.IsZero() {
		rng := bson.D{}
		if !f.From.IsZero() {
			rng = append(rng, bson.E{Key: "$gte", Value: f.From})
		}
		if !f.To.IsZero() {
			rng = append(rng, bson.E{Key: "$lt", Value: f.To})
		}
		filter = append(filter, bson.E{Key: "start", Value: rng})
	}
	cur, err := s.c(colRecords).Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	return eachDoc(ctx, cur, err, "records", func(d recordDoc) error {
		if isSlot(d.ID) {
			return nil
		}
		return fn(d.model())
	})
}

// --- the queue of records waiting for a decision ---

// queuedRecordDoc is a record waiting for a decision. The queue loses its
// items when they are decided, so it stays small, and it is read without a
// filter, in the order items arrived, stopping once a page is full: the
// embedded store streams that without reading the rest, where a filter on
// the records themselves reads every record ever made.
type queuedRecordDoc struct {
	ID        string    `bson:"_id"` // the record's
	Community string    `bson:"community"`
	Created   time.Time `bson:"created"`
	Slots     []slotRef `bson:"slots,omitempty"` // its place on its community's queue list
}

// QueueRecord puts r in the queue of records waiting for a decision, after
// its slot on its community's queue list (lists.go); nil if it is there
// already (the new slot names nothing and is skipped).
func (s *Store) QueueRecord(ctx context.Context, r models.ServiceRecord) error {
	_, err := s.insertListed(ctx, colRecordQueue, []string{queueList(r.CommunityID)}, r.ID, r.Created, func(slots []slotRef) any {
		return queuedRecordDoc{
			ID:        r.ID,
			Community: r.CommunityID,
			Created:   r.Created,
			Slots:     slots,
		}
	})
	if errors.Is(err, models.ErrConflict) {
		return nil
	}
	return err
}

// queueList is the name of a community's list of records waiting for a decision.
func queueList(communityID string) string { return "pq:" + communityID }

// QueuedRecords is one page of a community's queue of records waiting for
// a decision, oldest first: the items on up to limit slots from cursor
// ("" for the first page) upwards, and the cursor of the next page (""
// once the head is reached). Slots of decided items (their item deleted)
// are skipped. The first page saves where the queue starts: below the
// first slot that has its item or is younger than settled (its item may
// still be on its way on MongoDB, where slot and item are two writes), so
// the first page costs what is waiting, not what was ever queued.
func (s *Store) QueuedRecords(ctx context.Context, communityID, cursor string, limit int, settled time.Time) ([]models.QueuedRecord, string, error) {
	list := queueList(communityID)
	head, err := s.listHead(ctx, colRecordQueue, list)
	if err != nil {
		return nil, "", err
	}
	var start listHeadDoc
	if err := s.findByID(ctx, colListHeads, "start:"+list, &start); err != nil && !errors.Is(err, models.ErrNotFound) {
		return nil, "", err
	}
	from := max(1, start.N)
	if cursor != "" {
		at, err := parseCursor(cursor, false)
		if err != nil {
			return nil, "", err
		}
		if at.before > head+1 {
			return nil, "", badCursor(cursor)
		}
		from = at.before
	}
	var out []models.QueuedRecord
	gone := from // the slots in [from, gone) are decided for good
	n := from
	for n <= head && len(out) < limit {
		upTo := min(head, n+int64(limit)-1)
		run, err := s.slotsBetween(ctx, colRecordQueue, list, head, n, upTo)
		if err != nil {
			return nil, "", err
		}
		refs, ats := run.refs, run.ats
		if i := slices.Index(refs, ""); i >= 0 {
			return nil, "", fmt.Errorf("store: queue %s: slot %d below the head is missing", list, n+int64(i))
		}
		items := make([]*queuedRecordDoc, len(refs))
		old := make([]bool, len(items))
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(8)
		for i, ref := range refs {
			old[i] = ats[i].Before(settled)
			g.Go(func() error {
				sl := slotRef{List: list, N: n + int64(i)}
				var d queuedRecordDoc
				err := s.findByID(gctx, colRecordQueue, ref, &d)
				if errors.Is(err, models.ErrNotFound) {
					return nil // decided and taken off the queue
				}
				if err == nil && named(d.Slots, sl) {
					items[i] = &d
				}
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return nil, "", err
		}
		for i, d := range items {
			if gone == n+int64(i) && d == nil && old[i] {
				gone++
			}
			if d != nil {
				out = append(out, models.QueuedRecord{
					ID:          d.ID,
					CommunityID: d.Community,
					Created:     d.Created.UTC(),
				})
			}
		}
		n = upTo + 1
	}
	if cursor == "" && gone > start.N {
		_ = s.count(s.replaceByID(ctx, colListHeads, "start:"+list, listHeadDoc{ID: "start:" + list, N: gone}, true), "queue start")
	}
	if n > head {
		return out, "", nil
	}
	return out, slotCursor{before: n}.String(), nil
}

// UnqueueRecord takes a decided record out of the queue; nil if gone. Its
// slot stays and is skipped.
func (s *Store) UnqueueRecord(ctx context.Context, id string) error {
	return s.deleteByID(ctx, colRecordQueue, id)
}

// EachQueuedRecord streams the queue, roughly in the order items arrived,
// until fn returns an error (which it returns).
func (s *Store) EachQueuedRecord(ctx context.Context, fn func(q models.QueuedRecord) error) error {
	cur, err := s.c(colRecordQueue).Find(ctx, bson.D{})
	return eachDoc(ctx, cur, err, "record queue", func(d queuedRecordDoc) error {
		if isSlot(d.ID) {
			return nil
		}
		return fn(models.QueuedRecord{
			ID:          d.ID,
			CommunityID: d.Community,
			Created:     d.Created.UTC(),
		})
	})
}

// --- chains ---

// linkDoc is step n of a per-resident chain in tb_links (day index, day quota, points
// carry, gifts), inserted once.
type linkDoc struct {
	ID        string    `bson:"_id"`
	Chain     string    `bson:"chain"`
	N         int64     `bson:"n"`
	Ref       string    `bson:"ref"`
	Amount    int64     `bson:"amount"`
	Total     int64     `bson:"total"`
	Remainder int64     `bson:"remainder"`
	Before    int64     `bson:"before"`
	Start     time.Time `bson:"start"`
	End       time.Time `bson:"end"`
	At        time.Time `bson:"at"`
}

// InsertLink adds step l.N of l.Chain; models.ErrConflict if it exists.
func (s *Store) InsertLink(ctx context.Context, l models.Link) error {
	return s.insert(ctx, colLinks, linkDoc{
		ID:        l.ID(),
		Chain:     l.Chain,
		N:         l.N,
		Ref:       l.Ref,
		Amount:    l.Amount,
		Total:     l.Total,
		Remainder: l.Remainder,
		Before:    l.Before,
		Start:     l.Start,
		End:       l.End,
		At:        l.At,
	})
}

// Link returns step n of chain, or models.ErrNotFound.
func (s *Store) Link(ctx context.Context, chain string, n int64) (models.Link, error) {
	var d linkDoc
	if err := s.findByID(ctx, colLinks, models.LinkID(chain, n), &d); err != nil {
		return models.Link{}, err
	}
	return models.Link{
		Chain:     d.Chain,
		N:         d.N,
		Ref:       d.Ref,
		Amount:    d.Amount,
		Total:     d.Total,
		Remainder: d.Remainder,
		Before:    d.Before,
		Start:     d.Start.UTC(),
		End:       d.End.UTC(),
		At:        d.At.UTC(),
	}, nil
}

// --- corrections ---

// correctionDoc is a correction request on a service record in tb_corrections under
// record:n.
type correctionDoc struct {
	ID       string    `bson:"_id"`
	Record   string    `bson:"record"`
	Resident string    `bson:"resident"`
	N        int       `bson:"n"`
	Minutes  int64     `bson:"minutes"`
	Reason   string    `bson:"reason"`
	At       time.Time `bson:"at"`
	Decided  bool      `bson:"decided"`
	Accepted bool      `bson:"accepted"`
	Answer   string    `bson:"answer,omitempty"`
	Actor    string    `bson:"actor,omitempty"`
	Before   int64     `bson:"before"`
	After    int64     `bson:"after"`
	DecideAt time.Time `bson:"decide_at,omitempty"`
	// Community and Slots put it on its community's list (`corr:`).
	Community string    `bson:"community,omitempty"`
	Slots     []slotRef `bson:"slots,omitempty"`
}

// toCorrectionDoc converts a correction request to its document, without its slots.
func toCorrectionDoc(c models.Correction) correctionDoc {
	return correctionDoc{
		ID:        c.ID,
		Record:    c.RecordID,
		Resident:  c.ResidentID,
		N:         c.N,
		Minutes:   int64(c.Minutes),
		Reason:    c.Reason,
		At:        c.At,
		Decided:   c.Decided,
		Accepted:  c.Accepted,
		Answer:    c.Answer,
		Actor:     c.Actor,
		Before:    int64(c.Before),
		After:     int64(c.After),
		DecideAt:  c.DecideAt,
		Community: c.CommunityID,
	}
}

// InsertCorrection adds c, after its slot on its community's list of
// corrections when it names its community (lists.go); models.ErrConflict
// if its id exists.
func (s *Store) InsertCorrection(ctx context.Context, c models.Correction) error {
	if c.CommunityID == "" {
		return s.insert(ctx, colCorrections, toCorrectionDoc(c))
	}
	_, err := s.insertListed(ctx, colCorrections, []string{correctionList(c.CommunityID)}, c.ID, c.At, func(slots []slotRef) any {
		d := toCorrectionDoc(c)
		d.Slots = slots
		return d
	})
	return err
}

// correctionList is the name of a community's list of correction requests.
func correctionList(communityID string) string { return "corr:" + communityID }

// CommunityCorrections is one page of a community's correction requests,
// the latest first: the corrections on at most limit slots of its list
// below cursor ("" for the first page), and the next page's cursor (""
// at the end).
func (s *Store) CommunityCorrections(ctx context.Context, communityID, cursor string, limit int) ([]models.Correction, string, error) {
	return listedRead[correctionDoc, models.Correction]{
		col:     colCorrections,
		list:    correctionList(communityID),
		slotsOf: func(d *correctionDoc) []slotRef { return d.Slots },
		model:   (*correctionDoc).model,
	}.pageAfter(ctx, s, cursor, limit)
}

// Correction returns the correction with id, or models.ErrNotFound.
func (s *Store) Correction(ctx context.Context, id string) (models.Correction, error) {
	var d correctionDoc
	if err := s.findByID(ctx, colCorrections, id, &d); err != nil {
		return models.Correction{}, err
	}
	return d.model(), nil
}

// model returns the stored correction request, its times in UTC.
func (d correctionDoc) model() models.Correction {
	c := models.Correction{
		ID:          d.ID,
		RecordID:    d.Record,
		ResidentID:  d.Resident,
		N:           d.N,
		Minutes:     models.Minutes(d.Minutes),
		Reason:      d.Reason,
		At:          d.At.UTC(),
		Decided:     d.Decided,
		Accepted:    d.Accepted,
		Answer:      d.Answer,
		Actor:       d.Actor,
		Before:      models.Minutes(d.Before),
		After:       models.Minutes(d.After),
		CommunityID: d.Community,
	}
	if !d.DecideAt.IsZero() {
		c.DecideAt = d.DecideAt.UTC()
	}
	return c
}

// SaveCorrection caches a correction's decision (its decision fields only:
// the request and its list slots stay as inserted).
func (s *Store) SaveCorrection(ctx context.Context, c models.Correction) error {
	return s.setByID(ctx, colCorrections, c.ID, bson.D{
		{Key: "decided", Value: c.Decided}, {Key: "accepted", Value: c.Accepted}, {Key: "answer", Value: c.Answer},
		{Key: "actor", Value: c.Actor}, {Key: "before", Value: int64(c.Before)}, {Key: "after", Value: int64(c.After)},
		{Key: "decide_at", Value: c.DecideAt},
	})
}

// --- mutual aid ---

// aidDoc is a mutual-aid post in tb_mutual_aid; its state is a cache of its steps.
type aidDoc struct {
	ID          string    `bson:"_id"`
	Community   string    `bson:"community"`
	Kind        string    `bson:"kind"`
	Poster      string    `bson:"poster"`
	Requester   string    `bson:"requester"`
	Helper      string    `bson:"helper"`
	Title       string    `bson:"title"`
	Description string    `bson:"description,omitempty"`
	Minutes     int64     `bson:"minutes"`
	When        time.Time `bson:"when"`
	Created     time.Time `bson:"created"`
	State       string    `bson:"state"`
	PaidByFund  bool      `bson:"paid_by_fund"`
	AcceptedAt  time.Time `bson:"accepted_at"`
	DoneAt      time.Time `bson:"done_at"`
	FinalAt     time.Time `bson:"final_at"`
	Note        string    `bson:"note,omitempty"`
	Steps       int       `bson:"steps"`
	Hold        int       `bson:"hold"`
	// Slots put it on its community's list of posts (aidList).
	Slots []slotRef `bson:"slots,omitempty"`
}

// toAidDoc converts a mutual-aid post to its document.
func toAidDoc(a models.MutualAid) aidDoc {
	return aidDoc{
		ID:          a.ID,
		Community:   a.CommunityID,
		Kind:        string(a.Kind),
		Poster:      a.PosterID,
		Requester:   a.RequesterID,
		Helper:      a.HelperID,
		Title:       a.Title,
		Description: a.Description,
		Minutes:     int64(a.Minutes),
		When:        a.When,
		Created:     a.Created,
		State:       string(a.State),
		PaidByFund:  a.PaidByFund,
		AcceptedAt:  a.AcceptedAt,
		DoneAt:      a.DoneAt,
		FinalAt:     a.FinalAt,
		Note:        a.Note,
		Steps:       a.Steps,
		Hold:        a.Hold,
	}
}

// model returns the stored mutual-aid post, its times in UTC.
func (d aidDoc) model() models.MutualAid {
	return models.MutualAid{
		ID:          d.ID,
		CommunityID: d.Community,
		Kind:        models.AidKind(d.Kind),
		PosterID:    d.Poster,
		RequesterID: d.Requester,
		HelperID:    d.Helper,
		Title:       d.Title,
		Description: d.Description,
		Minutes:     models.Minutes(d.Minutes),
		When:        utcOrZero(d.When),
		Created:     d.Created.UTC(),
		State:       models.AidState(d.State),
		PaidByFund:  d.PaidByFund,
		AcceptedAt:  utcOrZero(d.AcceptedAt),
		DoneAt:      utcOrZero(d.DoneAt),
		FinalAt:     utcOrZero(d.FinalAt),
		Note:        d.Note,
		Steps:       d.Steps,
		Hold:        d.Hold,
	}
}

// aidList is the name of a community's list of mutual-aid posts.
func aidList(communityID string) string { return "tba:" + communityID }

// InsertAid adds a after its slot on its community's list of posts
// (aidList), in one ordered insert (lists.go); models.ErrConflict if its
// id exists (the new slot then names nothing and is skipped).
func (s *Store) InsertAid(ctx context.Context, a models.MutualAid) error {
	_, err := s.insertListed(ctx, colAid, []string{aidList(a.CommunityID)}, a.ID, a.Created, func(slots []slotRef) any {
		d := toAidDoc(a)
		d.Slots = slots
		return d
	})
	return err
}

// Aid returns the mutual-aid post with id, or models.ErrNotFound.
func (s *Store) Aid(ctx context.Context, id string) (models.MutualAid, error) {
	var d aidDoc
	if err := s.findByID(ctx, colAid, id, &d); err != nil {
		return models.MutualAid{}, err
	}
	return d.model(), nil
}

// SaveAid caches a post's state as of its first a.Steps steps; the steps
// themselves are marks, and readers follow them from there. It saves the
// post's fields and leaves its slots as inserted (setFieldsByID).
func (s *Store) SaveAid(ctx context.Context, a models.MutualAid) error {
	return s.setFieldsByID(ctx, colAid, a.ID, toAidDoc(a))
}

// CommunityAids is one page of a community's mutual-aid posts, the latest
// posted first, whatever their state: the posts on at most limit slots of
// its list (aidList) below cursor ("" for the first page), and the next
// page's cursor ("" at the end); a cursor the list did not give out is
// models.ErrBadCursor. A page costs its own size, not the collection.
func (s *Store) CommunityAids(ctx context.Context, communityID, cursor string, limit int) ([]models.MutualAid, string, error) {
	return listedRead[aidDoc, models.MutualAid]{
		col:     colAid,
		list:    aidList(communityID),
		slotsOf: func(d *aidDoc) []slotRef { return d.Slots },
		keep:    func(d *aidDoc) bool { return d.Community == communityID },
		model:   (*aidDoc).model,
	}.pageAfter(ctx, s, cursor, limit)
}

// Aids lists a community's posts (every community's when communityID is
// empty) whose cached state is one of states (all when none), by id after
// after, at most limit (0: all). It scans the collection: it is the
// jobs' sweep over posts not yet settled; screens read CommunityAids.
func (s *Store) Aids(ctx context.Context, communityID, after string, limit int, states ...models.AidState) ([]models.MutualAid, error) {
	// A post has a state; the slots of the lists (lists.go) have none.
	state := bson.D{{Key: "$exists", Value: true}}
	if len(states) > 0 {
		ss := make([]string, len(states))
		for i, st := range states {
			ss[i] = string(st)
		}
		state = bson.D{{Key: "$in", Value: ss}}
	}
	filter := bson.D{{Key: "state", Value: state}}
	if communityID != "" {
		filter = append(filter, bson.E{Key: "community", Value: communityID})
	}
	return pageModels(ctx, s, colAid, filter, after, limit, aidDoc.model)
}

// --- gifts ---

// giftDoc is a gift of hours between relatives in tb_gifts.
type giftDoc struct {
	ID        string    `bson:"_id"`
	Community string    `bson:"community"`
	From      string    `bson:"from"`
	To        string    `bson:"to"`
	Minutes   int64     `bson:"minutes"`
	At        time.Time `bson:"at"`
	// Slots put it on its giver's and its receiver's lists (giftLists).
	Slots []slotRef `bson:"slots,omitempty"`
}

// model returns the stored gift, its time in UTC.
func (d giftDoc) model() models.Gift {
	return models.Gift{
		ID:          d.ID,
		CommunityID: d.Community,
		FromID:      d.From,
		ToID:        d.To,
		Minutes:     models.Minutes(d.Minutes),
		At:          d.At.UTC(),
	}
}

// giftList is the name of the list of the gifts a resident gave or
// received.
func giftList(residentID string) string { return "tbg:" + residentID }

// giftLists are the lists a gift is on: its giver's and its receiver's
// (one list when they are the same resident).
func giftLists(fromID, toID string) []string {
	if fromID == toID {
		return []string{giftList(fromID)}
	}
	return []string{giftList(fromID), giftList(toID)}
}

// InsertGift adds g after its slots on its giver's and its receiver's
// lists (giftLists), in one ordered insert (lists.go); models.ErrConflict
// if its id exists (the new slots then name nothing and are skipped).
func (s *Store) InsertGift(ctx context.Context, g models.Gift) error {
	_, err := s.insertListed(ctx, colGifts, giftLists(g.FromID, g.ToID), g.ID, g.At, func(slots []slotRef) any {
		return giftDoc{
			ID:        g.ID,
			Community: g.CommunityID,
			From:      g.FromID,
			To:        g.ToID,
			Minutes:   int64(g.Minutes),
			At:        g.At,
			Slots:     slots,
		}
	})
	return err
}

// Gifts lists every gift a resident gave or received, by id: it reads the
// resident's list (giftList), so it costs the resident's gifts, not the
// collection.
func (s *Store) Gifts(ctx context.Context, residentID string) ([]models.Gift, error) {
	out, err := listedRead[giftDoc, models.Gift]{
		col:     colGifts,
		list:    giftList(residentID),
		slotsOf: func(d *giftDoc) []slotRef { return d.Slots },
		keep:    func(d *giftDoc) bool { return d.From == residentID || d.To == residentID },
		model:   (*giftDoc).model,
	}.all(ctx, s)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b models.Gift) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// recordLists are the lists a service record is on: its resident's
// (`sr:`), its community's (`sc:`, what staff filter), its activity's
// (`sa:`) and its community's category (`sk:`), so a filtered page of
// records reads one of them (docs/PERFORMANCE.md, "Lists").
func recordLists(r models.ServiceRecord) []string {
	lists := []string{"sr:" + r.ResidentID, recordCommunityList(r.CommunityID)}
	if r.ActivityID != "" {
		lists = append(lists, recordActivityList(r.ActivityID))
	}
	if r.Category != "" {
		lists = append(lists, recordCategoryList(r.CommunityID, r.Category))
	}
	return lists
}

// startLead bounds how far a record's start may lie after the time it was
// stored: the service refuses a start or end more than a minute ahead of
// its clock.
const startLead = time.Hour

// recordCommunityList is the name of a community's list of service records.
func recordCommunityList(communityID string) string { return "sc:" + communityID }

// recordActivityList is the name of an activity's list of service records.
func recordActivityList(activityID string) string { return "sa:" + activityID }

// recordCategoryList is the name of the list of a community's service records of one
// category.
func recordCategoryList(communityID, category string) string {
	return "sk:" + communityID + ":" + category
}

// FilteredRecords is one page of a community's service records matching
// f (f.CommunityID is required), the latest stored first, read from the
// narrowest list the filter names: the resident's, else the activity's,
// else the category's, else the community's. A page reads at most limit
// slots below cursor ("" for the first page) and keeps the records that
// match f, so it may hold fewer than limit and still have a next; it
// never reads the whole history. A record's start is never after it was
// stored (by more than startLead), so once a slot is older than f.From
// less startLead nothing below it can match and the list ends there. Void
// records are not shown.
func (s *Store) FilteredRecords(ctx context.Context, f models.RecordFilter, cursor string, limit int) ([]models.ServiceRecord, string, error) {
	list := recordCommunityList(f.CommunityID)
	switch {
	case f.ResidentID != "":
		list = "sr:" + f.ResidentID
	case f.ActivityID != "":
		list = recordActivityList(f.ActivityID)
	case f.Category != "":
		list = recordCategoryList(f.CommunityID, f.Category)
	}
	var at slotCursor
	if cursor != "" {
		var err error
		if at, err = parseCursor(cursor, false); err != nil {
			return nil, "", err
		}
	}
	run, next, err := s.slotPage(ctx, colRecords, list, at.before, limit)
	if err != nil {
		return nil, "", err
	}
	slots, refs, ats := run.slots, run.refs, run.ats
	for i, ref := range refs {
		if ref != "" && !f.From.IsZero() && ats[i].Before(f.From.Add(-startLead)) {
			refs[i] = ""
			next = 0 // stored well before From: it and all below started before From
		}
	}
	docs, err := listedDocs(ctx, s, colRecords, slots, refs, func(d *recordDoc) []slotRef { return d.Slots }, func(d *recordDoc) bool {
		return d.State != string(models.RecordVoid) && recordMatches(*d, f)
	})
	if err != nil {
		return nil, "", err
	}
	out := make([]models.ServiceRecord, len(docs))
	for i, d := range docs {
		out[i] = d.model()
	}
	if next == 0 {
		return out, "", nil
	}
	return out, slotCursor{before: next}.String(), nil
}

// recordMatches reports whether the stored record d is one f selects.
func recordMatches(d recordDoc, f models.RecordFilter) bool {
	switch {
	case d.Community != f.CommunityID:
		return false
	case f.ResidentID != "" && d.Resident != f.ResidentID:
		return false
	case f.ActivityID != "" && d.Activity != f.ActivityID:
		return false
	case f.Category != "" && d.Category != f.Category:
		return false
	case f.State != "" && d.State != string(f.State):
		return false
	case !f.From.IsZero() && d.Start.Before(f.From):
		return false
	case !f.To.IsZero() && !d.Start.Before(f.To):
		return false
	}
	return true
}

// listRecordsOnNewLists puts records stored before the community,
// activity and category lists existed on them, once (a `done:` mark says
// so): each record that names no community slot gets the slots it lacks.
// A crash part way leaves slots no record names, which readers skip; the
// next start finishes.
func (s *Store) listRecordsOnNewLists(ctx context.Context) error {
	const mark = "done:record-lists-2"
	done, err := s.stepDone(ctx, mark)
	if done || err != nil {
		return err
	}
	var old []recordDoc
	cur, err := s.c(colRecords).Find(ctx, bson.D{{Key: "slots", Value: bson.D{{Key: "$exists", Value: true}}}})
	err = eachDoc(ctx, cur, err, "records", func(d recordDoc) error {
		if !isSlot(d.ID) && d.State != string(models.RecordVoid) {
			old = append(old, d)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, d := range old {
		has := map[string]bool{}
		for _, sl := range d.Slots {
			has[sl.List] = true
		}
		var missing []string
		for _, l := range recordLists(d.model()) {
			if !has[l] {
				missing = append(missing, l)
			}
		}
		if len(missing) == 0 {
			continue
		}
		added, err := s.insertListed(ctx, colRecords, missing, d.ID, d.Created, nil)
		if err != nil {
			return err
		}
		if err := s.setByID(ctx, colRecords, d.ID, bson.D{{Key: "slots", Value: append(d.Slots, added...)}}); err != nil {
			return err
		}
	}
	return s.markStepDone(ctx, mark)
}
