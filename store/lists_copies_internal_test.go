package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/models"
)

// lineCopy reports whether the copy of block k of statement's lines is
// stored, and what it holds.
func lineCopy(t *testing.T, s *Store, statement string, k int64) (copiedBlockDoc[lineDoc], bool) {
	t.Helper()
	var b copiedBlockDoc[lineDoc]
	err := s.findByID(context.Background(), colStatementLines, copiedBlockID(lineList(statement), k), &b)
	if errors.Is(err, models.ErrNotFound) {
		return b, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return b, true
}

// exportedLines is every line EachStatementLine gives for statement, in
// order.
func exportedLines(t *testing.T, s *Store, statement string) []string {
	t.Helper()
	var ids []string
	err := s.EachStatementLine(context.Background(), statement, func(l models.StatementLine) error {
		ids = append(ids, l.ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// Copies of blocks (docs/ARCHITECTURE.md §9), on a statement's lines: the
// first reader of a full block whose slots are all decided stores its
// copy, and later pages read sixteen lines a lookup. A slot whose line is
// not there (on MongoDB the slot and its line are two writes) keeps its
// block from being copied until the line comes, so the copy never leaves
// it out; a repeat's leftover slot is copied as empty; pages and the
// export show every line once, in order, copies or not.
func TestListCopies_ReadersCopyDecidedBlocksAndReadThemAsOneLookup(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	at := time.Date(2026, 10, 3, 2, 0, 0, 0, time.UTC)
	const id = "settle:shop1:2026-10"
	list := lineList(id)
	var lines []models.StatementLine
	for n := range 37 {
		lines = append(lines, testLine(id, n, at))
	}
	// Slots 1–30 hold lines 0–29.
	if _, err := s.ClaimStatementLines(ctx, lines[:30], false); err != nil {
		t.Fatal(err)
	}
	// Slot 31: a repeat of line 3, whose line names slot 4 (a leftover).
	if _, err := s.insertListed(ctx, colStatementLines, []string{list}, lines[3].ID, at, nil); err != nil {
		t.Fatal(err)
	}
	// Slot 32: line 30's slot, its line still on its way.
	coming, err := s.insertListed(ctx, colStatementLines, []string{list}, lines[30].ID, at, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Slots 33–38 hold lines 31–36.
	if _, err := s.ClaimStatementLines(ctx, lines[31:], false); err != nil {
		t.Fatal(err)
	}
	want := lineIDs(slices.Concat(lines[:30], lines[31:])) // line 30 not yet there
	check := func(when string, want []string) {
		t.Helper()
		got := walkLines(ctx, t, s, id, 50)
		if !slices.Equal(got, reversed(want)) {
			t.Fatalf("%s: the pages show %v; want %v", when, got, reversed(want))
		}
		if got := exportedLines(t, s, id); !slices.Equal(got, want) {
			t.Fatalf("%s: the export gives %v; want %v", when, got, want)
		}
	}
	check("before any copy", want)
	// The first reads copied block 0 (slots 1–16); block 1 (17–32) waits
	// for slot 32's line; block 2 (33–38) is not full.
	b0, ok := lineCopy(t, s, id, 0)
	if !ok {
		t.Fatal("block 0, every slot decided, was not copied by its readers")
	}
	for x, d := range b0.Records {
		if d == nil || d.ID != lines[x].ID {
			t.Fatalf("the copy's slot %d holds %+v; want %s", x+1, d, lines[x].ID)
		}
	}
	if _, ok := lineCopy(t, s, id, 1); ok {
		t.Fatal("block 1 was copied while slot 32's line was still on its way")
	}
	// The line lands on slot 32 (the second of its two writes).
	d := toLineDoc(lines[30])
	d.Slots = coming
	if err := s.insert(ctx, colStatementLines, d); err != nil {
		t.Fatal(err)
	}
	want = lineIDs(lines)
	check("after the line came", want)
	b1, ok := lineCopy(t, s, id, 1)
	if !ok {
		t.Fatal("block 1, decided now that slot 32's line came, was not copied")
	}
	if b1.Records[31-17] != nil {
		t.Fatalf("the copy holds %s on slot 31, a repeat's leftover", b1.Records[31-17].ID)
	}
	if got := b1.Records[32-17]; got == nil || got.ID != lines[30].ID {
		t.Fatalf("the copy's slot 32 holds %+v; want %s", got, lines[30].ID)
	}
	if _, ok := lineCopy(t, s, id, 2); ok {
		t.Fatal("block 2 (slots 33–48) was copied with 38 slots taken")
	}

	// A page reads the two copies as one lookup each: with them it costs
	// 34 finds fewer than without (two blocks of slots and 32 lines).
	commands := watchCommands(s)
	if _, _, err := s.StatementLines(ctx, id, "", 50); err != nil {
		t.Fatal(err)
	}
	copied := commands.finds()
	for k := range int64(2) {
		if err := s.deleteByID(ctx, colStatementLines, copiedBlockID(list, k)); err != nil {
			t.Fatal(err)
		}
	}
	commands = watchCommands(s)
	if _, _, err := s.StatementLines(ctx, id, "", 50); err != nil {
		t.Fatal(err)
	}
	if without := commands.finds(); without-copied != 34 {
		t.Fatalf("a page cost %d finds with the copies and %d without; want 34 fewer with them", copied, without)
	}
	check("after copying again", want)
}

// reversed is a reversed copy of ids.
func reversed(ids []string) []string {
	out := slices.Clone(ids)
	slices.Reverse(out)
	return out
}

// Readers paging a statement's lines and exporting them while another
// process appends lines, all at once, store copies that say what their
// slots say; each walk shows every line that was there when it began,
// once, in slot order.
func TestListCopies_ReadersRacingAnAppenderStoreTrueCopies(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	other := openReplica(t, s)
	ctx := context.Background()
	at := time.Date(2026, 10, 3, 2, 0, 0, 0, time.UTC)
	const id = "settle:shop1:2026-10"
	var lines []models.StatementLine
	for n := range 120 {
		lines = append(lines, testLine(id, n, at))
	}
	if _, err := s.ClaimStatementLines(ctx, lines[:40], false); err != nil {
		t.Fatal(err)
	}
	walks := make([][]string, 4)
	errs := atonce.Errors(5, func(i int) error {
		if i == 4 {
			for b := 40; b < 120; b += 8 {
				if _, err := other.ClaimStatementLines(ctx, lines[b:b+8], false); err != nil {
					return err
				}
			}
			return nil
		}
		if i%2 == 0 {
			walks[i] = reversed(walkLines(ctx, t, s, id, 7+i*5))
		} else {
			walks[i] = exportedLines(t, s, id)
		}
		return nil
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	all := lineIDs(lines)
	for i, w := range walks {
		if len(w) < 40 || !slices.Equal(w, all[:len(w)]) {
			t.Fatalf("walk %d shows %v; want the first %d lines in order, each once", i, w, len(w))
		}
	}
	if got := reversed(walkLines(ctx, t, s, id, 50)); !slices.Equal(got, all) {
		t.Fatalf("after the appends the pages show %v", got)
	}
	if got := exportedLines(t, s, id); !slices.Equal(got, all) {
		t.Fatalf("after the appends the export gives %v", got)
	}
	copies := 0
	for k := range int64(120 / slotBlock) {
		b, ok := lineCopy(t, s, id, k)
		if !ok {
			continue
		}
		copies++
		for x, d := range b.Records {
			n := blockFirst(k) + int64(x)
			if d == nil || d.ID != all[n-1] || !named(d.Slots, slotRef{List: lineList(id), N: n}) {
				t.Fatalf("copy %d holds %+v on slot %d; want %s", k, d, n, all[n-1])
			}
		}
	}
	if copies != 120/slotBlock {
		t.Fatalf("%d of the %d full blocks copied after reading every line", copies, 120/slotBlock)
	}
}
