package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// testLine is the line of event n of partner shop1 in statement.
func testLine(statement string, n int, at time.Time) models.StatementLine {
	e := models.SettlementEvent{
		ID:           fmt.Sprintf("fulfil:e%03d", n),
		CommunityID:  "c1",
		PartnerID:    "shop1",
		Kind:         models.EventFulfilled,
		RedemptionID: fmt.Sprintf("e%03d", n),
		Description:  "豆浆",
		ValueFen:     models.Fen(100 + n),
		Bearer:       models.BearerCommunity,
		At:           at.Add(time.Duration(n) * time.Minute).UTC().Truncate(time.Millisecond),
	}
	return models.StatementLine{
		ID:          models.StatementLineID(e.ID),
		StatementID: statement,
		Event:       e,
	}
}

// walkLines reads every page of a statement's lines, limit slots a page,
// and returns the line ids in the order read, failing on a line of
// another statement or a page after the last.
func walkLines(ctx context.Context, t *testing.T, s *Store, statement string, limit int) []string {
	t.Helper()
	return walkIDs(t, func(l models.StatementLine) string {
		if l.StatementID != statement {
			t.Fatalf("%s's lines show %s of %s", statement, l.ID, l.StatementID)
		}
		return l.ID
	}, func(cursor string) ([]models.StatementLine, string, error) {
		ls, next, err := s.StatementLines(ctx, statement, cursor, limit)
		if len(ls) > limit {
			t.Fatalf("a page of %d holds %d lines", limit, len(ls))
		}
		return ls, next, err
	})
}

// lineIDs are the ids of lines, in order.
func lineIDs(lines []models.StatementLine) []string {
	return idsOf(lines, func(l models.StatementLine) string { return l.ID })
}

