package store

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// A partner's month of settlement events (docs/PERFORMANCE.md, "The
// liability summary", partner months): every event is on the slot list
// `se:<partner>:<YYYY-MM>` of the month its business time (At) falls in,
// in its community's zone, so the list holds exactly the events the
// filter partner + m.Start(loc) <= at < m.End(loc) selects. The liability
// job keeps, per partner and month, the totals of the list's slots up to
// a position, saved together in one document (`pm:<partner>:<YYYY-MM>` in
// liability_summaries): a report reads that document and only the slots
// after it. As it counts, the job copies the events of each full block of
// the list whose slots are all decided into one document (copiedBlockDoc),
// so the month's settlement reads sixteen events a lookup.
//
// Crash points:
//   - Slot written, event not (MongoDB, where the ordered insert is not
//     one transaction), or the event's insert met a repeat: the slot
//     points at nothing or at an event that names another slot; it counts
//     nothing, and the repeat's own slot counts the event once. A slot
//     whose event is missing is passed by the job's position only once it
//     is slotSettles old: younger, its event may still be on its way. A
//     slot whose event is stored but names no slot of the list (a backfill
//     that died after its claim and before saving it on the event) is not
//     passed until the next start's backfill saves the claimed slot.
//   - A job run cut short after reading and before saving saves nothing:
//     the next run counts from the saved position again. Totals and
//     position are one document, so a saved position never goes with
//     totals that count a slot twice or miss one. Two runs at once each
//     save a consistent pair; the later save may be the shorter one,
//     which costs the next report a few more reads, never a figure.
//   - A run cut short after its copies of blocks and before saving: the
//     next run reads from the first slot of the block the saved position
//     is in, counts only the slots after the position, and its copies'
//     inserts find the first run's (the same documents). A copy not
//     stored costs the settlement sixteen lookups, never a figure.

// slotSettles is how old a slot whose event is missing must be before the
// job's position passes it as dead.
const slotSettles = 10 * time.Minute

// monthPage is how many slots of a month list one read takes: twelve
// whole blocks (slotBlock), so a read that starts at a block's first slot
// holds every block it meets whole, as a block's copy needs.
const monthPage = 12 * slotBlock

// settlementList is the list of partner's settlement events whose
// business time falls in month m (in the community's zone).
func settlementList(partnerID string, m models.Month) string {
	return "se:" + partnerID + ":" + m.String()
}

// settlementLateList is the list of partner's settlement events recorded
// late (models.SettlementEvent.RecordedLate) whose recording falls in
// month m (in the community's zone): the settlements of the months after
// their own read it for events their own month's statement may have
// missed (EachStatementCandidate).
func settlementLateList(partnerID string, m models.Month) string {
	return "sel:" + partnerID + ":" + m.String()
}

// partnerMonthID is the _id in liability_summaries of the liability job's
// totals of partner's month m.
func partnerMonthID(partnerID string, m models.Month) string {
	return "pm:" + partnerID + ":" + m.String()
}

// partnerMonthDoc is the liability job's count of a partner's month: the
// totals of the month list's slots 1..Through (every one of them decided:
// its event counted once, or the slot dead), and when it was counted.
type partnerMonthDoc struct {
	ID           string    `bson:"_id"`
	Through      int64     `bson:"through"`
	Lines        int       `bson:"lines"`
	TotalFen     int64     `bson:"total_fen"`
	CommunityFen int64     `bson:"community_fen"`
	PartnerFen   int64     `bson:"partner_fen"`
	At           time.Time `bson:"at"`
}

// totals are the saved totals.
func (d partnerMonthDoc) totals() models.StatementTotals {
	return models.StatementTotals{
		Lines:     d.Lines,
		Total:     models.Fen(d.TotalFen),
		Community: models.Fen(d.CommunityFen),
		Partner:   models.Fen(d.PartnerFen),
	}
}

// communityZone returns community id's time zone (models.Community.Location),
// remembered per process: a community's zone never changes. A community
// not found has the default zone, and is not remembered.
func (s *Store) communityZone(ctx context.Context, id string) (*time.Location, error) {
	if v, ok := s.zones.Load(id); ok {
		return v.(*time.Location), nil
	}
	c, err := s.Community(ctx, id)
	if errors.Is(err, models.ErrNotFound) {
		return models.Community{}.Location(), nil
	}
	if err != nil {
		return nil, err
	}
	loc := c.Location()
	s.zones.Store(id, loc)
	return loc, nil
}

