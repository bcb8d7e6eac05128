package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/models"
)

// testTerm is term n of seat in c1, held by resident from start.
func testTerm(seat string, n int, resident string, start time.Time) models.HeadTerm {
	return models.HeadTerm{
		ID:          fmt.Sprintf("%s#%d", seat, n),
		CommunityID: "c1",
		Seat:        seat,
		N:           n,
		Role:        models.HeadBuilding,
		BuildingID:  strings.TrimPrefix(seat, "building:"),
		ResidentID:  resident,
		Start:       start.UTC().Truncate(time.Millisecond),
		AppointedBy: "staff1",
	}
}

// testDuty is duty of term (held by resident) in month, logged at at.
func testDuty(community, term, resident, month, duty string, at time.Time) models.Duty {
	return models.Duty{
		ID:          term + ":" + month + ":" + duty,
		CommunityID: community,
		TermID:      term,
		ResidentID:  resident,
		Month:       month,
		Duty:        duty,
		Evidence:    "巡查记录",
		Status:      models.DutyPending,
		Logged:      at.UTC().Truncate(time.Millisecond),
	}
}

// dutyIDs are the ids of the duties a list read, in order.
func dutyIDs(ds []models.Duty) []string {
	return idsOf(ds, func(d models.Duty) string { return d.ID })
}

// termIDs are the ids of the terms a list read, in order.
func termIDs(ts []models.HeadTerm) []string {
	return idsOf(ts, func(term models.HeadTerm) string { return term.ID })
}

// sorted is ids in order.
func sorted(ids []string) []string { return slices.Sorted(slices.Values(ids)) }

// headReads reads the lists the heads' screens show: c1's duties of
// 2026-10, resident h1's, term building:b1#1's, c1's terms and seat
// building:b1's.
func headReads(ctx context.Context, s *Store) ([5][]string, error) {
	var out [5][]string
	month, err := s.Duties(ctx, "c1", "", "2026-10")
	if err != nil {
		return out, err
	}
	mine, err := s.ResidentDuties(ctx, "c1", "h1", "")
	if err != nil {
		return out, err
	}
	term, err := s.Duties(ctx, "c1", "building:b1#1", "")
	if err != nil {
		return out, err
	}
	terms, err := s.HeadTerms(ctx, "c1", "")
	if err != nil {
		return out, err
	}
	seat, err := s.HeadTerms(ctx, "c1", "building:b1")
	if err != nil {
		return out, err
	}
	return [5][]string{dutyIDs(month), dutyIDs(mine), dutyIDs(term), termIDs(terms), termIDs(seat)}, nil
}

