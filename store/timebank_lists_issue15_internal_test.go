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

// testCheckin is resident's check-in to activity at at.
func testCheckin(activity, resident string, at time.Time) models.Mark {
	return models.Mark{
		ID:          "ci:" + activity + ":" + resident,
		Kind:        checkinKind,
		CommunityID: "c1",
		Ref:         activity,
		ResidentID:  resident,
		Actor:       resident,
		At:          at.UTC().Truncate(time.Millisecond),
	}
}

// testSignup is resident's first sign-up for activity at at.
func testSignup(activity, resident string, at time.Time) models.Signup {
	return models.Signup{
		ID:          activity + ":" + resident + ":0",
		ActivityID:  activity,
		CommunityID: "c1",
		ResidentID:  resident,
		Slot:        "p1",
		At:          at.UTC().Truncate(time.Millisecond),
	}
}

// testGift is gift id of minutes from one resident to another at at.
func testGift(id, from, to string, at time.Time) models.Gift {
	return models.Gift{
		ID:          id,
		CommunityID: "c1",
		FromID:      from,
		ToID:        to,
		Minutes:     10,
		At:          at.UTC().Truncate(time.Millisecond),
	}
}

// markIDs are the ids of the marks a list read, in order.
func markIDs(ms []models.Mark) []string {
	return idsOf(ms, func(m models.Mark) string { return m.ID })
}

// signupIDs are the ids of the sign-ups a list read, in order.
func signupIDs(ss []models.Signup) []string {
	return idsOf(ss, func(su models.Signup) string { return su.ID })
}

// giftIDs are the ids of the gifts a list read, in order.
func giftIDs(gs []models.Gift) []string {
	return idsOf(gs, func(g models.Gift) string { return g.ID })
}

// onceEach fails unless ids holds each of want exactly once and nothing
// else.
func onceEach(t *testing.T, what string, ids, want []string) {
	t.Helper()
	seen := map[string]int{}
	for _, id := range ids {
		seen[id]++
	}
	for _, id := range want {
		if seen[id] != 1 {
			t.Fatalf("%s shows %s %d times; want once (read %v)", what, id, seen[id], ids)
		}
	}
	if len(ids) != len(want) {
		t.Fatalf("%s reads %d items; want %d (read %v)", what, len(ids), len(want), ids)
	}
}