// monthCount is what a read of a partner's month list found after the
// saved position.
type monthCount struct {
	all     models.StatementTotals // the saved totals and every event after them
	through int64                  // the last slot of the decided run after the saved position
	settled models.StatementTotals // the totals through it
}

// countPartnerMonth reads the saved count of partner's month m and the
// slots after it up to the list's head, and counts each event on the slot
// it names. With now zero no slot is decided (a report's read).
func (s *Store) countPartnerMonth(ctx context.Context, partnerID string, m models.Month, now time.Time) (partnerMonthDoc, monthCount, error) {
	copyBlocks := !now.IsZero() // the job's run, not a report's read
	id := partnerMonthID(partnerID, m)
	var from partnerMonthDoc
	err := s.findByID(ctx, colLiabilitySummaries, id, &from)
	if errors.Is(err, models.ErrNotFound) {
		from, err = partnerMonthDoc{ID: id}, nil
	}
	if err != nil {
		return from, monthCount{}, err
	}
	c := monthCount{
		all:     from.totals(),
		through: from.Through,
		settled: from.totals(),
	}
	list := settlementList(partnerID, m)
	head, err := s.listHeadAbove(ctx, colSettlementEvents, list, from.Through)
	if err != nil {
		return from, c, err
	}
	start := from.Through + 1
	if copyBlocks {
		// From the first slot of the block the saved position is in, so
		// that block is read whole and can be copied; the slots up to the
		// position are counted already and only read.
		start = blockFirst(blockOf(start))
	}
	open := false // a slot not yet decided was met: the decided run ends
	for low := start; low <= head; low += monthPage {
		high := min(head, low+monthPage-1)
		run, err := s.slotsBetween(ctx, colSettlementEvents, list, head, low, high)
		if err != nil {
			return from, c, err
		}
		refs, ats := run.refs, run.ats
		events, err := findEach[settlementEventDoc](ctx, s, colSettlementEvents, refs)
		if err != nil {
			return from, c, err
		}
		for i, d := range events {
			n := low + int64(i)
			if n <= from.Through {
				continue // counted by an earlier run; read for its block's copy
			}
			switch {
			case d != nil && named(d.Slots, slotRef{List: list, N: n}):
				c.all.Add(models.StatementLine{Event: d.Fields.event(d.ID)})
			case d != nil && slotOn(d.Slots, list) != 0:
				// A repeat's or a race's leftover: the event counts on the
				// slot it names.
			case d == nil && refs[i] != "" && !now.IsZero() && !ats[i].After(now.Add(-slotSettles)):
				// Dead: its event never came.
			default:
				// Its event may still come, or is stored but names no slot
				// of the list yet: one stored before the lists, whose
				// backfill (claimListed) took this slot and has not saved
				// it on the event; the next start's backfill does.
				open = true
			}
			if !open {
				c.through, c.settled = n, c.all
			}
		}
		if copyBlocks {
			// The job decides a slot whose event never came once it is
			// old, which a reader cannot: the decided run is passed on.
			monthEvents(partnerID, m).copyDecided(ctx, s, head, low, events, c.through)
		}
	}
	return from, c, nil
}

// PartnerMonthTotals returns the totals of partner's settlement events in
// month m (business time in the community's zone): the liability job's
// saved count and the events listed after it. It costs a few lookups and
// the events since the job's last run, whatever the history.
func (s *Store) PartnerMonthTotals(ctx context.Context, partnerID string, m models.Month) (models.StatementTotals, error) {
	_, c, err := s.countPartnerMonth(ctx, partnerID, m, time.Time{})
	return c.all, err
}

// CountPartnerMonth is the liability job's step for partner's month m: it
// counts the events listed since the saved count, saves the totals and the
// position of the decided slots in one document, and returns the month's
// totals (PartnerMonthTotals as of now).
func (s *Store) CountPartnerMonth(ctx context.Context, partnerID string, m models.Month, now time.Time) (models.StatementTotals, error) {
	from, c, err := s.countPartnerMonth(ctx, partnerID, m, now)
	if err != nil || c.through == from.Through {
		return c.all, err
	}
	d := partnerMonthDoc{
		ID:           from.ID,
		Through:      c.through,
		Lines:        c.settled.Lines,
		TotalFen:     int64(c.settled.Total),
		CommunityFen: int64(c.settled.Community),
		PartnerFen:   int64(c.settled.Partner),
		At:           now.UTC(),
	}
	return c.all, s.replaceByID(ctx, colLiabilitySummaries, d.ID, d, true)
}

