package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/linli-community/linli/models"
)

// honourAt is the first nomination's time in these tests.
var honourAt = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// testHonourEntry is entry i of community c1, nominated i minutes after
// honourAt, in notice.
func testHonourEntry(i int) models.HonourEntry {
	nominated := honourAt.Add(time.Duration(i) * time.Minute)
	return models.HonourEntry{
		ID:          fmt.Sprintf("he%03d", i),
		CommunityID: "c1",
		ResidentID:  fmt.Sprintf("res%03d", i),
		Category:    "诚信",
		Reason:      "拾金不昧",
		NominatedBy: "staff1",
		Nominated:   nominated,
		NoticeEnds:  nominated.Add(7 * 24 * time.Hour),
		Status:      models.HonourNotice,
	}
}

// testObjection is a pending objection of resident to entry, made at at,
// in community c1.
func testObjection(id, entry, resident string, at time.Time) models.Objection {
	return models.Objection{
		ID:          id,
		EntryID:     entry,
		CommunityID: "c1",
		ResidentID:  resident,
		Reason:      "需要核实",
		At:          at,
		Status:      models.ObjectionPending,
	}
}

// walkHonour reads every page of a community's honour list, limit slots a
// page, and returns the ids in the order read.
func walkHonour(ctx context.Context, t *testing.T, s *Store, list models.HonourList, limit int, at time.Time) []string {
	t.Helper()
	return walkIDs(t, func(e models.HonourEntry) string { return e.ID }, func(cursor string) ([]models.HonourEntry, string, error) {
		return s.HonourEntriesPage(ctx, "c1", list, cursor, limit, at)
	})
}

// ids names entries from, from+1, … to, in that order.
func honourIDs(from, to int) []string {
	var out []string
	for i := from; ; {
		out = append(out, fmt.Sprintf("he%03d", i))
		if i == to {
			return out
		}
		if from < to {
			i++
		} else {
			i--
		}
	}
}

// Every nomination is on exactly one page at every page size, the latest
// first, and one nominated between two pages lands above the cursor and
// never shifts what is below it.
func TestIssue15_HonourLists_EveryPageSizeShowsEachEntryOnceNewestFirst(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	storeEach(t, 23, func(i int) error { return s.InsertHonourEntry(ctx, testHonourEntry(i+1)) })
	want := honourIDs(23, 1)
	for _, limit := range []int{1, 2, 5, 7, 23, 50} {
		if got := walkHonour(ctx, t, s, models.HonourListAll, limit, honourAt); !slices.Equal(got, want) {
			t.Fatalf("limit %d: %v; want %v", limit, got, want)
		}
	}
	page, next, err := s.HonourEntriesPage(ctx, "c1", models.HonourListAll, "", 5, honourAt)
	if err != nil || next == "" || len(page) != 5 {
		t.Fatalf("first page: %d entries, next %q, %v", len(page), next, err)
	}
	storeEach(t, 3, func(i int) error { return s.InsertHonourEntry(ctx, testHonourEntry(24+i)) })
	var rest []string
	for cursor := next; cursor != ""; {
		es, n, err := s.HonourEntriesPage(ctx, "c1", models.HonourListAll, cursor, 5, honourAt)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			rest = append(rest, e.ID)
		}
		cursor = n
	}
	if !slices.Equal(rest, honourIDs(18, 1)) {
		t.Fatalf("after three new nominations the cursor reads %v; want he018 … he001", rest)
	}
	// A repeat of a nomination is refused and listed nowhere twice.
	if err := s.InsertHonourEntry(ctx, testHonourEntry(3)); !errors.Is(err, models.ErrConflict) {
		t.Fatalf("repeat: %v", err)
	}
	if got := walkHonour(ctx, t, s, models.HonourListAll, 4, honourAt); !slices.Equal(got, honourIDs(26, 1)) {
		t.Fatalf("after a repeat: %v", got)
	}
}

