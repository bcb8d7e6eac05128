package honour_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/community/communitytest"
	"github.com/linli-community/linli/honour"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/policy"
	"github.com/linli-community/linli/store"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// noScanStore is the real store with its filter of every honour entry
// refused: a service built on it that still scans fails the test.
type noScanStore struct {
	*store.Store
	t *testing.T
}

// HonourEntries reports the scan as a test error and answers as the store does.
func (s noScanStore) HonourEntries(c context.Context, communityID string, statuses []models.HonourStatus, after string, limit int) ([]models.HonourEntry, error) {
	s.t.Errorf("the honour entries were filtered (community %q, statuses %v)", communityID, statuses)
	return s.Store.HonourEntries(c, communityID, statuses, after, limit)
}

// noScanService is an honour service on w's store and clock that may not
// filter the honour entries.
func (w *honourWorld) noScanService() *honour.Service {
	clock := func() time.Time { return w.at }
	return honour.New(honour.Deps{
		Store:    noScanStore{Store: w.st, t: w.t},
		Ledger:   w.l,
		Policies: policy.New(w.st, clock),
		Heads:    w.cs,
		NewID:    communitytest.NewID,
		Now:      clock,
		Notify:   community.NoNotifier{},
	})
}

// filtered is the old filter's answer: the entries of community A in the
// statuses (all when none), by id.
func (w *honourWorld) filtered(statuses ...models.HonourStatus) []models.HonourEntry {
	w.t.Helper()
	es, err := w.st.HonourEntries(ctx, "A", statuses, "", 0)
	if err != nil {
		w.t.Fatal(err)
	}
	return es
}

// concernsResident is the old /me/honour rule: the entry names r, or r's
// household when it names no resident.
func concernsResident(e models.HonourEntry, r models.Resident) bool {
	if e.ResidentID != "" {
		return e.ResidentID == r.ID
	}
	return e.HouseholdID != "" && e.HouseholdID == r.HouseholdID
}

// storeLegacyEntries writes entries as a store from before the nomination
// chains and the lists held them (random ids, no slots), takes back the
// start-up backfills' marks and starts the store again, so the backfills
// put them on their lists.
func (w *honourWorld) storeLegacyEntries(es []models.HonourEntry) {
	w.t.Helper()
	client, err := mongo.Connect(options.Client().ApplyURI(w.st.Embedded().URI()))
	if err != nil {
		w.t.Fatal(err)
	}
	defer func() { _ = client.Disconnect(ctx) }()
	db := client.Database(w.st.Database())
	for _, e := range es {
		doc := bson.D{
			{Key: "_id", Value: e.ID},
			{Key: "community", Value: e.CommunityID},
			{Key: "resident", Value: e.ResidentID},
			{Key: "household", Value: e.HouseholdID},
			{Key: "category", Value: e.Category},
			{Key: "reason", Value: e.Reason},
			{Key: "nominated_by", Value: e.NominatedBy},
			{Key: "nominated", Value: e.Nominated},
			{Key: "notice_ends", Value: e.NoticeEnds},
			{Key: "status", Value: string(e.Status)},
			{Key: "listed_at", Value: e.ListedAt},
			{Key: "expires_at", Value: e.ExpiresAt},
			{Key: "revocations", Value: 0},
			{Key: "restored", Value: 0},
			{Key: "appeal_open", Value: false},
			{Key: "hidden", Value: false},
		}
		if _, err := db.Collection("honour_entries").InsertOne(ctx, doc); err != nil {
			w.t.Fatal(err)
		}
	}
	for _, mark := range []string{"done:honour-lists", "done:objection-lists", "done:honour-nominee-lists"} {
		if _, err := db.Collection("list_heads").DeleteOne(ctx, bson.D{{Key: "_id", Value: mark}}); err != nil {
			w.t.Fatal(err)
		}
	}
	for range 2 { // the second start finds the work done
		if err := w.st.EnsureSchema(ctx); err != nil {
			w.t.Fatal(err)
		}
	}
}

