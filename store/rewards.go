package store

import (
	"context"
	"errors"
	"time"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// --- the catalogue ---

// rewardDoc is a reward of the catalogue in rewards.
type rewardDoc struct {
	ID            string    `bson:"_id"`
	Community     string    `bson:"community"`
	Kind          string    `bson:"kind"`
	Title         string    `bson:"title"`
	Partner       string    `bson:"partner"`
	Points        int64     `bson:"points"`
	ValueFen      int64     `bson:"value_fen"`
	Bearer        string    `bson:"bearer"`
	StockTotal    int       `bson:"stock_total"`
	StockPerMonth int       `bson:"stock_per_month"`
	LimitMonth    int       `bson:"limit_month"`
	LimitQuarter  int       `bson:"limit_quarter"`
	LimitYear     int       `bson:"limit_year"`
	HouseholdCap  int64     `bson:"household_year_cap_fen"`
	HonourOnly    bool      `bson:"honour_only"`
	MinStar       int       `bson:"min_star"`
	MinAge        int       `bson:"min_age"`
	HeadsOnly     bool      `bson:"heads_only"`
	ActiveFrom    time.Time `bson:"active_from"`
	ActiveUntil   time.Time `bson:"active_until"`
	Disabled      bool      `bson:"disabled"`
	CreatedBy     string    `bson:"created_by"`
	Created       time.Time `bson:"created"`
	// Slots put it on its community's catalogue (rewardList).
	Slots []slotRef `bson:"slots,omitempty"`
}

// toRewardDoc converts a reward to its document.
func toRewardDoc(r models.Reward) rewardDoc {
	return rewardDoc{
		ID:            r.ID,
		Community:     r.CommunityID,
		Kind:          string(r.Kind),
		Title:         r.Title,
		Partner:       r.PartnerID,
		Points:        int64(r.Points),
		ValueFen:      int64(r.ValueFen),
		Bearer:        string(r.Bearer),
		StockTotal:    r.StockTotal,
		StockPerMonth: r.StockPerMonth,
		LimitMonth:    r.LimitMonth,
		LimitQuarter:  r.LimitQuarter,
		LimitYear:     r.LimitYear,
		HouseholdCap:  int64(r.HouseholdYearCapFen),
		HonourOnly:    r.HonourOnly,
		MinStar:       r.MinStar,
		MinAge:        r.MinAge,
		HeadsOnly:     r.HeadsOnly,
		ActiveFrom:    r.ActiveFrom,
		ActiveUntil:   r.ActiveUntil,
		Disabled:      r.Disabled,
		CreatedBy:     r.CreatedBy,
		Created:       r.Created,
	}
}

// model returns the stored reward, its times in UTC (an unset window bound stays zero).
func (d rewardDoc) model() models.Reward {
	return models.Reward{
		ID:                  d.ID,
		CommunityID:         d.Community,
		Kind:                models.RewardKind(d.Kind),
		Title:               d.Title,
		PartnerID:           d.Partner,
		Points:              models.Points(d.Points),
		ValueFen:            models.Fen(d.ValueFen),
		Bearer:              models.Bearer(d.Bearer),
		StockTotal:          d.StockTotal,
		StockPerMonth:       d.StockPerMonth,
		LimitMonth:          d.LimitMonth,
		LimitQuarter:        d.LimitQuarter,
		LimitYear:           d.LimitYear,
		HouseholdYearCapFen: models.Fen(d.HouseholdCap),
		HonourOnly:          d.HonourOnly,
		MinStar:             d.MinStar,
		MinAge:              d.MinAge,
		HeadsOnly:           d.HeadsOnly,
		ActiveFrom:          utcOrZero(d.ActiveFrom),
		ActiveUntil:         utcOrZero(d.ActiveUntil),
		Disabled:            d.Disabled,
		CreatedBy:           d.CreatedBy,
		Created:             d.Created.UTC(),
	}
}

// InsertReward adds r after its slot on its community's catalogue
// (rewardList), in one ordered insert (lists.go); models.ErrConflict if
// its id exists (the new slot then names nothing and is skipped).
func (s *Store) InsertReward(ctx context.Context, r models.Reward) error {
	_, err := s.insertListed(ctx, colRewards, []string{rewardList(r.CommunityID)}, r.ID, r.Created, func(slots []slotRef) any {
		d := toRewardDoc(r)
		d.Slots = slots
		return d
	})
	return err
}

// Reward returns the reward with id, or models.ErrNotFound.
func (s *Store) Reward(ctx context.Context, id string) (models.Reward, error) {
	var d rewardDoc
	if err := s.findByID(ctx, colRewards, id, &d); err != nil {
		return models.Reward{}, err
	}
	return d.model(), nil
}

// ReplaceReward writes r over the stored reward with its id, or returns
// models.ErrNotFound. Rewards have no unique key but _id, so a plain
// write is safe; it is field by field (setFieldsByID), so the reward keeps
// its slot on its catalogue.
func (s *Store) ReplaceReward(ctx context.Context, r models.Reward) error {
	return s.setFieldsByID(ctx, colRewards, r.ID, toRewardDoc(r))
}

// Rewards lists a community's catalogue by id, after the id after, at most
// limit (0: all). It reads the community's catalogue list (rewardList), so
// it costs the catalogue, not the collection.
func (s *Store) Rewards(ctx context.Context, communityID, after string, limit int) ([]models.Reward, error) {
	return s.catalogue(ctx, communityID, after, limit)
}

// --- redemptions ---

// redemptionDoc is a redemption in redemptions, with the hash of the request that opened
// it and its slots in its lists; its status is a cache of its marks.
type redemptionDoc struct {
	ID         string    `bson:"_id"`
	Community  string    `bson:"community"`
	Reward     string    `bson:"reward"`
	Kind       string    `bson:"kind"`
	Title      string    `bson:"title"`
	Partner    string    `bson:"partner"`
	Resident   string    `bson:"resident"`
	Household  string    `bson:"household"`
	Plate      string    `bson:"plate,omitempty"`
	Points     int64     `bson:"points"`
	ValueFen   int64     `bson:"value_fen"`
	Bearer     string    `bson:"bearer"`
	Code       string    `bson:"code"`
	Status     string    `bson:"status"`
	FailCode   string    `bson:"fail_code,omitempty"`
	Created    time.Time `bson:"created"`
	Expires    time.Time `bson:"expires"`
	Generation int       `bson:"generation"`
	Fulfilled  time.Time `bson:"fulfilled"`
	Closed     time.Time `bson:"closed"`
	BillNo     string    `bson:"bill_no,omitempty"`
	BillDate   string    `bson:"bill_date,omitempty"`
	Token      string    `bson:"token,omitempty"`
	Units      *[]string `bson:"units,omitempty"` // nil: opened before units were recorded
	Hash       string    `bson:"hash"`
	Slots      []slotRef `bson:"slots,omitempty"` // its places in the lists (redemptionLists)
}

// toRedemptionDoc converts a redemption to its document, with the hash of the request that
// opened it.
func toRedemptionDoc(r models.Redemption, hash string) redemptionDoc {
	return redemptionDoc{
		ID:         r.ID,
		Community:  r.CommunityID,
		Reward:     r.RewardID,
		Kind:       string(r.Kind),
		Title:      r.Title,
		Partner:    r.PartnerID,
		Resident:   r.ResidentID,
		Household:  r.HouseholdID,
		Plate:      r.Plate,
		Points:     int64(r.Points),
		ValueFen:   int64(r.ValueFen),
		Bearer:     string(r.Bearer),
		Code:       r.Code,
		Status:     string(r.Status),
		FailCode:   string(r.FailCode),
		Created:    r.Created,
		Expires:    r.Expires,
		Generation: r.Generation,
		Fulfilled:  r.Fulfilled,
		Closed:     r.Closed,
		BillNo:     r.BillNo,
		BillDate:   r.BillDate,
		Token:      r.TokenID,
		Units:      unitsOf(r.Units),
		Hash:       hash,
	}
}

// unitsOf keeps "none" (empty) apart from "not recorded" (nil).
func unitsOf(units []string) *[]string {
	if units == nil {
		return nil
	}
	u := append([]string{}, units...)
	return &u
}

// model returns the stored redemption, its times in UTC.
func (d redemptionDoc) model() models.Redemption {
	return models.Redemption{
		ID:          d.ID,
		CommunityID: d.Community,
		RewardID:    d.Reward,
		Kind:        models.RewardKind(d.Kind),
		Title:       d.Title,
		PartnerID:   d.Partner,
		ResidentID:  d.Resident,
		HouseholdID: d.Household,
		Plate:       d.Plate,
		Points:      models.Points(d.Points),
		ValueFen:    models.Fen(d.ValueFen),
		Bearer:      models.Bearer(d.Bearer),
		Code:        d.Code,
		Status:      models.RedemptionStatus(d.Status),
		FailCode:    models.Code(d.FailCode),
		Created:     d.Created.UTC(),
		Expires:     d.Expires.UTC(),
		Generation:  d.Generation,
		Fulfilled:   utcOrZero(d.Fulfilled),
		Closed:      utcOrZero(d.Closed),
		BillNo:      d.BillNo,
		BillDate:    d.BillDate,
		TokenID:     d.Token,
		Units:       unitsFrom(d.Units),
	}
}

// unitsFrom returns a copy of the stored stock units, nil for a redemption opened before
// units were recorded.
func unitsFrom(units *[]string) []string {
	if units == nil {
		return nil
	}
	return append([]string{}, *units...)
}

// InsertRedemption adds r with the hash of the request that opened it,
// after its slot in each of its lists (redemptionLists);
// models.ErrConflict if its id exists (a repeat of that request).
func (s *Store) InsertRedemption(ctx context.Context, r models.Redemption, hash string) error {
	_, err := s.insertListed(ctx, colRedemptions, redemptionLists(r), r.ID, r.Created, func(slots []slotRef) any {
		d := toRedemptionDoc(r, hash)
		d.Slots = slots
		return d
	})
	return err
}

// redemptionLists are the lists a redemption is on: its resident's
// (/me/redemptions), its partner's day (the merchant's day, partner
// credits) and its community's day (the hold-expiry job, the held points).
// Days are UTC days; a reader of a local day reads the UTC days it
// overlaps.
func redemptionLists(r models.Redemption) []string {
	day := utcDay(r.Created)
	return []string{
		"rr:" + r.ResidentID,
		"rp:" + r.CommunityID + ":" + r.PartnerID + ":" + day,
		"rc:" + r.CommunityID + ":" + day,
	}
}

// listedRedemptions reads the redemptions of the given slots of list by
// _id (eight at a time), keeping in order those that name their slot and
// that keep returns true for.
func (s *Store) listedRedemptions(ctx context.Context, slots []slotRef, refs []string, keep func(models.Redemption) bool) ([]models.Redemption, error) {
	docs, err := listedDocs(ctx, s, colRedemptions, slots, refs, func(d *redemptionDoc) []slotRef { return d.Slots }, func(*redemptionDoc) bool { return true })
	if err != nil {
		return nil, err
	}
	out := []models.Redemption{}
	for _, d := range docs {
		if r := d.model(); keep(r) {
			out = append(out, r)
		}
	}
	return out, nil
}

// notFailed keeps what listings show: a refused redemption is an answer,
// kept only to replay it.
func notFailed(r models.Redemption) bool { return r.Status != models.RedemptionFailed }

// ResidentRedemptions is one page of residentID's redemptions, newest
// first: at most limit slots read below cursor ("" for the first page),
// and the cursor of the next page ("" at the end). A page may hold fewer
// than limit (refused redemptions are not shown) and still have a next.
func (s *Store) ResidentRedemptions(ctx context.Context, residentID, cursor string, limit int) ([]models.Redemption, string, error) {
	return listedRead[redemptionDoc, models.Redemption]{
		col:     colRedemptions,
		list:    "rr:" + residentID,
		slotsOf: func(d *redemptionDoc) []slotRef { return d.Slots },
		keep:    func(d *redemptionDoc) bool { return notFailed(d.model()) },
		model:   (*redemptionDoc).model,
	}.pageAfter(ctx, s, cursor, limit)
}

// DayRedemptions is one page of the redemptions made in [from, to) of a
// partner (partnerID) or of the whole community (partnerID ""), newest
// first: at most limit slots read below cursor ("" for the first page),
// and the cursor of the next page ("" at the end). It reads the lists of
// the UTC days the range overlaps, latest day first.
func (s *Store) DayRedemptions(ctx context.Context, communityID, partnerID string, from, to time.Time, cursor string, limit int) ([]models.Redemption, string, error) {
	last := to.Add(-time.Nanosecond).UTC()
	at := slotCursor{day: utcDay(last)}
	if cursor != "" {
		var err error
		if at, err = parseCursor(cursor, true); err != nil {
			return nil, "", err
		}
		if at.day < utcDay(from) || at.day > utcDay(last) {
			return nil, "", badCursor(cursor)
		}
	}
	list := func(day string) string {
		if partnerID == "" {
			return "rc:" + communityID + ":" + day
		}
		return "rp:" + communityID + ":" + partnerID + ":" + day
	}
	inRange := func(r models.Redemption) bool {
		return notFailed(r) && !r.Created.Before(from) && r.Created.Before(to)
	}
	var out []models.Redemption
	for {
		run, next, err := s.slotPage(ctx, colRedemptions, list(at.day), at.before, limit)
		if err != nil {
			return nil, "", err
		}
		rs, err := s.listedRedemptions(ctx, run.slots, run.refs, inRange)
		if err != nil {
			return nil, "", err
		}
		out = append(out, rs...)
		limit -= len(run.slots)
		if next != 0 {
			at.before = next
			if limit <= 0 {
				return out, at.String(), nil
			}
			continue
		}
		day, _ := time.Parse("20060102", at.day)
		if prev := utcDay(day.AddDate(0, 0, -1)); prev >= utcDay(from) {
			at = slotCursor{day: prev}
			if limit <= 0 {
				return out, at.String(), nil
			}
			continue
		}
		return out, "", nil
	}
}

// Redemption returns the redemption with id and the hash of the request
// that opened it, or models.ErrNotFound.
func (s *Store) Redemption(ctx context.Context, id string) (models.Redemption, string, error) {
	var d redemptionDoc
	if err := s.findByID(ctx, colRedemptions, id, &d); err != nil {
		return models.Redemption{}, "", err
	}
	return d.model(), d.Hash, nil
}

// SaveRedemptionState writes the cached state of r (status, dates, bill,
// generation). The keyed marks decide the state; this only caches it.
func (s *Store) SaveRedemptionState(ctx context.Context, r models.Redemption) error {
	return s.setByID(ctx, colRedemptions, r.ID, bson.D{
		{Key: "status", Value: string(r.Status)}, {Key: "fail_code", Value: string(r.FailCode)},
		{Key: "expires", Value: r.Expires}, {Key: "generation", Value: r.Generation},
		{Key: "fulfilled", Value: r.Fulfilled}, {Key: "closed", Value: r.Closed},
		{Key: "bill_no", Value: r.BillNo}, {Key: "bill_date", Value: r.BillDate},
	})
}

// Redemptions lists redemptions matching f, newest first, at most limit.
// It filters, which is a scan on the embedded store (docs/ARCHITECTURE.md
// §9): no screen reads it; tests check what is stored with it.
func (s *Store) Redemptions(ctx context.Context, f models.RedemptionFilter, limit int) ([]models.Redemption, error) {
	filter := bson.D{{Key: "community", Value: f.CommunityID}}
	if f.ResidentID != "" {
		filter = append(filter, bson.E{Key: "resident", Value: f.ResidentID})
	}
	if f.PartnerID != "" {
		filter = append(filter, bson.E{Key: "partner", Value: f.PartnerID})
	}
	if len(f.Statuses) > 0 {
		filter = append(filter, bson.E{Key: "status", Value: bson.D{{Key: "$in", Value: statusList(f.Statuses)}}})
	} else {
		// A refused redemption is an answer, kept only to replay it: no
		// listing shows it.
		filter = append(filter, bson.E{Key: "status", Value: bson.D{{Key: "$ne", Value: string(models.RedemptionFailed)}}})
	}
	if !f.From.IsZero() || !f.To.IsZero() {
		filter = append(filter, bson.E{Key: "created", Value: bson.D{{Key: "$gte", Value: f.From}, {Key: "$lt", Value: f.To}}})
	}
	opts := options.Find().SetSort(bson.D{{Key: "created", Value: -1}, {Key: "_id", Value: 1}})
	if limit > 0 {
		opts.SetLimit(int64(limit))
	}
	cur, err := s.c(colRedemptions).Find(ctx, filter, opts)
	return allDocs(ctx, cur, err, "redemptions", redemptionDoc.model)
}

// EachDayRedemption calls fn for every redemption made in [from, to) in
// the community, newest first, reading the community's day lists.
func (s *Store) EachDayRedemption(ctx context.Context, communityID string, from, to time.Time, fn func(models.Redemption) error) error {
	cursor := ""
	for {
		rs, next, err := s.DayRedemptions(ctx, communityID, "", from, to, cursor, 200)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if err := fn(r); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
}

// sinceDoc is a time kept under an _id in list_heads: when a community's oldest redemption
// that may still be open was made.
type sinceDoc struct {
	ID    string    `bson:"_id"`
	Since time.Time `bson:"since"`
}

// OpenRedemptionsSince returns when the oldest redemption of the community
// that may still be open was made, as the hold-expiry job last saved it
// (ok false: never saved). Every redemption made before it is decided.
func (s *Store) OpenRedemptionsSince(ctx context.Context, communityID string) (time.Time, bool, error) {
	var d sinceDoc
	err := s.findByID(ctx, colListHeads, "open-since:"+communityID, &d)
	if errors.Is(err, models.ErrNotFound) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	return d.Since.UTC(), true, nil
}

// SaveOpenRedemptionsSince saves what OpenRedemptionsSince returns. Only
// the job that has just looked at every redemption since the saved time
// (under its lease) moves it; a time too early only costs that job reads.
func (s *Store) SaveOpenRedemptionsSince(ctx context.Context, communityID string, since time.Time) error {
	id := "open-since:" + communityID
	return s.replaceByID(ctx, colListHeads, id, sinceDoc{ID: id, Since: since}, true)
}

// statusList returns the statuses as a BSON array for an $in filter.
func statusList(statuses []models.RedemptionStatus) bson.A {
	in := bson.A{}
	for _, st := range statuses {
		in = append(in, string(st))
	}
	return in
}

// --- slots and marks: the keyed inserts every exactly-once step is ---

// slotDoc is a slot taken in reward_slots (a unit of stock, a place under a limit, a bay),
// inserted once: whoever inserts it holds it.
type slotDoc struct {
	ID     string    `bson:"_id"`
	Holder string    `bson:"holder"`
	At     time.Time `bson:"at"`
}

// InsertSlot takes the slot id for holder; models.ErrConflict if taken.
func (s *Store) InsertSlot(ctx context.Context, id, holder string, at time.Time) error {
	return s.insert(ctx, colRewardSlots, slotDoc{
		ID:     id,
		Holder: holder,
		At:     at,
	})
}

// SlotHolder returns who took slot id, or models.ErrNotFound.
func (s *Store) SlotHolder(ctx context.Context, id string) (string, error) {
	var d slotDoc
	if err := s.findByID(ctx, colRewardSlots, id, &d); err != nil {
		return "", err
	}
	return d.Holder, nil
}

// counterCodeDoc is the short code of a merchant QR token in counter_codes, inserted once
// per community and code.
type counterCodeDoc struct {
	ID      string    `bson:"_id"`
	Token   string    `bson:"token"`
	Expires time.Time `bson:"expires"`
}

// InsertCounterCode records id (community:code), the short code of a
// merchant QR token; models.ErrConflict if the code is taken.
func (s *Store) InsertCounterCode(ctx context.Context, id, token string, expires time.Time) error {
	return s.insert(ctx, colCounterCodes, counterCodeDoc{
		ID:      id,
		Token:   token,
		Expires: expires,
	})
}

// CounterCode returns the token of short code id, or models.ErrNotFound.
func (s *Store) CounterCode(ctx context.Context, id string) (string, error) {
	var d counterCodeDoc
	if err := s.findByID(ctx, colCounterCodes, id, &d); err != nil {
		return "", err
	}
	return d.Token, nil
}

// redemptionMarkDoc is a keyed step of a redemption in redemption_marks (final:, void:,
// refund:, scan:), inserted once; it has the fields of models.RedemptionMark, which it
// converts to and from.
type redemptionMarkDoc struct {
	ID         string    `bson:"_id"`
	Redemption string    `bson:"redemption"`
	Outcome    string    `bson:"outcome"`
	Actor      string    `bson:"actor"`
	At         time.Time `bson:"at"`
	BillNo     string    `bson:"bill_no,omitempty"`
	BillDate   string    `bson:"bill_date,omitempty"`
	Reason     string    `bson:"reason,omitempty"`
	Op         string    `bson:"op,omitempty"`
	Units      []string  `bson:"units,omitempty"`
}

// InsertRedemptionMark records m; models.ErrConflict if a mark with its id
// exists.
func (s *Store) InsertRedemptionMark(ctx context.Context, m models.RedemptionMark) error {
	return s.insert(ctx, colRedemptionMarks, redemptionMarkDoc(m))
}

// reopenedList is the list of community's marks that made a decided
// redemption open again (a voided bill's credit, pending once more), by
// the UTC day of the mark.
func reopenedList(communityID, day string) string { return "rv:" + communityID + ":" + day }

// listedMarkDoc is a redemption mark that is on a list.
type listedMarkDoc struct {
	Mark  redemptionMarkDoc `bson:",inline"`
	Slots []slotRef         `bson:"slots"`
}

// InsertReopeningMark records m, a mark that makes a decided redemption of
// community communityID open again, after its slot on the community's
// list of reopenings of m.At's UTC day, in one ordered insert (the list's
// crash points are those of every list, store/lists.go);
// models.ErrConflict if a mark with its id exists.
func (s *Store) InsertReopeningMark(ctx context.Context, communityID string, m models.RedemptionMark) error {
	_, err := s.insertListed(ctx, colRedemptionMarks, []string{reopenedList(communityID, utcDay(m.At))}, m.ID, m.At, func(slots []slotRef) any {
		return listedMarkDoc{Mark: redemptionMarkDoc(m), Slots: slots}
	})
	return err
}

// EachReopened calls fn for every mark of the community that made a
// decided redemption open again at from <= At < to, reading the lists of
// the UTC days between.
func (s *Store) EachReopened(ctx context.Context, communityID string, from, to time.Time, fn func(models.RedemptionMark) error) error {
	for day := from.UTC().Truncate(24 * time.Hour); day.Before(to); day = day.Add(24 * time.Hour) {
		marks, err := listedRead[listedMarkDoc, models.RedemptionMark]{
			col:     colRedemptionMarks,
			list:    reopenedList(communityID, utcDay(day)),
			slotsOf: func(d *listedMarkDoc) []slotRef { return d.Slots },
			model: func(d *listedMarkDoc) models.RedemptionMark {
				m := models.RedemptionMark(d.Mark)
				m.At = m.At.UTC()
				return m
			},
		}.all(ctx, s)
		if err != nil {
			return err
		}
		for _, m := range marks {
			if m.At.Before(from) || !m.At.Before(to) {
				continue
			}
			if err := fn(m); err != nil {
				return err
			}
		}
	}
	return nil
}

// RedemptionMark returns the mark with id, or models.ErrNotFound.
func (s *Store) RedemptionMark(ctx context.Context, id string) (models.RedemptionMark, error) {
	var d redemptionMarkDoc
	if err := s.findByID(ctx, colRedemptionMarks, id, &d); err != nil {
		return models.RedemptionMark{}, err
	}
	d.At = d.At.UTC()
	return models.RedemptionMark(d), nil
}

// --- filial-visit parking (孝老停车) ---

// filialPlateDoc is a plate registered for a parent's filial visits, in filial_plates
// under community:plate.
type filialPlateDoc struct {
	ID           string    `bson:"_id"`
	Community    string    `bson:"community"`
	Plate        string    `bson:"plate"`
	Parent       string    `bson:"parent"`
	RegisteredBy string    `bson:"registered_by"`
	Created      time.Time `bson:"created"`
	Slots        []slotRef `bson:"slots,omitempty"` // its place on its parent's list (filial_lists.go)
}

// InsertFilialPlate registers p, after its slot on its parent's list
// (filialPlateList), in one ordered insert; models.ErrConflict if the
// plate is registered in the community already.
func (s *Store) InsertFilialPlate(ctx context.Context, p models.FilialPlate) error {
	lists := []string{filialPlateList(p.CommunityID, p.ParentID)}
	_, err := s.insertListed(ctx, colFilialPlates, lists, p.CommunityID+":"+p.Plate, p.Created, func(slots []slotRef) any {
		return filialPlateDoc{
			ID:           p.CommunityID + ":" + p.Plate,
			Community:    p.CommunityID,
			Plate:        p.Plate,
			Parent:       p.ParentID,
			RegisteredBy: p.RegisteredBy,
			Created:      p.Created,
			Slots:        slots,
		}
	})
	return err
}

// FilialPlate returns the registration of plate in the community, or
// models.ErrNotFound.
func (s *Store) FilialPlate(ctx context.Context, communityID, plate string) (models.FilialPlate, error) {
	var d filialPlateDoc
	if err := s.findByID(ctx, colFilialPlates, communityID+":"+plate, &d); err != nil {
		return models.FilialPlate{}, err
	}
	return d.model(), nil
}

// model returns the stored plate registration, its time in UTC.
func (d filialPlateDoc) model() models.FilialPlate {
	return models.FilialPlate{
		CommunityID:  d.Community,
		Plate:        d.Plate,
		ParentID:     d.Parent,
		RegisteredBy: d.RegisteredBy,
		Created:      d.Created.UTC(),
	}
}

// filialBookingDoc is a visitor-bay booking in filial_bookings under community:plate:day;
// the bay is a cache of the slot that decides it.
type filialBookingDoc struct {
	ID        string    `bson:"_id"`
	Community string    `bson:"community"`
	Plate     string    `bson:"plate"`
	Parent    string    `bson:"parent"`
	Day       string    `bson:"day"`
	Bay       int       `bson:"bay"`
	BookedBy  string    `bson:"booked_by"`
	Created   time.Time `bson:"created"`
	Slots     []slotRef `bson:"slots,omitempty"` // its place on its parent's list (filial_lists.go)
}

// InsertFilialBooking adds b, after its slot on its parent's list
// (filialBookingList), in one ordered insert; models.ErrConflict if its id
// exists.
func (s *Store) InsertFilialBooking(ctx context.Context, b models.FilialBooking) error {
	lists := []string{filialBookingList(b.CommunityID, b.ParentID)}
	_, err := s.insertListed(ctx, colFilialBookings, lists, b.ID, b.Created, func(slots []slotRef) any {
		return filialBookingDoc{
			ID:        b.ID,
			Community: b.CommunityID,
			Plate:     b.Plate,
			Parent:    b.ParentID,
			Day:       b.Day,
			Bay:       b.Bay,
			BookedBy:  b.BookedBy,
			Created:   b.Created,
			Slots:     slots,
		}
	})
	return err
}

// FilialBooking returns the booking with id, or models.ErrNotFound.
func (s *Store) FilialBooking(ctx context.Context, id string) (models.FilialBooking, error) {
	var d filialBookingDoc
	if err := s.findByID(ctx, colFilialBookings, id, &d); err != nil {
		return models.FilialBooking{}, err
	}
	return d.model(), nil
}

// model returns the stored booking, its time in UTC.
func (d filialBookingDoc) model() models.FilialBooking {
	return models.FilialBooking{
		ID:          d.ID,
		CommunityID: d.Community,
		Plate:       d.Plate,
		ParentID:    d.Parent,
		Day:         d.Day,
		Bay:         d.Bay,
		BookedBy:    d.BookedBy,
		Created:     d.Created.UTC(),
	}
}

// SetFilialBookingBay caches the bay a booking holds (the slot decides it).
func (s *Store) SetFilialBookingBay(ctx context.Context, id string, bay int) error {
	return s.setByID(ctx, colFilialBookings, id, bson.D{{Key: "bay", Value: bay}})
}

// gateEventDoc is a car-park gate event with its answer, in gate_events under
// community:event id, inserted once.
type gateEventDoc struct {
	ID          string    `bson:"_id"`
	Community   string    `bson:"community"`
	EventID     string    `bson:"event"`
	Plate       string    `bson:"plate"`
	Direction   string    `bson:"direction"`
	At          time.Time `bson:"at"`
	FreeMinutes int64     `bson:"free_minutes"`
	ReasonCode  string    `bson:"reason_code,omitempty"`
	Reason      string    `bson:"reason"`
	Visit       string    `bson:"visit,omitempty"`
	Slots       []slotRef `bson:"slots,omitempty"` // its place on its day's list (rewards_gate_events.go)
}

// InsertGateEvent records e with its answer, after its slot on the list
// of its UTC day (gateEventList), in one ordered insert;
// models.ErrConflict if the event id was recorded in the community before.
func (s *Store) InsertGateEvent(ctx context.Context, e models.GateEvent) error {
	lists := []string{gateEventList(e.CommunityID, utcDay(e.At))}
	_, err := s.insertListed(ctx, colGateEvents, lists, e.CommunityID+":"+e.EventID, e.At, func(slots []slotRef) any {
		d := toGateEventDoc(e)
		d.Slots = slots
		return d
	})
	return err
}

// toGateEventDoc is e as stored, without its slots.
func toGateEventDoc(e models.GateEvent) gateEventDoc {
	return gateEventDoc{
		ID:          e.CommunityID + ":" + e.EventID,
		Community:   e.CommunityID,
		EventID:     e.EventID,
		Plate:       e.Plate,
		Direction:   string(e.Direction),
		At:          e.At,
		FreeMinutes: int64(e.FreeMinutes),
		ReasonCode:  e.ReasonCode,
		Reason:      e.Reason,
		Visit:       e.VisitID,
	}
}

// model is the event d stores.
func (d gateEventDoc) model() models.GateEvent {
	return models.GateEvent{
		CommunityID: d.Community,
		EventID:     d.EventID,
		Plate:       d.Plate,
		Direction:   models.GateDirection(d.Direction),
		At:          d.At.UTC(),
		FreeMinutes: models.Minutes(d.FreeMinutes),
		ReasonCode:  d.ReasonCode,
		Reason:      d.Reason,
		VisitID:     d.Visit,
	}
}

// GateEvent returns the recorded event, or models.ErrNotFound.
func (s *Store) GateEvent(ctx context.Context, communityID, eventID string) (models.GateEvent, error) {
	var d gateEventDoc
	if err := s.findByID(ctx, colGateEvents, communityID+":"+eventID, &d); err != nil {
		return models.GateEvent{}, err
	}
	return d.model(), nil
}

// lastEntryDoc is when a plate last entered the car park, kept in gate_events under
// in:community:plate: a cache the exit reads.
type lastEntryDoc struct {
	ID    string    `bson:"_id"`
	Event string    `bson:"event"`
	At    time.Time `bson:"at"`
}

// SetLastEntry remembers when plate last entered the car park. It is a
// cache the gate's "out" event reads; the events themselves are the record.
func (s *Store) SetLastEntry(ctx context.Context, communityID, plate, eventID string, at time.Time) error {
	id := "in:" + communityID + ":" + plate
	return s.replaceByID(ctx, colGateEvents, id, lastEntryDoc{
		ID:    id,
		Event: eventID,
		At:    at,
	}, true)
}

// LastEntry returns the event id and time plate last entered, or
// models.ErrNotFound.
func (s *Store) LastEntry(ctx context.Context, communityID, plate string) (string, time.Time, error) {
	var d lastEntryDoc
	if err := s.findByID(ctx, colGateEvents, "in:"+communityID+":"+plate, &d); err != nil {
		return "", time.Time{}, err
	}
	return d.Event, d.At.UTC(), nil
}