// Crash points of a statement's lines (docs/PERFORMANCE.md, "Lists"):
// slots written and their lines not (as the crash leaves them on MongoDB),
// and a slot whose line insert met the stored line, are skipped; the
// repeat (resumed or not, in another process that never saw the slots)
// writes the missing lines after new slots, so every line is listed once,
// whatever the page size. An event's line already on another statement is
// left out of this one and off its list.
func TestIssue15_Statements_LineSlotWithoutItsLineIsSkippedAndTheRepeatListedOnce(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	at := time.Date(2026, 10, 3, 2, 0, 0, 0, time.UTC)
	const id = "settle:shop1:2026-10"
	var lines []models.StatementLine
	for n := range 40 {
		lines = append(lines, testLine(id, n, at))
	}
	// Event 39 is on another statement already.
	elsewhere := testLine("settle:shop1:2026-09", 39, at)
	if got, err := s.ClaimStatementLines(ctx, []models.StatementLine{elsewhere}, false); err != nil || len(got) != 1 {
		t.Fatalf("the other statement's line: %v, %v", got, err)
	}
	// The dead run: lines 0–19 written, then the slots of lines 20–29
	// written and the lines not, then a slot for line 5, whose insert met
	// the stored line.
	if got, err := s.ClaimStatementLines(ctx, lines[:20], false); err != nil || len(got) != 20 {
		t.Fatalf("the first lines: %d, %v", len(got), err)
	}
	for _, l := range append(slices.Clone(lines[20:30]), lines[5]) {
		if _, err := s.insertListed(ctx, colStatementLines, []string{lineList(id)}, l.ID, l.Event.At, nil); err != nil {
			t.Fatal(err)
		}
	}
	want := lineIDs(lines[:20])
	slices.Reverse(want)
	for _, limit := range []int{1, 2, 3, 7, 31, 100} {
		if got := walkLines(ctx, t, s, id, limit); !slices.Equal(got, want) {
			t.Fatalf("after the crash, pages of %d read %v; want %v", limit, got, want)
		}
	}
	// The repeats, in another process that never saw the slots: one not
	// told it resumes (the first stored line stops its insert, the rest are
	// looked up), then one that is, over every line.
	other := openReplica(t, s)
	got, err := other.ClaimStatementLines(ctx, lines[10:35], false)
	if err != nil || len(got) != 25 {
		t.Fatalf("the repeat of lines 10–34 stands with %d lines, %v; want 25", len(got), err)
	}
	got, err = s.ClaimStatementLines(ctx, lines, true)
	if err != nil {
		t.Fatal(err)
	}
	if ids := lineIDs(got); len(ids) != 39 || slices.Contains(ids, elsewhere.ID) {
		t.Fatalf("the resumed run stands with %d lines %v; want 39, without the other statement's", len(ids), ids)
	}
	seen := map[string]int{}
	for _, limit := range []int{1, 2, 3, 4, 5, 7, 16, 31, 39, 40, 100} {
		ids := walkLines(ctx, t, s, id, limit)
		for _, l := range ids {
			seen[l]++
		}
		if len(ids) != 39 {
			t.Fatalf("pages of %d read %d lines %v; want 39", limit, len(ids), ids)
		}
		for _, l := range lines[:39] {
			if !slices.Contains(ids, l.ID) {
				t.Fatalf("pages of %d miss %s", limit, l.ID)
			}
		}
		if slices.Contains(ids, elsewhere.ID) {
			t.Fatalf("pages of %d show the other statement's line", limit)
		}
	}
	for l, n := range seen {
		if n != 11 {
			t.Fatalf("%s read %d times over 11 walks", l, n)
		}
	}
	// Newest first: the lines only the resumed run wrote, then those the
	// first repeat wrote.
	newest := lineIDs(lines[20:39])
	slices.Reverse(newest)
	if first := walkLines(ctx, t, s, id, 100); !slices.Equal(first[:19], newest) {
		t.Fatalf("newest first reads %v; want %v first", first, newest)
	}
	// The export's stream reads the same 39 lines once each, oldest first,
	// along the list: no scan of every statement's lines.
	scans := s.CommandCounts().Scans
	var streamed []string
	if err := s.EachStatementLine(ctx, id, func(l models.StatementLine) error {
		streamed = append(streamed, l.ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	oldest := walkLines(ctx, t, s, id, 100)
	slices.Reverse(oldest)
	if !slices.Equal(streamed, oldest) {
		t.Fatalf("the export streams %v; want the list oldest first %v", streamed, oldest)
	}
	if n := s.CommandCounts().Scans - scans; n != 0 {
		t.Fatalf("streaming the lines sent %d scans; want 0", n)
	}
}

// walkStatements reads every page of a community's statements with the
// filter, limit slots a page, and returns the ids in the order read.
func walkStatements(ctx context.Context, t *testing.T, s *Store, community, partner, month string, limit int) []string {
	t.Helper()
	return walkIDs(t, func(st models.Statement) string {
		if st.CommunityID != community || (partner != "" && st.PartnerID != partner) || (month != "" && st.Month.String() != month) {
			t.Fatalf("the list of %s/%s/%s shows %+v", community, partner, month, st)
		}
		return st.ID
	}, func(cursor string) ([]models.Statement, string, error) {
		return s.Statements(ctx, community, partner, month, cursor, limit)
	})
}

// testStatement is partner's statement of month in community.
func testStatement(community, partner string, month models.Month, created time.Time) models.Statement {
	return models.Statement{
		ID:          models.StatementID(partner, month),
		CommunityID: community,
		PartnerID:   partner,
		PartnerName: partner,
		Month:       month,
		Lines:       1,
		TotalFen:    100,
		Status:      models.StatementDraft,
		Created:     created.UTC().Truncate(time.Millisecond),
	}
}

// A community's statements are lists of their own (the community's, a
// partner's, a month's), read newest first a page at a time whatever the
// page size; a partner's month is its one statement. A second header
// insert (a concurrent run that lost) leaves a slot naming nothing, which
// is skipped. Statements and lines stored before their lists existed are
// put on them once at the first start, in the order they were made.
func TestIssue15_Statements_ListsByCommunityPartnerAndMonthNewestFirst(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	base := time.Date(2026, 2, 1, 2, 0, 0, 0, time.UTC)
	month := func(i int) models.Month { return models.MonthOf(base.AddDate(0, i, -1), time.UTC) }
	var all, p1, jun []string // newest first
	add := func(st models.Statement) {
		all = append([]string{st.ID}, all...)
		if st.PartnerID == "p1" {
			p1 = append([]string{st.ID}, p1...)
		}
		if st.Month.String() == "2026-06" {
			jun = append([]string{st.ID}, jun...)
		}
	}
	// Six months stored before the lists, as they were then: no slots.
	for i := range 6 {
		for _, partner := range []string{"p1", "p2", "p3"} {
			st := testStatement("c1", partner, month(i), base.AddDate(0, i, 0))
			if err := s.insert(ctx, colStatements, statementDoc{
				ID:        st.ID,
				Community: st.CommunityID,
				Partner:   st.PartnerID,
				Month:     st.Month.String(),
				Lines:     st.Lines,
				TotalFen:  int64(st.TotalFen),
				Status:    string(st.Status),
				Created:   st.Created,
			}); err != nil {
				t.Fatal(err)
			}
			add(st)
		}
	}
	// The old statement's lines, stored before their list too.
	old := models.StatementID("p1", month(2))
	storeEach(t, 5, func(n int) error {
		return s.insert(ctx, colStatementLines, toLineDoc(testLine(old, n, base)))
	})
	forgetBackfills(t, s, "statement-lists", "statement-line-lists")
	startTwice(t, s.listEverythingStoredBefore) // the second start reads the done marks and lists nothing again
	// Six months since.
	for i := 6; i < 12; i++ {
		for _, partner := range []string{"p1", "p2", "p3"} {
			st := testStatement("c1", partner, month(i), base.AddDate(0, i, 0))
			if err := s.InsertStatement(ctx, st); err != nil {
				t.Fatal(err)
			}
			add(st)
		}
		// Another community's statement is on none of c1's lists.
		if err := s.InsertStatement(ctx, testStatement("c2", "q1", month(i), base.AddDate(0, i, 0))); err != nil {
			t.Fatal(err)
		}
	}
	// A run that lost the header insert to another.
	again := testStatement("c1", "p2", month(11), base.AddDate(0, 11, 0))
	if err := s.InsertStatement(ctx, again); !errors.Is(err, models.ErrConflict) {
		t.Fatalf("a second header of one statement: %v; want ErrConflict", err)
	}
	for _, limit := range []int{1, 2, 3, 5, 36, 50} {
		if got := walkStatements(ctx, t, s, "c1", "", "", limit); !slices.Equal(got, all) {
			t.Fatalf("community pages of %d read %v; want %v", limit, got, all)
		}
		if got := walkStatements(ctx, t, s, "c1", "p1", "", limit); !slices.Equal(got, p1) {
			t.Fatalf("partner pages of %d read %v; want %v", limit, got, p1)
		}
		if got := walkStatements(ctx, t, s, "c1", "", "2026-06", limit); !slices.Equal(got, jun) {
			t.Fatalf("month pages of %d read %v; want %v", limit, got, jun)
		}
	}
	if got := walkStatements(ctx, t, s, "c1", "p1", "2026-03", 10); fmt.Sprint(got) != "["+models.StatementID("p1", month(2))+"]" {
		t.Fatalf("p1's March reads %v", got)
	}
	if got := walkStatements(ctx, t, s, "c2", "p1", "2026-03", 10); len(got) != 0 {
		t.Fatalf("c2 reads c1's statement %v", got)
	}
	if got := walkStatements(ctx, t, s, "c2", "", "", 4); len(got) != 6 {
		t.Fatalf("c2 reads %v; want its 6", got)
	}
	if got := walkStatements(ctx, t, s, "c1", "", "2027-06", 10); len(got) != 0 {
		t.Fatalf("a month without statements reads %v", got)
	}
	want := []string{}
	for n := 4; n >= 0; n-- {
		want = append(want, testLine(old, n, base).ID)
	}
	for _, limit := range []int{1, 2, 5, 9} {
		if got := walkLines(ctx, t, s, old, limit); !slices.Equal(got, want) {
			t.Fatalf("the old statement's lines, pages of %d, read %v; want %v", limit, got, want)
		}
	}
	// Cursors no list gave out.
	for _, cursor := range []string{"x", "1", "0", "99"} {
		if _, _, err := s.Statements(ctx, "c1", "p1", "", cursor, 5); !errors.Is(err, models.ErrBadCursor) {
			t.Errorf("statements cursor %q: %v; want ErrBadCursor", cursor, err)
		}
		if _, _, err := s.StatementLines(ctx, old, cursor, 5); !errors.Is(err, models.ErrBadCursor) {
			t.Errorf("lines cursor %q: %v; want ErrBadCursor", cursor, err)
		}
	}
	if _, _, err := s.Statements(ctx, "c1", "p1", "2026-03", "5", 5); !errors.Is(err, models.ErrBadCursor) {
		t.Errorf("a cursor on a partner's month: %v; want ErrBadCursor", err)
	}
}

// Two processes settling one statement at once (each with two writers;
// the job's lease normally keeps them apart) take slots of one list:
// a slot taken by the other process moves the insert on, a line the other
// wrote stops it and the rest of its batch is looked up. Every line stands
// in every run and is listed once, at every page size.
func TestIssue15_Statements_RacingClaimsInTwoProcessesListEachLineOnce(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	other := openReplica(t, s)
	at := time.Date(2026, 10, 3, 2, 0, 0, 0, time.UTC)
	const id = "settle:shop1:2026-10"
	var lines []models.StatementLine
	for n := range 240 {
		lines = append(lines, testLine(id, n, at))
	}
	const writers = 4
	stood := make([]int, writers)
	errs := make([]error, writers)
	atonce.Run(writers, func(w int) {
		proc := inTurn(w, s, other)
		// Each writer claims every line, in batches of 40, from its
		// own starting batch round.
		for b := range 6 {
			k := (b + w) % 6
			got, err := proc.ClaimStatementLines(ctx, lines[k*40:(k+1)*40], w >= 2)
			if err != nil {
				errs[w] = err
				return
			}
			stood[w] += len(got)
		}
	})
	for w := range writers {
		if errs[w] != nil {
			t.Fatalf("writer %d: %v", w, errs[w])
		}
		if stood[w] != len(lines) {
			t.Fatalf("writer %d stands with %d lines; want %d", w, stood[w], len(lines))
		}
	}
	for _, limit := range []int{1, 7, 40, 239, 500} {
		ids := walkLines(ctx, t, s, id, limit)
		seen := map[string]int{}
		for _, l := range ids {
			seen[l]++
		}
		if len(ids) != len(lines) || len(seen) != len(lines) {
			t.Fatalf("pages of %d read %d lines (%d distinct); want %d once each", limit, len(ids), len(seen), len(lines))
		}
	}
}

// BenchmarkIssue15_StatementLinesFirstPage reads the first page of 100
// lines of one statement with other statements' lines in the collection
// (the history), by its list and by the statement filter the page made
// before (docs/PERFORMANCE.md, "Statements and their lines").
func BenchmarkIssue15_StatementLinesFirstPage(b *testing.B) {
	for _, history := range []int{1000, 20000} {
		b.Run(fmt.Sprint("history=", history), func(b *testing.B) {
			s := listsStore(b)
			ctx := context.Background()
			at := time.Date(2026, 10, 3, 2, 0, 0, 0, time.UTC)
			for k := 0; k*200 < history+200; k++ {
				statement := fmt.Sprintf("settle:shop1:old%04d", k)
				if k*200 >= history {
					statement = "settle:shop1:2026-10"
				}
				batch := make([]models.StatementLine, 200)
				for n := range batch {
					batch[n] = testLine(statement, k*200+n, at)
					batch[n].ID += fmt.Sprint(k)
				}
				if _, err := s.ClaimStatementLines(ctx, batch, false); err != nil {
					b.Fatal(err)
				}
			}
			b.Run("list", func(b *testing.B) {
				for range b.N {
					if ls, _, err := s.StatementLines(ctx, "settle:shop1:2026-10", "", 100); err != nil || len(ls) != 100 {
						b.Fatal(len(ls), err)
					}
				}
			})
			b.Run("filter", func(b *testing.B) {
				for range b.N {
					var docs []lineDoc
					if err := s.page(ctx, colStatementLines, bson.D{{Key: "statement", Value: "settle:shop1:2026-10"}}, "", 100, &docs); err != nil || len(docs) != 100 {
						b.Fatal(len(docs), err)
					}
				}
			})
		})
	}
}