// legacyEntry is an expired entry of the community naming the resident
// (or the household when resident is ""), nominated days after the
// world's start.
func (w *honourWorld) legacyEntry(id, communityID, resident, household string, days int) models.HonourEntry {
	nominated := time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(days) * 24 * time.Hour)
	return models.HonourEntry{
		ID:          id,
		CommunityID: communityID,
		ResidentID:  resident,
		HouseholdID: household,
		Category:    "诚信",
		Reason:      "旧记录",
		NominatedBy: "staff-old",
		Nominated:   nominated,
		NoticeEnds:  nominated.Add(7 * 24 * time.Hour),
		Status:      models.HonourExpired,
		ListedAt:    nominated.Add(7 * 24 * time.Hour),
		ExpiresAt:   nominated.Add(30 * 24 * time.Hour),
	}
}

// honourHistory drives rounds of nominations through w's service (and
// through hs for the jobs, checked against the old filter by check):
// residents and households nominated again once their last nomination
// closed, objections upheld and left pending, listings revoked and
// appealed (restored or not), notices and listings ending over the
// rounds. Each round is 200 days, so a listing (365 days) outlives the
// next round.
func (w *honourWorld) honourHistory(rounds int, people []models.Resident, jobs func(at time.Time)) {
	w.t.Helper()
	for k := range rounds {
		var entries []models.HonourEntry
		for i, r := range people {
			e, err := w.hs.Nominate(ctx, w.staff, honour.Nomination{
				ResidentID: r.ID,
				Category:   "诚信",
				Reason:     fmt.Sprintf("第%d轮", k),
			})
			if errors.Is(err, models.ErrNominationOpen) {
				continue
			}
			if err != nil {
				w.t.Fatalf("round %d nominate %d: %v", k, i, err)
			}
			entries = append(entries, e)
			if i%4 == 1 {
				objector := people[(i+1)%len(people)]
				o, err := w.hs.Object(ctx, w.as(objector), e.ID, "需要核实")
				if err != nil {
					w.t.Fatalf("object: %v", err)
				}
				if k%2 == 0 {
					if _, err := w.hs.RuleObjection(ctx, w.staff, o.ID, true, "异议成立"); err != nil {
						w.t.Fatalf("rule: %v", err)
					}
				}
			}
		}
		household := []models.Household{w.hh1, w.hh2}[k%2]
		if _, err := w.hs.Nominate(ctx, w.staff, honour.Nomination{
			HouseholdID: household.ID,
			Category:    "文明家庭",
			Reason:      "邻里和睦",
		}); err != nil && !errors.Is(err, models.ErrNominationOpen) {
			w.t.Fatalf("household: %v", err)
		}
		w.at = w.at.Add(8 * 24 * time.Hour)
		jobs(w.at)
		for i, e := range entries {
			if i%5 != 2 || w.entry(e.ID).Status != models.HonourListed {
				continue
			}
			if _, err := w.hs.Revoke(ctx, w.staff, e.ID, "违反公约"); err != nil {
				w.t.Fatalf("revoke: %v", err)
			}
			if k%3 == 2 {
				continue // revoked, never appealed
			}
			nominee := w.entry(e.ID).ResidentID
			if _, err := w.hs.Appeal(ctx, communitytest.Resident("A", nominee), e.ID, "情况已说明"); err != nil {
				w.t.Fatalf("appeal: %v", err)
			}
			if _, err := w.hs.DecideAppeal(ctx, w.staff, e.ID, k%2 == 0, "复核"); err != nil && !errors.Is(err, models.ErrNominationOpen) {
				w.t.Fatalf("decide appeal: %v", err)
			}
		}
		w.at = w.at.Add(192 * 24 * time.Hour)
		jobs(w.at)
	}
}