// listSettlementEventsStoredBefore puts the settlement events stored
// before the month lists existed on them, once (listStoredBefore).
func (s *Store) listSettlementEventsStoredBefore(ctx context.Context) error {
	const what = "settlement-month-lists"
	done, err := s.stepDone(ctx, "done:"+what)
	if done || err != nil {
		return err
	}
	// The zones first: the function that names an event's list cannot read.
	zones, err := s.communityZones(ctx)
	if err != nil {
		return err
	}
	return s.listStoredBefore(ctx, what, colSettlementEvents, nil, func(d bson.M) ([]string, time.Time) {
		partner, _ := d["partner"].(string)
		community, _ := d["community"].(string)
		at, ok := d["at"].(bson.DateTime)
		if partner == "" || !ok {
			return nil, time.Time{}
		}
		return []string{settlementList(partner, models.MonthOf(at.Time(), zones.of(community)))}, at.Time().UTC()
	})
}

// zoneMap is every community's time zone by id.
type zoneMap map[string]*time.Location

// of is community id's zone, or the default zone for a community not known.
func (z zoneMap) of(id string) *time.Location {
	if loc := z[id]; loc != nil {
		return loc
	}
	return models.Community{}.Location()
}

// communityZones reads every community's time zone, 200 communities a read.
func (s *Store) communityZones(ctx context.Context) (zoneMap, error) {
	zones := zoneMap{}
	for after := ""; ; {
		cs, err := s.Communities(ctx, after, 200)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			zones[c.ID] = c.Location()
		}
		if len(cs) < 200 {
			return zones, nil
		}
		after = cs[len(cs)-1].ID
	}
}

// listLateSettlementEventsStoredBefore puts the events recorded late that
// were stored before the late lists existed on them (settlementLateList),
// once: a mark (done:settlement-late-lists) says it is done, so later
// starts read the mark and scan nothing. It runs after the month lists'
// backfill, which gives events stored before any list their month slot.
// An event already on its late list is left as it is. Crash points: a
// slot written and the event's slots not yet saved is skipped by readers
// (it names an event that does not name it), and the next start, with no
// mark, lists the event again; two replicas starting at once both list an
// event, and the first claim (claimListed) decides which late slot it
// names, so both save the same slots.
func (s *Store) listLateSettlementEventsStoredBefore(ctx context.Context) error {
	const mark = "done:settlement-late-lists"
	done, err := s.stepDone(ctx, mark)
	if done || err != nil {
		return err
	}
	zones, err := s.communityZones(ctx)
	if err != nil {
		return err
	}
	var late []settlementEventDoc
	cur, err := s.c(colSettlementEvents).Find(ctx, bson.D{{Key: "partner", Value: bson.D{{Key: "$exists", Value: true}}}})
	err = eachDoc(ctx, cur, err, "late settlement events", func(d settlementEventDoc) error {
		e := d.Fields.event(d.ID)
		loc := zones.of(e.CommunityID)
		if !e.RecordedLate(loc) {
			return nil
		}
		list := settlementLateList(e.PartnerID, models.MonthOf(e.Recorded, loc))
		if !slices.ContainsFunc(d.Slots, func(sl slotRef) bool { return sl.List == list }) {
			late = append(late, d)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, d := range late {
		e := d.Fields.event(d.ID)
		list := settlementLateList(e.PartnerID, models.MonthOf(e.Recorded, zones.of(e.CommunityID)))
		taken, err := s.insertListed(ctx, colSettlementEvents, []string{list}, d.ID, e.Recorded, nil)
		if err != nil {
			return err
		}
		slots, err := s.claimListed(ctx, "listed:"+colSettlementEvents+":"+d.ID+":"+list, taken)
		if err != nil {
			return err
		}
		if err := s.setByID(ctx, colSettlementEvents, d.ID, bson.D{{Key: "slots", Value: append(d.Slots, slots...)}}); err != nil {
			return err
		}
	}
	return s.markStepDone(ctx, mark)
}