// The nominations in notice and the board are read down to their floors:
// after a decade of history, the first pages move the floor over the
// entries whose notice or listing has ended for good, at most a page per
// request, and then a page reads only what is still open. An entry saved
// with a new status keeps its places on the lists.
func TestIssue15_HonourLists_NoticeAndBoardStopAtTheirFloor(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	now := honourAt.Add(3 * 365 * 24 * time.Hour)
	save := func(e models.HonourEntry) {
		t.Helper()
		if err := s.SaveHonourEntry(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	onBoard := func(e models.HonourEntry) {
		t.Helper()
		for range 2 { // a repeat of the listing appends nothing
			if err := s.ListHonourOnBoard(ctx, e.ID, e.ListedAt); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := 1; i <= 40; i++ {
		e := testHonourEntry(i)
		if err := s.InsertHonourEntry(ctx, e); err != nil {
			t.Fatal(err)
		}
		switch {
		case i <= 30: // history: listed long ago, expired
			e.Status, e.ListedAt, e.ExpiresAt = models.HonourExpired, e.NoticeEnds, e.NoticeEnds.Add(365*24*time.Hour)
			onBoard(e)
		case i == 31: // revoked, its appeal may still restore it
			e.Status, e.ListedAt, e.ExpiresAt, e.Revocations = models.HonourRevoked, now.Add(-time.Hour), now.Add(300*24*time.Hour), 1
			onBoard(e)
		case i <= 35: // listed now
			e.Status, e.ListedAt, e.ExpiresAt = models.HonourListed, now.Add(-time.Hour), now.Add(300*24*time.Hour)
			onBoard(e)
		case i == 36: // rejected
			e.Status, e.EndedAt, e.EndReason = models.HonourRejected, now, "异议成立"
		}
		save(e)
	}
	floor := func(list string) int64 {
		var d listHeadDoc
		if err := s.findByID(ctx, colListHeads, "floor:"+list, &d); err != nil && !errors.Is(err, models.ErrNotFound) {
			t.Fatal(err)
		}
		return d.N
	}
	// Page size 5: each first page moves the notice floor by five.
	for read := 1; read <= 7; read++ {
		page, _, err := s.HonourEntriesPage(ctx, "c1", models.HonourListNotice, "", 5, now)
		if err != nil {
			t.Fatal(err)
		}
		if got := floor(honourEntryList("c1")); got != int64(min(1+5*read, 37)) {
			t.Fatalf("after %d first pages the notice floor is %d", read, got)
		}
		if len(page) != 5 || page[0].ID != "he040" {
			t.Fatalf("first page %d: %v", read, page)
		}
	}
	// Now one page holds the nominations in notice and ends the list.
	page, next, err := s.HonourEntriesPage(ctx, "c1", models.HonourListNotice, "", 50, now)
	if err != nil || next != "" {
		t.Fatalf("notice: next %q, %v", next, err)
	}
	var inNotice []string
	for _, e := range page {
		if e.Status == models.HonourNotice {
			inNotice = append(inNotice, e.ID)
		}
	}
	if !slices.Equal(inNotice, honourIDs(40, 37)) {
		t.Fatalf("in notice: %v", inNotice)
	}
	for _, limit := range []int{1, 3, 50} {
		if got := walkHonour(ctx, t, s, models.HonourListNotice, limit, now); !slices.Equal(got, honourIDs(40, 37)) {
			t.Fatalf("notice at limit %d: %v", limit, got)
		}
	}
	// The board: the revoked listing holds the floor (an appeal may
	// restore it), everything below it has ended.
	if got := walkHonour(ctx, t, s, models.HonourListBoard, 50, now); !slices.Equal(got, honourIDs(35, 31)) {
		t.Fatalf("board: %v", got)
	}
	if got := floor(honourBoardList("c1")); got != 31 {
		t.Fatalf("board floor %d; want 31", got)
	}
	// A first page whose floor stays where it is reads the floor's first
	// slot and its entry, not a batch of them: 14 finds for the five
	// entries on the board here, against 22 when the walk began with
	// eight.
	commands := watchCommands(s)
	if _, _, err := s.HonourEntriesPage(ctx, "c1", models.HonourListBoard, "", 50, now); err != nil {
		t.Fatal(err)
	}
	if finds := commands.finds(); finds > 16 {
		t.Fatalf("a board page whose floor stays sent %d finds; want at most 16", finds)
	}
	for _, limit := range []int{1, 2, 4} {
		if got := walkHonour(ctx, t, s, models.HonourListBoard, limit, now); !slices.Equal(got, honourIDs(35, 31)) {
			t.Fatalf("board at limit %d: %v", limit, got)
		}
	}
	// The full list keeps every nomination, with its new status.
	all := walkHonour(ctx, t, s, models.HonourListAll, 16, now)
	if !slices.Equal(all, honourIDs(40, 1)) {
		t.Fatalf("all: %v", all)
	}
	// A new nomination and a new listing are above the floors.
	e := testHonourEntry(41)
	if err := s.InsertHonourEntry(ctx, e); err != nil {
		t.Fatal(err)
	}
	listed, err := s.HonourEntry(ctx, "he037")
	if err != nil {
		t.Fatal(err)
	}
	listed.Status, listed.ListedAt, listed.ExpiresAt = models.HonourListed, now, now.Add(365*24*time.Hour)
	onBoard(listed)
	save(listed)
	if got := walkHonour(ctx, t, s, models.HonourListNotice, 2, now); !slices.Equal(got, []string{"he041", "he040", "he039", "he038"}) {
		t.Fatalf("notice after a nomination and a listing: %v", got)
	}
	if got := walkHonour(ctx, t, s, models.HonourListBoard, 2, now); !slices.Equal(got, append([]string{"he037"}, honourIDs(35, 31)...)) {
		t.Fatalf("board after a listing: %v", got)
	}
}

// A board slot whose entry never named it (the listing died between the
// two writes) is skipped, and the repeated listing puts the entry on the
// board once; a stranded slot older than a day does not hold the floor.
func TestIssue15_HonourLists_BoardSlotWithoutItsEntryIsSkipped(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	now := honourAt.Add(30 * 24 * time.Hour)
	e := testHonourEntry(1)
	if err := s.InsertHonourEntry(ctx, e); err != nil {
		t.Fatal(err)
	}
	// The crash: the slot, not the entry's naming of it.
	if _, err := s.insertListed(ctx, colHonourEntries, []string{honourBoardList("c1")}, e.ID, honourAt, nil); err != nil {
		t.Fatal(err)
	}
	if got := walkHonour(ctx, t, s, models.HonourListBoard, 5, now); len(got) != 0 {
		t.Fatalf("a slot its entry does not name is read: %v", got)
	}
	e.Status, e.ListedAt, e.ExpiresAt = models.HonourListed, now, now.Add(365*24*time.Hour)
	if err := s.ListHonourOnBoard(ctx, e.ID, now); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveHonourEntry(ctx, e); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{1, 5} {
		if got := walkHonour(ctx, t, s, models.HonourListBoard, limit, now); !slices.Equal(got, []string{e.ID}) {
			t.Fatalf("limit %d: %v; want the entry once", limit, got)
		}
	}
	var d listHeadDoc
	if err := s.findByID(ctx, colListHeads, "floor:"+honourBoardList("c1"), &d); err != nil || d.N != 2 {
		t.Fatalf("board floor %d, %v; want 2 (past the stranded slot)", d.N, err)
	}
}

// A cursor a list did not give out is INVALID_CURSOR, with a Chinese
// message, on every honour list and the objections.
func TestIssue15_HonourLists_BadCursorIsRefused(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	storeEach(t, 3, func(i int) error { return s.InsertHonourEntry(ctx, testHonourEntry(i+1)) })
	if err := s.InsertObjection(ctx, testObjection("o1", "he001", "r9", honourAt)); err != nil {
		t.Fatal(err)
	}
	for _, list := range []models.HonourList{models.HonourListAll, models.HonourListNotice, models.HonourListBoard} {
		for _, c := range []string{"x", "-5", "1", "0", "04", "3.5", "99", "20261121.2"} {
			_, _, err := s.HonourEntriesPage(ctx, "c1", list, c, 10, honourAt)
			var e *models.Error
			if !errors.Is(err, models.ErrBadCursor) || !errors.As(err, &e) || e.DetailZh == "" {
				t.Errorf("%s cursor %q: %v; want INVALID_CURSOR in Chinese", list, c, err)
			}
		}
	}
	for _, c := range []string{"x", "1", "9"} {
		if _, _, err := s.EntryObjections(ctx, "he001", c, 10); !errors.Is(err, models.ErrBadCursor) {
			t.Errorf("objections cursor %q: %v; want INVALID_CURSOR", c, err)
		}
	}
}

// An entry's objections page by cursor, each once; a repeat is refused
// and not listed twice; a ruling saved keeps its place.
func TestIssue15_HonourLists_ObjectionsByCursor(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	for i := 1; i <= 9; i++ {
		o := testObjection(fmt.Sprint("o", i), "he001", fmt.Sprint("r", i), honourAt.Add(time.Duration(i)*time.Minute))
		if err := s.InsertObjection(ctx, o); err != nil {
			t.Fatal(err)
		}
		if i == 4 {
			if err := s.InsertObjection(ctx, o); !errors.Is(err, models.ErrConflict) {
				t.Fatalf("repeat: %v", err)
			}
			o.Status, o.RuledBy, o.RuledAt, o.Ruling = models.ObjectionDismissed, "staff1", honourAt, "已核实"
			if err := s.SaveObjection(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.InsertObjection(ctx, testObjection("other", "he002", "r1", honourAt)); err != nil {
		t.Fatal(err)
	}
	want := []string{"o9", "o8", "o7", "o6", "o5", "o4", "o3", "o2", "o1"}
	for _, limit := range []int{1, 2, 4, 9, 50} {
		var got []string
		for _, o := range walkPages(t, func(cursor string) ([]models.Objection, string, error) {
			return s.EntryObjections(ctx, "he001", cursor, limit)
		}) {
			got = append(got, o.ID)
			if o.ID == "o4" && o.Status != models.ObjectionDismissed {
				t.Fatalf("the ruling was not kept: %+v", o)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("limit %d: %v", limit, got)
		}
	}
	all, err := s.Objections(ctx, "he001")
	if err != nil || len(all) != 9 {
		t.Fatalf("all objections: %d, %v", len(all), err)
	}
}

// Entries and objections stored before their lists existed are put on
// them once at the next start, in the order they were made, whatever
// their ids' order; a listed one on the board too.
func TestIssue15_HonourLists_StoredBeforeListsAreListedAtStart(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	now := honourAt.Add(30 * 24 * time.Hour)
	for _, i := range []int{5, 2, 8, 1, 7, 3, 6, 4} {
		e := testHonourEntry(i)
		e.ID = fmt.Sprintf("legacy-%c", 'z'-rune(i)) // ids in the other order
		if i%2 == 0 {
			e.Status, e.ListedAt, e.ExpiresAt = models.HonourListed, e.NoticeEnds, now.Add(24*time.Hour)
		}
		if err := s.insert(ctx, colHonourEntries, toHonourEntryDoc(e)); err != nil {
			t.Fatal(err)
		}
		if err := s.insert(ctx, colObjections, toObjectionDoc(testObjection(fmt.Sprint("lo", i), "legacy-y", fmt.Sprint("r", i), e.Nominated))); err != nil {
			t.Fatal(err)
		}
	}
	forgetBackfills(t, s, "honour-lists", "objection-lists")
	startTwice(t, s.EnsureSchema) // the second start finds the work done
	name := func(i int) string { return fmt.Sprintf("legacy-%c", 'z'-rune(i)) }
	var want, wantBoard []string
	for i := 8; i >= 1; i-- {
		want = append(want, name(i))
		if i%2 == 0 {
			wantBoard = append(wantBoard, name(i))
		}
	}
	if got := walkHonour(ctx, t, s, models.HonourListAll, 3, now); !slices.Equal(got, want) {
		t.Fatalf("all: %v; want %v", got, want)
	}
	if got := walkHonour(ctx, t, s, models.HonourListBoard, 3, now); !slices.Equal(got, wantBoard) {
		t.Fatalf("board: %v; want %v", got, wantBoard)
	}
	if got, err := s.Objections(ctx, "legacy-y"); err != nil || len(got) != 8 || got[0].ID != "lo8" || got[7].ID != "lo1" {
		t.Fatalf("objections: %v, %v", got, err)
	}
}

// Nominations stored while others page through the list: every walk sees
// each nomination that was there when it began exactly once, in order,
// and never one twice.
func TestIssue15_HonourLists_PagesWhileNominationsAreStoredConcurrently(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	storeEach(t, 20, func(i int) error { return s.InsertHonourEntry(ctx, testHonourEntry(i+1)) })
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 4 { // writers
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for k := range 6 {
				if err := s.InsertHonourEntry(ctx, testHonourEntry(100+w*10+k)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	walks := make([][]string, 4)
	for r := range walks { // readers
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			cursor := ""
			for {
				es, next, err := s.HonourEntriesPage(ctx, "c1", models.HonourListAll, cursor, 3+r, honourAt)
				if err != nil {
					errs <- err
					return
				}
				for _, e := range es {
					walks[r] = append(walks[r], e.ID)
				}
				if next == "" {
					return
				}
				cursor = next
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for r, walk := range walks {
		seen := map[string]bool{}
		for _, id := range walk {
			if seen[id] {
				t.Fatalf("walk %d read %s twice: %v", r, id, walk)
			}
			seen[id] = true
		}
		old := []string{}
		for _, id := range walk {
			if id < "he100" {
				old = append(old, id)
			}
		}
		if !slices.Equal(old, honourIDs(20, 1)) {
			t.Fatalf("walk %d read the first twenty as %v", r, old)
		}
	}
	if got := walkHonour(ctx, t, s, models.HonourListAll, 7, honourAt); len(got) != 44 {
		t.Fatalf("after the writers the list holds %d; want 44", len(got))
	}
}

// BenchmarkIssue15_HonourBoardFirstPage reads the board's first page (50)
// after history expired listings and 20 current ones, once the floor has
// passed the history: the figure should not grow with history. The
// "filter" figures are the read the board made before its list (every
// listed entry of the community by a filter: a scan in Go on the
// embedded store).
// go test -run '^$' -bench Issue15_HonourBoard -benchtime 20x ./store/
func BenchmarkIssue15_HonourBoardFirstPage(b *testing.B) {
	for _, history := range []int{100, 5000} {
		b.Run(fmt.Sprint("history=", history), func(b *testing.B) {
			s := listsStore(b)
			ctx := context.Background()
			now := honourAt.Add(20 * 365 * 24 * time.Hour)
			list := honourBoardList("c1")
			var batch []any
			flush := func() {
				if len(batch) == 0 {
					return
				}
				if _, err := s.c(colHonourEntries).InsertMany(ctx, batch); err != nil {
					b.Fatal(err)
				}
				batch = batch[:0]
			}
			for i := 1; i <= history+20; i++ {
				e := testHonourEntry(i)
				e.ID = fmt.Sprintf("bench%06d", i)
				e.Status, e.ListedAt, e.ExpiresAt = models.HonourExpired, e.NoticeEnds, e.NoticeEnds.Add(365*24*time.Hour)
				if i > history {
					e.Status, e.ExpiresAt = models.HonourListed, now.Add(365*24*time.Hour)
				}
				d := toHonourEntryDoc(e)
				d.Slots = []slotRef{{List: list, N: int64(i)}}
				slot := listSlotDoc{
					ID:  slotID(list, int64(i)),
					Ref: e.ID,
					At:  e.ListedAt,
				}
				batch = append(batch, slot, d)
				if len(batch) >= 1000 {
					flush()
				}
			}
			flush()
			for range history/50 + 2 { // the floor passes the history a page at a time
				if _, _, err := s.HonourEntriesPage(ctx, "c1", models.HonourListBoard, "", 50, now); err != nil {
					b.Fatal(err)
				}
			}
			b.Run("list", func(b *testing.B) {
				for range b.N {
					page, next, err := s.HonourEntriesPage(ctx, "c1", models.HonourListBoard, "", 50, now)
					if err != nil || len(page) != 20 || next != "" {
						b.Fatalf("page of %d, next %q, %v", len(page), next, err)
					}
				}
			})
			b.Run("filter", func(b *testing.B) {
				for range b.N {
					es, err := s.HonourEntries(ctx, "c1", []models.HonourStatus{models.HonourListed}, "", 0)
					if err != nil || len(es) != 20 {
						b.Fatalf("%d listed, %v", len(es), err)
					}
				}
			})
		})
	}
}
