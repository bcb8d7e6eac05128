package store

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// lateZone is the zone of the communities these tests record events for
// (none is stored: the default zone).
var lateZone = models.Community{}.Location()

// lateEvent is a fulfilment of partner's worth 100 fen, with business time
// at and recorded at recorded (zero: not kept), both in lateZone.
func lateEvent(id, partner string, at, recorded time.Time) models.SettlementEvent {
	return models.SettlementEvent{
		ID:          id,
		CommunityID: "c1",
		PartnerID:   partner,
		Kind:        models.EventFulfilled,
		Description: "豆浆",
		ValueFen:    100,
		Bearer:      models.BearerCommunity,
		At:          at.UTC(),
		Recorded:    recorded.UTC(),
	}
}

// localTime is the given wall time in lateZone.
func localTime(month time.Month, day, hour, minute int) time.Time {
	return time.Date(2026, month, day, hour, minute, 0, 0, lateZone)
}

// candidatesByFilter is what the settlement of month m read before the
// lists: one filtered query over every event of the collection (a scan on
// the embedded store), kept here as the check of the lists' answer.
func candidatesByFilter(t *testing.T, s *Store, partner string, m models.Month, lateFrom, lateTo time.Time) []string {
	t.Helper()
	ctx := context.Background()
	filter := bson.D{{Key: "partner", Value: partner}, {Key: "$or", Value: bson.A{
		bson.D{{Key: "at", Value: bson.D{{Key: "$gte", Value: m.Start(lateZone)}, {Key: "$lt", Value: m.End(lateZone)}}}},
		bson.D{{Key: "at", Value: bson.D{{Key: "$lt", Value: m.Start(lateZone)}}},
			{Key: "recorded", Value: bson.D{{Key: "$gte", Value: lateFrom}, {Key: "$lte", Value: lateTo}}}},
	}}}
	cur, err := s.c(colSettlementEvents).Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	var ids []string
	err = eachDoc(ctx, cur, err, "candidates", func(d settlementEventDoc) error {
		e := d.Fields.event(d.ID)
		// As the settlement did with each candidate: an earlier month's
		// event counts only if it was recorded late.
		if !e.At.Before(m.Start(lateZone)) || e.RecordedLate(lateZone) {
			ids = append(ids, d.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// candidates is what EachStatementCandidate gives for partner's month m,
// in the order given, and how many scans it sent.
func candidates(t *testing.T, s *Store, partner string, m models.Month, lateFrom, lateTo time.Time) ([]string, int64) {
	t.Helper()
	commands := watchCommands(s)
	var ids []string
	err := s.EachStatementCandidate(context.Background(), partner, m, lateZone, lateFrom, lateTo, func(e models.SettlementEvent) error {
		if e.PartnerID != partner {
			t.Fatalf("%s's candidates give %s of %s", partner, e.ID, e.PartnerID)
		}
		// As the settlement does with each candidate.
		if !e.At.Before(m.Start(lateZone)) || e.RecordedLate(lateZone) {
			ids = append(ids, e.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids, commands.scans()
}

// novemberSettlement is the month these tests settle, the time its
// settlement begins (02:00 on 1 December, lateZone) and the start of its
// late window (the month's start less models.SettlementLateMargin).
func novemberSettlement() (nov models.Month, begun, lateFrom time.Time) {
	nov = models.MonthOf(localTime(time.November, 10, 12, 0), lateZone)
	return nov, localTime(time.December, 1, 2, 0), nov.Start(lateZone).Add(-models.SettlementLateMargin)
}

// November's settlement, begun at 02:00 on 1 December, reads November's
// list and the late lists of the months from its margin to its start: it
// finds exactly the events the filter over every event found (November's,
// and earlier months' recorded late within its window), each once, with
// no scan of the collection.
func TestIssue15_Settlement_CandidatesReadTheListsAndMatchTheFilter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := listsStore(t)
	nov, begun, lateFrom := novemberSettlement()
	events := []models.SettlementEvent{
		lateEvent("nov-on-time", "shop1", localTime(time.November, 3, 9, 0), localTime(time.November, 3, 9, 0)),
		lateEvent("oct-on-time", "shop1", localTime(time.October, 20, 9, 0), localTime(time.October, 20, 9, 0)),
		lateEvent("oct-last-half-hour", "shop1", localTime(time.October, 31, 23, 0), localTime(time.October, 31, 23, 30)),
		lateEvent("oct-caught-up-in-nov", "shop1", localTime(time.October, 30, 10, 0), localTime(time.November, 15, 8, 0)),
		lateEvent("sep-caught-up-before-begun", "shop1", localTime(time.September, 12, 10, 0), localTime(time.December, 1, 1, 0)),
		lateEvent("oct-caught-up-after-begun", "shop1", localTime(time.October, 12, 10, 0), localTime(time.December, 1, 3, 0)),
		lateEvent("nov-recorded-after-begun", "shop1", localTime(time.November, 30, 22, 0), localTime(time.December, 1, 3, 0)),
		lateEvent("nov-recorded-in-dec", "shop1", localTime(time.November, 30, 23, 50), localTime(time.December, 1, 0, 30)),
		lateEvent("dec", "shop1", localTime(time.December, 1, 1, 0), localTime(time.December, 1, 1, 0)),
		lateEvent("oct-not-kept", "shop1", localTime(time.October, 31, 23, 30), time.Time{}),
		lateEvent("other-partner-nov", "shop2", localTime(time.November, 5, 9, 0), localTime(time.November, 5, 9, 0)),
		lateEvent("other-partner-late", "shop2", localTime(time.October, 5, 9, 0), localTime(time.November, 5, 9, 0)),
	}
	for _, e := range events {
		if err := s.RecordSettlementEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	// A repeat of a late event is still one candidate.
	if err := s.RecordSettlementEvent(ctx, events[3]); err != nil {
		t.Fatal(err)
	}
	got, scans := candidates(t, s, "shop1", nov, lateFrom, begun)
	if scans != 0 {
		t.Fatalf("November's candidates cost %d scans; want none", scans)
	}
	want := []string{"nov-on-time", "nov-recorded-after-begun", "nov-recorded-in-dec", "oct-caught-up-in-nov", "oct-last-half-hour", "sep-caught-up-before-begun"}
	sorted := slices.Sorted(slices.Values(got))
	if !slices.Equal(sorted, want) {
		t.Fatalf("November's candidates are %v; want %v", got, want)
	}
	if byFilter := candidatesByFilter(t, s, "shop1", nov, lateFrom, begun); !slices.Equal(sorted, byFilter) {
		t.Fatalf("the lists give %v; the filter over every event gives %v", sorted, byFilter)
	}
	// The other partner's month is its own.
	other, _ := candidates(t, s, "shop2", nov, lateFrom, begun)
	if !slices.Equal(slices.Sorted(slices.Values(other)), []string{"other-partner-late", "other-partner-nov"}) {
		t.Fatalf("shop2's November candidates are %v", other)
	}
}

// Late events stored before the late lists existed are put on them at the
// next start, once: before that the lists miss them (the settlement reads
// only the lists), after it they are found, and a second start lists
// nothing again.
func TestIssue15_Settlement_LateEventsStoredBeforeTheLateListsAreListedAtStart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := listsStore(t)
	nov, begun, lateFrom := novemberSettlement()
	old := []models.SettlementEvent{
		lateEvent("old-oct-caught-up", "shop1", localTime(time.October, 30, 10, 0), localTime(time.November, 15, 8, 0)),
		lateEvent("old-oct-last-half-hour", "shop1", localTime(time.October, 31, 23, 0), localTime(time.October, 31, 23, 30)),
	}
	for _, e := range old {
		if err := s.RecordSettlementEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
		// As an older version stored it: on its month's list only.
		month := slotRef{List: settlementList("shop1", models.MonthOf(e.At, lateZone))}
		var d settlementEventDoc
		if err := s.findByID(ctx, colSettlementEvents, e.ID, &d); err != nil {
			t.Fatal(err)
		}
		d.Slots = slices.DeleteFunc(d.Slots, func(sl slotRef) bool { return sl.List != month.List })
		if err := s.setByID(ctx, colSettlementEvents, e.ID, bson.D{{Key: "slots", Value: d.Slots}}); err != nil {
			t.Fatal(err)
		}
	}
	forgetBackfills(t, s, "settlement-late-lists")
	if got, _ := candidates(t, s, "shop1", nov, lateFrom, begun); len(got) != 0 {
		t.Fatalf("before the backfill November's candidates are %v; want none (the old events are on no late list)", got)
	}
	startTwice(t, s.EnsureSchema)
	got, _ := candidates(t, s, "shop1", nov, lateFrom, begun)
	if want := []string{"old-oct-caught-up", "old-oct-last-half-hour"}; !slices.Equal(slices.Sorted(slices.Values(got)), want) {
		t.Fatalf("after the backfill November's candidates are %v; want %v", got, want)
	}
	for _, e := range old {
		var d settlementEventDoc
		if err := s.findByID(ctx, colSettlementEvents, e.ID, &d); err != nil {
			t.Fatal(err)
		}
		if len(d.Slots) != 2 {
			t.Fatalf("%s names slots %v after two starts; want its month's and one late list's", e.ID, d.Slots)
		}
	}
}