// Issue 15 (duties and heads' terms are lists of their own): while duties
// and terms are added (in this community and another) and old ones are
// saved again (ruled, ended), readers of a month's duties, a head's, a
// term's, the community's terms and a seat's see every one stored before
// they began exactly once, by id, and nothing of another month, head,
// term, seat or community; afterwards each reads all its items once, with
// no scan, and the saved fields stand.
func TestIssue15_HeadLists_ReadWhileInsertedAndSaved(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	base := time.Date(2026, 10, 3, 2, 0, 0, 0, time.UTC)
	var want [5][]string // month, mine, term, terms, seat
	var oldDuties []models.Duty
	var oldTerms []models.HeadTerm
	for i := range 6 {
		seat := fmt.Sprint("building:b", i%3)
		term := testTerm(seat, i/3+1, fmt.Sprint("h", i%2), base.Add(time.Duration(i)*time.Hour))
		if err := s.InsertHeadTerm(ctx, term); err != nil {
			t.Fatal(err)
		}
		oldTerms = append(oldTerms, term)
		want[3] = append(want[3], term.ID)
		if seat == "building:b1" {
			want[4] = append(want[4], term.ID)
		}
		for _, month := range []string{"2026-09", "2026-10"} {
			d := testDuty("c1", term.ID, term.ResidentID, month, "巡楼", base.Add(time.Duration(i)*time.Minute))
			if err := s.InsertDuty(ctx, d); err != nil {
				t.Fatal(err)
			}
			oldDuties = append(oldDuties, d)
			if month == "2026-10" {
				want[0] = append(want[0], d.ID)
			}
			if d.ResidentID == "h1" {
				want[1] = append(want[1], d.ID)
			}
			if d.TermID == "building:b1#1" {
				want[2] = append(want[2], d.ID)
			}
		}
	}
	const writers, readers, each = 3, 2, 8
	reads := make([][][5][]string, readers)
	atonce.Run(writers+readers, func(w int) {
		if w >= writers {
			for range 4 {
				got, err := headReads(ctx, s)
				if err != nil {
					t.Error(err)
					return
				}
				reads[w-writers] = append(reads[w-writers], got)
			}
			return
		}
		for i := range each {
			at := base.Add(24 * time.Hour)
			seat := fmt.Sprintf("building:n%d-%d", w, i)
			if err := s.InsertHeadTerm(ctx, testTerm(seat, 1, "h1", at)); err != nil {
				t.Error(err)
			}
			other := testTerm(seat, 1, "h1", at)
			other.CommunityID, other.ID = "c2", "c2:"+other.ID
			if err := s.InsertHeadTerm(ctx, other); err != nil {
				t.Error(err)
			}
			for _, d := range []models.Duty{
				testDuty("c1", seat+"#1", "h1", "2026-10", "巡楼", at),
				testDuty("c1", seat+"#1", "h1", "2026-11", "巡楼", at),
				testDuty("c2", "c2:"+seat+"#1", "h1", "2026-10", "巡楼", at),
			} {
				if err := s.InsertDuty(ctx, d); err != nil {
					t.Error(err)
				}
			}
			// An old duty ruled and an old term ended: saved over.
			d := oldDuties[(w*each+i)%len(oldDuties)]
			d.Status, d.RuledBy, d.RuledAt, d.Note = models.DutyRejected, "staff1", at, "缺照片"
			if err := s.SaveDuty(ctx, d); err != nil {
				t.Error(err)
			}
			term := oldTerms[(w*each+i)%len(oldTerms)]
			term.End, term.EndKind, term.EndReason = at, "retire", "搬家"
			if err := s.SaveHeadTerm(ctx, term); err != nil {
				t.Error(err)
			}
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	names := [5]string{"c1's October duties", "h1's duties", "b1#1's duties", "c1's terms", "b1's terms"}
	for _, rs := range reads {
		for _, r := range rs {
			for k, ids := range r {
				if !slices.IsSorted(ids) {
					t.Fatalf("%s, read while writing, are not by id: %v", names[k], ids)
				}
				seen := map[string]int{}
				for _, id := range ids {
					seen[id]++
					if seen[id] > 1 || strings.HasPrefix(id, "c2:") || strings.Contains(id, "2026-11") && k != 1 {
						t.Fatalf("%s, read while writing, show %s again or of another list: %v", names[k], id, ids)
					}
				}
				for _, id := range want[k] {
					if seen[id] != 1 {
						t.Fatalf("%s, read while writing, miss %s: %v", names[k], id, ids)
					}
				}
			}
		}
	}
	for w := range writers {
		for i := range each {
			seat := fmt.Sprintf("building:n%d-%d", w, i)
			want[0] = append(want[0], seat+"#1:2026-10:巡楼")
			want[1] = append(want[1], seat+"#1:2026-10:巡楼", seat+"#1:2026-11:巡楼")
			want[3] = append(want[3], seat+"#1")
		}
	}
	commands := watchCommands(s)
	got, err := headReads(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	for k := range got {
		if !slices.Equal(got[k], sorted(want[k])) {
			t.Fatalf("%s read %v; want %v", names[k], got[k], sorted(want[k]))
		}
	}
	commands.wantNoScans(t, "reading the lists")
	if ds, err := s.ResidentDuties(ctx, "c1", "h1", "2026-11"); err != nil || len(ds) != writers*each {
		t.Fatalf("h1's November duties read %d (%v); want %d", len(ds), err, writers*each)
	}
	if ds, err := s.Duties(ctx, "c2", "", ""); err != nil || len(ds) != writers*each {
		t.Fatalf("c2's duties read %d (%v); want %d", len(ds), err, writers*each)
	}
	d, err := s.Duty(ctx, oldDuties[0].ID)
	if err != nil || d.Status != models.DutyRejected || d.Note != "缺照片" {
		t.Fatalf("a saved duty reads %+v, %v", d, err)
	}
	term, err := s.HeadTerm(ctx, oldTerms[0].ID)
	if err != nil || term.EndKind != "retire" || term.End.IsZero() {
		t.Fatalf("a saved term reads %+v, %v", term, err)
	}
}

// A duty logged again after it was rejected is saved whole as a replace
// would: its ruling is gone (not left behind by a field-by-field save),
// and it keeps its places on its lists.
func TestIssue15_HeadLists_SaveClearsWhatTheNewDocumentLeavesOut(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	at := time.Date(2026, 10, 3, 2, 0, 0, 0, time.UTC)
	d := testDuty("c1", "building:b1#1", "h1", "2026-10", "巡楼", at)
	if err := s.InsertDuty(ctx, d); err != nil {
		t.Fatal(err)
	}
	ruled := d
	ruled.Status, ruled.RuledBy, ruled.RuledAt, ruled.Note = models.DutyRejected, "staff1", at.Add(time.Hour), "缺照片"
	if err := s.SaveDuty(ctx, ruled); err != nil {
		t.Fatal(err)
	}
	again := d
	again.Evidence, again.PhotoURL = "补了照片", "https://example.org/p.jpg"
	if err := s.SaveDuty(ctx, again); err != nil {
		t.Fatal(err)
	}
	got, err := s.Duty(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != models.DutyPending || got.RuledBy != "" || !got.RuledAt.IsZero() || got.Note != "" || got.Evidence != "补了照片" {
		t.Fatalf("the duty logged again reads %+v; want pending with no ruling", got)
	}
	for _, read := range []func() ([]models.Duty, error){
		func() ([]models.Duty, error) { return s.Duties(ctx, "c1", "", "") },
		func() ([]models.Duty, error) { return s.Duties(ctx, "c1", "", "2026-10") },
		func() ([]models.Duty, error) { return s.Duties(ctx, "c1", "building:b1#1", "") },
		func() ([]models.Duty, error) { return s.ResidentDuties(ctx, "c1", "h1", "2026-10") },
	} {
		if ds, err := read(); err != nil || fmt.Sprint(dutyIDs(ds)) != "["+d.ID+"]" {
			t.Fatalf("a list reads %v, %v; want the duty once", dutyIDs(ds), err)
		}
	}
	if err := s.SaveDuty(ctx, testDuty("c1", "building:b1#1", "h1", "2026-10", "没有", at)); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("saving a duty never logged: %v; want ErrNotFound", err)
	}
}

// Terms and duties stored before their lists existed (no slots) are put on
// them once at the next start and are then read like the others; a
// second start finds its marks and lists nothing again.
func TestIssue15_HeadLists_StoredBeforeAreListedOnceAtStart(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	at := time.Date(2026, 10, 3, 2, 0, 0, 0, time.UTC)
	storeEach(t, 4, func(i int) error {
		term := testTerm("building:b1", i+1, fmt.Sprint("h", i), at.Add(time.Duration(i)*time.Hour))
		if err := s.insert(ctx, colHeadTerms, toHeadTermDoc(term)); err != nil {
			return err
		}
		return s.insert(ctx, colDuties, toDutyDoc(testDuty("c1", term.ID, term.ResidentID, "2026-10", "巡楼", at)))
	})
	forgetBackfills(t, s, "head-term-lists", "duty-lists")
	if ts, err := s.HeadTerms(ctx, "c1", ""); err != nil || len(ts) != 0 {
		t.Fatalf("before the start c1's terms read %v, %v", termIDs(ts), err)
	}
	startTwice(t, s.EnsureSchema)
	got, err := headReads(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	want := [5]string{
		"[building:b1#1:2026-10:巡楼 building:b1#2:2026-10:巡楼 building:b1#3:2026-10:巡楼 building:b1#4:2026-10:巡楼]",
		"[building:b1#2:2026-10:巡楼]",
		"[building:b1#1:2026-10:巡楼]",
		"[building:b1#1 building:b1#2 building:b1#3 building:b1#4]",
		"[building:b1#1 building:b1#2 building:b1#3 building:b1#4]",
	}
	for k := range got {
		if fmt.Sprint(got[k]) != want[k] {
			t.Fatalf("after the start read %v; want %s", got[k], want[k])
		}
	}
	for list, n := range map[string]int64{
		"htc:c1":             4,
		"hts:c1:building:b1": 4,
		"hdc:c1":             4,
		"hdm:c1:2026-10":     4,
		"hdr:h1":             1,
	} {
		col := colDuties
		if strings.HasPrefix(list, "ht") {
			col = colHeadTerms
		}
		if head, err := s.listHead(ctx, col, list); err != nil || head != n {
			t.Fatalf("%s has %d slots (%v); want %d", list, head, err, n)
		}
	}
}