// Issue 15 (an activity's check-ins and sign-ups, a resident's sign-ups
// and gifts are lists of their own): while check-ins, sign-ups and gifts
// are inserted by concurrent writers, readers of each list see every item
// stored before they began exactly once, never one twice and never one of
// another activity or resident, in the order the routes give (check-ins
// by time, sign-ups and gifts by id); afterwards each list reads all its
// items once, and reading them sends the store no scan.
func TestIssue15_TimebankLists_ReadWhileInsertedConcurrently(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	base := time.Date(2026, 11, 21, 2, 0, 0, 0, time.UTC)
	var oldCheckins, oldSignups, oldGifts []string
	for i := range 20 {
		// Stored out of time order: the list is read by time, not slot.
		m := testCheckin("a1", fmt.Sprintf("old%02d", i), base.Add(time.Duration(20-i)*time.Minute))
		if err := s.InsertMark(ctx, m); err != nil {
			t.Fatal(err)
		}
		oldCheckins = append(oldCheckins, m.ID)
		su := testSignup("a1", fmt.Sprintf("old%02d", i), base)
		if err := s.InsertSignup(ctx, su); err != nil {
			t.Fatal(err)
		}
		oldSignups = append(oldSignups, su.ID)
		from, to := "r1", fmt.Sprintf("old%02d", i)
		if i%2 == 1 {
			from, to = to, from
		}
		g := testGift(fmt.Sprintf("gift-old%02d", i), from, to, base)
		if err := s.InsertGift(ctx, g); err != nil {
			t.Fatal(err)
		}
		oldGifts = append(oldGifts, g.ID)
	}
	const writers, readers, each = 4, 3, 10
	type read struct{ checkins, signups, mine, gifts []string }
	reads := make([][]read, readers)
	errs := atonce.Errors(writers+readers, func(w int) error {
		if w >= writers {
			r := w - writers
			for range 5 {
				ms, err := s.CheckinMarks(ctx, "a1")
				if err != nil {
					return err
				}
				for k := 1; k < len(ms); k++ {
					if ms[k].At.Before(ms[k-1].At) {
						return fmt.Errorf("check-ins not by time: %v", markIDs(ms))
					}
				}
				ss, err := s.Signups(ctx, "a1", "")
				if err != nil {
					return err
				}
				mine, err := s.Signups(ctx, "", "old03")
				if err != nil {
					return err
				}
				gs, err := s.Gifts(ctx, "r1")
				if err != nil {
					return err
				}
				reads[r] = append(reads[r], read{markIDs(ms), signupIDs(ss), signupIDs(mine), giftIDs(gs)})
			}
			return nil
		}
		for i := range each {
			who := fmt.Sprintf("new%d-%d", w, i)
			at := base.Add(time.Hour + time.Duration(i)*time.Second)
			if err := s.InsertMark(ctx, testCheckin("a1", who, at)); err != nil {
				return err
			}
			// Another activity's check-ins and sign-ups are on its own lists.
			if err := s.InsertMark(ctx, testCheckin("a2", who, at)); err != nil {
				return err
			}
			if err := s.InsertSignup(ctx, testSignup("a1", who, at)); err != nil {
				return err
			}
			if err := s.InsertSignup(ctx, testSignup(fmt.Sprintf("b%d-%d", w, i), "old03", at)); err != nil {
				return err
			}
			if err := s.InsertGift(ctx, testGift("gift-"+who, "r1", who, at)); err != nil {
				return err
			}
			if err := s.InsertGift(ctx, testGift("gift-x-"+who, "r2", who, at)); err != nil {
				return err
			}
		}
		return nil
	})
	for w, err := range errs {
		if err != nil {
			t.Fatalf("goroutine %d: %v", w, err)
		}
	}
	for _, rs := range reads {
		for _, r := range rs {
			for _, c := range []struct {
				what      string
				ids, want []string
				prefix    string
			}{
				{"a1's check-ins", r.checkins, oldCheckins, "ci:a1:"},
				{"a1's sign-ups", r.signups, oldSignups, "a1:"},
				{"old03's sign-ups", r.mine, []string{"a1:old03:0"}, ""},
				{"r1's gifts", r.gifts, oldGifts, "gift-"},
			} {
				seen := map[string]int{}
				for _, id := range c.ids {
					seen[id]++
					if seen[id] > 1 || !strings.HasPrefix(id, c.prefix) || strings.HasPrefix(id, "gift-x-") {
						t.Fatalf("%s, read while writing, shows %s again or of another list: %v", c.what, id, c.ids)
					}
				}
				for _, id := range c.want {
					if seen[id] != 1 {
						t.Fatalf("%s, read while writing, misses %s: %v", c.what, id, c.ids)
					}
				}
			}
			if !slices.IsSorted(r.signups) || !slices.IsSorted(r.gifts) || !slices.IsSorted(r.mine) {
				t.Fatalf("sign-ups or gifts not by id: %v %v %v", r.signups, r.gifts, r.mine)
			}
		}
	}
	var newCheckins, newSignups, newMine, newGifts, a2 []string
	for w := range writers {
		for i := range each {
			who := fmt.Sprintf("new%d-%d", w, i)
			newCheckins = append(newCheckins, "ci:a1:"+who)
			a2 = append(a2, "ci:a2:"+who)
			newSignups = append(newSignups, "a1:"+who+":0")
			newMine = append(newMine, fmt.Sprintf("b%d-%d:old03:0", w, i))
			newGifts = append(newGifts, "gift-"+who)
		}
	}
	commands := watchCommands(s)
	ms, err := s.CheckinMarks(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	onceEach(t, "a1's check-ins", markIDs(ms), slices.Concat(oldCheckins, newCheckins))
	slices.Reverse(oldCheckins) // stored latest first
	if got := markIDs(ms)[:20]; !slices.Equal(got, oldCheckins) {
		t.Fatalf("a1's check-ins start %v; want the earliest by time %v", got, oldCheckins)
	}
	ms, err = s.CheckinMarks(ctx, "a2")
	if err != nil {
		t.Fatal(err)
	}
	onceEach(t, "a2's check-ins", markIDs(ms), a2)
	ss, err := s.Signups(ctx, "a1", "")
	if err != nil {
		t.Fatal(err)
	}
	onceEach(t, "a1's sign-ups", signupIDs(ss), slices.Concat(oldSignups, newSignups))
	ss, err = s.Signups(ctx, "", "old03")
	if err != nil {
		t.Fatal(err)
	}
	onceEach(t, "old03's sign-ups", signupIDs(ss), append(newMine, "a1:old03:0"))
	ss, err = s.Signups(ctx, "a1", "old03")
	if err != nil || fmt.Sprint(signupIDs(ss)) != "[a1:old03:0]" {
		t.Fatalf("old03's sign-up for a1 reads %v, %v", signupIDs(ss), err)
	}
	gs, err := s.Gifts(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	onceEach(t, "r1's gifts", giftIDs(gs), slices.Concat(oldGifts, newGifts))
	gs, err = s.Gifts(ctx, "new0-0")
	if err != nil {
		t.Fatal(err)
	}
	onceEach(t, "new0-0's gifts", giftIDs(gs), []string{"gift-new0-0", "gift-x-new0-0"})
	commands.wantNoScans(t, "reading the lists")
}

// The crash points of a listed check-in, sign-up and gift (lists.go): the
// slots written and the record not (the process died between the two on
// MongoDB) point at nothing and are skipped; the repeat takes a new slot
// and is listed once; a repeat that meets the stored record
// (models.ErrConflict) leaves a slot naming it that readers skip. A
// resident's gift to themself is on their list once.
func TestIssue15_TimebankLists_SlotWithoutItsRecordIsSkippedAndTheRepeatListedOnce(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 21, 2, 0, 0, 0, time.UTC)
	checkin, signup := testCheckin("a1", "r1", at), testSignup("a1", "r1", at)
	gift := testGift("g1", "r1", "r2", at)
	// The crash: slots written, records not.
	if _, err := s.insertListed(ctx, colTBKeys, []string{checkinList("a1")}, checkin.ID, at, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.insertListed(ctx, colSignups, signupLists("a1", "r1"), signup.ID, at, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.insertListed(ctx, colGifts, giftLists("r1", "r2"), gift.ID, at, nil); err != nil {
		t.Fatal(err)
	}
	read := func() string {
		t.Helper()
		ms, err := s.CheckinMarks(ctx, "a1")
		if err != nil {
			t.Fatal(err)
		}
		ss, err := s.Signups(ctx, "a1", "")
		if err != nil {
			t.Fatal(err)
		}
		mine, err := s.Signups(ctx, "", "r1")
		if err != nil {
			t.Fatal(err)
		}
		given, err := s.Gifts(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Gifts(ctx, "r2")
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(markIDs(ms), signupIDs(ss), signupIDs(mine), giftIDs(given), giftIDs(got))
	}
	if got := read(); got != "[] [] [] [] []" {
		t.Fatalf("slots without their records read %s; want nothing", got)
	}
	// The repeats store the records; a second repeat, in another process
	// that never saw the slots, finds them.
	other := openReplica(t, s)
	for _, st := range []*Store{s, other} {
		want := error(nil)
		if st == other {
			want = models.ErrConflict
		}
		if err := st.InsertMark(ctx, checkin); !errors.Is(err, want) {
			t.Fatalf("check-in: %v; want %v", err, want)
		}
		if err := st.InsertSignup(ctx, signup); !errors.Is(err, want) {
			t.Fatalf("sign-up: %v; want %v", err, want)
		}
		if err := st.InsertGift(ctx, gift); !errors.Is(err, want) {
			t.Fatalf("gift: %v; want %v", err, want)
		}
	}
	if err := s.InsertGift(ctx, testGift("g2", "r1", "r1", at)); err != nil {
		t.Fatal(err)
	}
	want := "[ci:a1:r1] [a1:r1:0] [a1:r1:0] [g1 g2] [g1]"
	if got := read(); got != want {
		t.Fatalf("after the repeats the lists read %s; want %s", got, want)
	}
}

// Check-ins, sign-ups and gifts stored before their lists existed (no
// slots) are put on them once at the next start, in the order they were
// stored, and are then read like the others; a second start finds its
// marks and lists nothing again. Other marks in tb_keys stay off the
// check-in lists.
func TestIssue15_TimebankLists_StoredBeforeAreListedOnceAtStart(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 21, 2, 0, 0, 0, time.UTC)
	storeEach(t, 5, func(i int) error {
		who := fmt.Sprint("r", i)
		if err := s.insert(ctx, colTBKeys, toMarkDoc(testCheckin("a1", who, at.Add(time.Duration(i)*time.Minute)))); err != nil {
			return err
		}
		su := testSignup("a1", who, at)
		if err := s.insert(ctx, colSignups, signupDoc{
			ID:        su.ID,
			Activity:  su.ActivityID,
			Community: su.CommunityID,
			Resident:  su.ResidentID,
			Slot:      su.Slot,
			At:        su.At,
		}); err != nil {
			return err
		}
		g := testGift(fmt.Sprint("g", i), "r0", who, at)
		return s.insert(ctx, colGifts, giftDoc{
			ID:        g.ID,
			Community: g.CommunityID,
			From:      g.FromID,
			To:        g.ToID,
			Minutes:   int64(g.Minutes),
			At:        g.At,
		})
	})
	// A check-out names the activity too and is no check-in.
	if err := s.insert(ctx, colTBKeys, markDoc{
		ID:        "co:a1:r0",
		Kind:      "checkout",
		Community: "c1",
		Ref:       "a1",
		At:        at,
	}); err != nil {
		t.Fatal(err)
	}
	forgetBackfills(t, s, "checkin-lists", "signup-lists", "gift-lists")
	if ms, err := s.CheckinMarks(ctx, "a1"); err != nil || len(ms) != 0 {
		t.Fatalf("before the start a1's check-ins read %v, %v", markIDs(ms), err)
	}
	startTwice(t, s.EnsureSchema) // the second start reads the done marks and lists nothing again
	ms, err := s.CheckinMarks(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(markIDs(ms)); got != "[ci:a1:r0 ci:a1:r1 ci:a1:r2 ci:a1:r3 ci:a1:r4]" {
		t.Fatalf("after the start a1's check-ins read %s", got)
	}
	ss, err := s.Signups(ctx, "a1", "")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(signupIDs(ss)); got != "[a1:r0:0 a1:r1:0 a1:r2:0 a1:r3:0 a1:r4:0]" {
		t.Fatalf("after the start a1's sign-ups read %s", got)
	}
	if ss, err := s.Signups(ctx, "", "r3"); err != nil || fmt.Sprint(signupIDs(ss)) != "[a1:r3:0]" {
		t.Fatalf("after the start r3's sign-ups read %v, %v", signupIDs(ss), err)
	}
	gs, err := s.Gifts(ctx, "r0")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(giftIDs(gs)); got != "[g0 g1 g2 g3 g4]" {
		t.Fatalf("after the start r0's gifts read %s", got)
	}
	if gs, err := s.Gifts(ctx, "r2"); err != nil || fmt.Sprint(giftIDs(gs)) != "[g2]" {
		t.Fatalf("after the start r2's gifts read %v, %v", giftIDs(gs), err)
	}
	// Each was put on its lists once: one slot per list per record.
	for list, want := range map[string]int64{
		checkinList("a1"): 5,
		"tbsa:a1":         5,
		"tbsr:r3":         1,
		giftList("r0"):    5,
		giftList("r2"):    1,
	} {
		col := colGifts
		switch {
		case strings.HasPrefix(list, "tbci:"):
			col = colTBKeys
		case strings.HasPrefix(list, "tbs"):
			col = colSignups
		}
		if head, err := s.listHead(ctx, col, list); err != nil || head != want {
			t.Fatalf("%s has %d slots (%v); want %d", list, head, err, want)
		}
	}
}

// testAid is an open request id of community, posted at at.
func testAid(id, community string, at time.Time) models.MutualAid {
	return models.MutualAid{
		ID:          id,
		CommunityID: community,
		Kind:        models.AidRequest,
		PosterID:    "r1",
		RequesterID: "r1",
		Title:       "帮忙搬家",
		Minutes:     60,
		Created:     at.UTC().Truncate(time.Millisecond),
		State:       models.AidOpen,
	}
}

// walkAids reads every page of a community's posts, limit slots a page,
// and returns the ids in the order read, failing on another community's
// post or a page over limit.
func walkAids(ctx context.Context, t *testing.T, s *Store, community string, limit int) []string {
	t.Helper()
	return walkIDs(t, func(a models.MutualAid) string {
		if a.CommunityID != community {
			t.Fatalf("%s's posts show %s of %s", community, a.ID, a.CommunityID)
		}
		return a.ID
	}, func(cursor string) ([]models.MutualAid, string, error) {
		as, next, err := s.CommunityAids(ctx, community, cursor, limit)
		if len(as) > limit {
			t.Fatalf("a page of %d holds %d posts", limit, len(as))
		}
		return as, next, err
	})
}

// Issue 15 (a community's mutual-aid posts are a list of its own): paging
// the posts by cursor while posts are added in this and another community
// and the old ones change state (SaveAid) shows every post there when
// paging began exactly once, latest posted first; a post whose state was
// saved keeps its place; afterwards every page size reads them all once,
// with no scan, and a cursor the list did not give out is
// models.ErrBadCursor.
func TestIssue15_AidLists_PagesWalkEveryPostOnceWhilePostedAndSaved(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	base := time.Date(2026, 11, 21, 2, 0, 0, 0, time.UTC)
	var old []string // latest first
	for i := range 30 {
		a := testAid(fmt.Sprintf("old%02d", i), "c1", base.Add(time.Duration(i)*time.Second))
		if err := s.InsertAid(ctx, a); err != nil {
			t.Fatal(err)
		}
		old = append([]string{a.ID}, old...)
	}
	const writers, readers, each = 3, 2, 10
	walks := make([][]string, readers)
	atonce.Run(writers+readers, func(w int) {
		if w >= writers {
			// walkAids, without failing from this goroutine.
			for cursor, pages := "", 0; pages < 1000; pages++ {
				as, next, err := s.CommunityAids(ctx, "c1", cursor, 4+w)
				if err != nil {
					t.Error(err)
					return
				}
				for _, a := range as {
					walks[w-writers] = append(walks[w-writers], a.ID)
				}
				if next == "" {
					return
				}
				cursor = next
			}
			t.Error("the pages never end")
			return
		}
		for i := range each {
			at := base.Add(time.Hour)
			if err := s.InsertAid(ctx, testAid(fmt.Sprintf("new%d-%d", w, i), "c1", at)); err != nil {
				t.Error(err)
			}
			if err := s.InsertAid(ctx, testAid(fmt.Sprintf("other%d-%d", w, i), "c2", at)); err != nil {
				t.Error(err)
			}
			// An old post taken up: its cached state saved over it.
			taken := testAid(fmt.Sprintf("old%02d", w*each+i), "c1", base.Add(time.Duration(w*each+i)*time.Second))
			taken.State, taken.HelperID, taken.Steps, taken.AcceptedAt = models.AidAccepted, "r2", 1, at
			if err := s.SaveAid(ctx, taken); err != nil {
				t.Error(err)
			}
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	for r, walk := range walks {
		seen := map[string]int{}
		for _, id := range walk {
			if seen[id]++; seen[id] > 1 || strings.HasPrefix(id, "other") {
				t.Fatalf("walk %d shows %s again or of c2: %v", r, id, walk)
			}
		}
		var olds []string
		for _, id := range walk {
			if strings.HasPrefix(id, "old") {
				olds = append(olds, id)
			}
		}
		if !slices.Equal(olds, old) {
			t.Fatalf("walk %d reads the old posts %v; want each once, latest first: %v", r, olds, old)
		}
	}
	var fresh []string
	for w := range writers {
		for i := range each {
			fresh = append(fresh, fmt.Sprintf("new%d-%d", w, i))
		}
	}
	commands := watchCommands(s)
	for _, limit := range []int{1, 3, 7, 60, 100} {
		got := walkAids(ctx, t, s, "c1", limit)
		onceEach(t, fmt.Sprint("c1's posts in pages of ", limit), got, slices.Concat(fresh, old))
		if !slices.Equal(got[len(fresh):], old) {
			t.Fatalf("pages of %d end %v; want the old posts last, latest first", limit, got[len(fresh):])
		}
	}
	if got := walkAids(ctx, t, s, "c2", 4); len(got) != writers*each {
		t.Fatalf("c2's posts read %d; want %d", len(got), writers*each)
	}
	commands.wantNoScans(t, "paging the posts")
	a, err := s.Aid(ctx, "old05")
	if err != nil || a.State != models.AidAccepted || a.HelperID != "r2" {
		t.Fatalf("a saved post reads %+v, %v", a, err)
	}
	for _, cursor := range []string{"x", "1", "0", "999", "old05"} {
		if _, _, err := s.CommunityAids(ctx, "c1", cursor, 5); !errors.Is(err, models.ErrBadCursor) {
			t.Errorf("cursor %q: %v; want ErrBadCursor", cursor, err)
		}
	}
	// The jobs' sweep by state sees the posts, never a slot.
	open, err := s.Aids(ctx, "", "", 0, models.AidOpen)
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 30+2*writers*each-writers*each {
		t.Fatalf("the sweep finds %d open posts; want %d", len(open), 30+writers*each)
	}
	all, err := s.Aids(ctx, "", "", 0)
	if err != nil || len(all) != 30+2*writers*each {
		t.Fatalf("the sweep finds %d posts (%v); want %d", len(all), err, 30+2*writers*each)
	}
}

// Mutual-aid posts stored before their lists existed are put on their
// community's list once at the next start, in the order they were posted,
// and a post saved afterwards keeps its place.
func TestIssue15_AidLists_StoredBeforeAreListedOnceAtStart(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 21, 2, 0, 0, 0, time.UTC)
	storeEach(t, 5, func(i int) error {
		return s.insert(ctx, colAid, toAidDoc(testAid(fmt.Sprint("a", i), "c1", at.Add(time.Duration(i)*time.Minute))))
	})
	forgetBackfills(t, s, "aid-lists")
	if got := walkAids(ctx, t, s, "c1", 10); len(got) != 0 {
		t.Fatalf("before the start: %v", got)
	}
	startTwice(t, s.EnsureSchema) // the second start finds its mark
	saved := testAid("a2", "c1", at.Add(2*time.Minute))
	saved.State = models.AidCancelled
	if err := s.SaveAid(ctx, saved); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{1, 2, 10} {
		if got := fmt.Sprint(walkAids(ctx, t, s, "c1", limit)); got != "[a4 a3 a2 a1 a0]" {
			t.Fatalf("after the start pages of %d read %s; want [a4 a3 a2 a1 a0]", limit, got)
		}
	}
	if head, err := s.listHead(ctx, colAid, aidList("c1")); err != nil || head != 5 {
		t.Fatalf("c1's list has %d slots (%v); want 5", head, err)
	}
}