// statuses maps every entry of community A to its status.
func (w *honourWorld) statuses() map[string]models.HonourStatus {
	out := map[string]models.HonourStatus{}
	for _, e := range w.filtered() {
		out[e.ID] = e.Status
	}
	return out
}

// checkListDue runs hs.ListDue at at while a resident is nominated at the
// same moment, and checks it against the old filter: exactly the
// nominations in notice whose notice is over are decided (upheld
// objection: rejected; pending one: blocked; else listed), nothing else
// changes, and a second run lists and rejects nothing and credits no
// point again.
func (w *honourWorld) checkListDue(hs *honour.Service, at time.Time, late models.Resident) {
	w.t.Helper()
	before := w.statuses()
	want := map[string]models.HonourStatus{}
	var wantListed, wantRejected, wantBlocked int
	for _, e := range w.filtered(models.HonourNotice) {
		if at.Before(e.NoticeEnds) {
			continue
		}
		os, err := w.st.Objections(ctx, e.ID)
		if err != nil {
			w.t.Fatal(err)
		}
		upheld := slices.ContainsFunc(os, func(o models.Objection) bool { return o.Status == models.ObjectionUpheld })
		pending := slices.ContainsFunc(os, func(o models.Objection) bool { return o.Status == models.ObjectionPending })
		switch {
		case upheld:
			want[e.ID] = models.HonourRejected
			wantRejected++
		case pending:
			want[e.ID] = models.HonourNotice
			wantBlocked++
		default:
			want[e.ID] = models.HonourListed
			wantListed++
		}
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	var lateErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-start
		_, lateErr = w.hs.Nominate(ctx, w.staff, honour.Nomination{
			ResidentID: late.ID,
			Category:   "诚信",
			Reason:     "同时提名",
		})
	}()
	close(start)
	listed, rejected, blocked, err := hs.ListDue(ctx, at)
	wg.Wait()
	if err != nil {
		w.t.Fatal(err)
	}
	if lateErr != nil && !errors.Is(lateErr, models.ErrNominationOpen) {
		w.t.Fatalf("concurrent nomination: %v", lateErr)
	}
	if listed != wantListed || rejected != wantRejected || blocked != wantBlocked {
		w.t.Fatalf("at %v: listed %d rejected %d blocked %d; the filter says %d %d %d", at, listed, rejected, blocked, wantListed, wantRejected, wantBlocked)
	}
	w.sameStatuses(before, want)
	points := map[string]int64{}
	for _, e := range w.filtered() {
		points[e.ResidentID] = w.points(e.ResidentID)
	}
	listed, rejected, blocked, err = hs.ListDue(ctx, at)
	if err != nil || listed != 0 || rejected != 0 || blocked != wantBlocked {
		w.t.Fatalf("second run: listed %d rejected %d blocked %d, %v", listed, rejected, blocked, err)
	}
	for id, p := range points {
		if id != "" && w.points(id) != p {
			w.t.Fatalf("%s credited again by the second run: %d, was %d", id, w.points(id), p)
		}
	}
}

// checkExpireDue runs hs.ExpireDue at at and checks it against the old
// filter: exactly the listings whose period is over are expired, nothing
// else changes, and a second run expires nothing.
func (w *honourWorld) checkExpireDue(hs *honour.Service, at time.Time) {
	w.t.Helper()
	before := w.statuses()
	want := map[string]models.HonourStatus{}
	for _, e := range w.filtered(models.HonourListed) {
		if !e.ExpiresAt.IsZero() && !at.Before(e.ExpiresAt) {
			want[e.ID] = models.HonourExpired
		}
	}
	n, err := hs.ExpireDue(ctx, at)
	if err != nil || n != len(want) {
		w.t.Fatalf("at %v: expired %d, %v; the filter says %d", at, n, err, len(want))
	}
	w.sameStatuses(before, want)
	if n, err := hs.ExpireDue(ctx, at); err != nil || n != 0 {
		w.t.Fatalf("second run expired %d, %v", n, err)
	}
}

// sameStatuses checks that every entry in before now has the status want
// names for it, or its status in before when want names none.
func (w *honourWorld) sameStatuses(before, want map[string]models.HonourStatus) {
	w.t.Helper()
	after := w.statuses()
	for id, was := range before {
		expect := was
		if st, ok := want[id]; ok {
			expect = st
		}
		if after[id] != expect {
			w.t.Fatalf("%s is %s; want %s (was %s)", id, after[id], expect, was)
		}
	}
}

// The listing and expiry jobs, reading the notice and board lists down to
// their floors instead of filtering every entry, decide exactly what the
// old filter would over a generated history (nominations again and again,
// household nominations, upheld and pending objections, revocations and
// appeals restored or dismissed), under a nomination made concurrently,
// and a second run of either decides nothing again.
func TestIssue15_HonourScans_JobsDecideWhatTheFilterWould(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	hs := w.noScanService()
	people := []models.Resident{w.zhang, w.li, w.wang, w.zhao}
	for i := range 6 {
		people = append(people, w.resident(fmt.Sprintf("居民%d", i), []string{w.hh1.ID, w.hh2.ID}[i%2]))
	}
	late := w.resident("迟到", w.hh1.ID)
	w.honourHistory(5, people, func(at time.Time) {
		w.checkListDue(hs, at, late)
		w.checkExpireDue(hs, at)
	})
	if len(w.filtered()) < 30 {
		t.Fatalf("the history holds %d entries; want at least 30", len(w.filtered()))
	}
}

// /me/honour, reading the caller's and their household's chains and the
// entries each had before the chains existed, answers exactly what the old
// filter did: over many nominations of residents and households, entries
// from before the chains and the lists (put on their nominee's list at
// start-up), and another community's old entry naming the same resident.
func TestIssue15_HonourScans_MyEntriesEqualTheFilter(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	hs := w.noScanService()
	people := []models.Resident{w.zhang, w.li, w.wang, w.zhao, w.resident("钱七", w.hh1.ID)}
	w.storeLegacyEntries([]models.HonourEntry{
		w.legacyEntry("0legacy-a", "A", w.zhang.ID, w.hh1.ID, 1),
		w.legacyEntry("zlegacy-b", "A", "", w.hh1.ID, 2),
		w.legacyEntry("legacy-c", "A", w.li.ID, w.hh1.ID, 3),
		w.legacyEntry("legacy-d", "A", w.zhang.ID, w.hh1.ID, 40),
		w.legacyEntry("legacy-e", "A", "", w.hh2.ID, 41),
		w.legacyEntry("legacy-f", "B", w.zhang.ID, "", 42),
	})
	w.honourHistory(3, people, func(at time.Time) {
		if _, _, _, err := w.hs.ListDue(ctx, at); err != nil {
			t.Fatal(err)
		}
		if _, err := w.hs.ExpireDue(ctx, at); err != nil {
			t.Fatal(err)
		}
	})
	all := w.filtered()
	sawLegacy, sawHousehold := false, false
	for _, r := range append(people, w.resident("新来的", w.hh2.ID)) {
		var want []models.HonourEntry
		for _, e := range all {
			if concernsResident(e, r) {
				want = append(want, e)
			}
		}
		got, err := hs.MyEntries(ctx, w.as(r))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("%s: %d entries %v; the filter says %d %v", r.Name, len(got), entryIDs(got), len(want), entryIDs(want))
		}
		for _, e := range got {
			sawLegacy = sawLegacy || e.NominatedBy == "staff-old"
			sawHousehold = sawHousehold || e.ResidentID == ""
		}
	}
	if !sawLegacy || !sawHousehold {
		t.Fatalf("legacy %v, household %v: the comparison did not cover them", sawLegacy, sawHousehold)
	}
}

// entryIDs names the entries' ids in order.
func entryIDs(es []models.HonourEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}
