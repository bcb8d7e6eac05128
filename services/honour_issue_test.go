package services_test

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/services"
)

// Issue 11.1: one resident (or household) has at most one open nomination;
// a repeat is refused naming the open entry, and the listing pays once.
func TestIssue11_1_RepeatedNominationRefusedAndPaysOnce(t *testing.T) {
	w := newHonourWorld(t)
	n := services.Nomination{ResidentID: w.zhang.ID, Category: "诚信", Reason: "拾金不昧"}
	first, err := w.hs.Nominate(ctx, w.staff, n)
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.hs.Nominate(ctx, w.staff, n)
	var me *models.Error
	if !errors.Is(err, models.ErrNominationOpen) || !errors.As(err, &me) || !strings.Contains(me.Detail, first.ID) {
		t.Fatalf("repeated nomination: %v, want NOMINATION_OPEN naming %s", err, first.ID)
	}

	// Eight nominations of one resident at once: exactly one is recorded.
	start := make(chan struct{})
	var wg sync.WaitGroup
	var won, refused atomic.Int32
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := w.hs.Nominate(ctx, w.staff, services.Nomination{ResidentID: w.wang.ID, Category: "好人好事", Reason: "扶老人过马路"})
			switch {
			case err == nil:
				won.Add(1)
			case errors.Is(err, models.ErrNominationOpen):
				refused.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if won.Load() != 1 || refused.Load() != 7 {
		t.Fatalf("concurrent nominations: %d recorded, %d refused; want 1 and 7", won.Load(), refused.Load())
	}
	// A household nomination is its own chain.
	if _, err := w.hs.Nominate(ctx, w.staff, services.Nomination{HouseholdID: w.hh2.ID, Category: "文明家庭", Reason: "整洁"}); err != nil {
		t.Fatalf("household nomination: %v", err)
	}

	w.at = first.NoticeEnds.Add(time.Minute)
	w.listDue()
	w.listDue()
	if got := w.points(w.zhang.ID); got != 100 {
		t.Fatalf("zhang's listing points = %d, want 100 once", got)
	}
	if got := w.points(w.wang.ID); got != 100+100 { // own listing and the household's
		t.Fatalf("wang's listing points = %d, want 200", got)
	}
	board, err := w.hs.Board(ctx, w.as(w.li))
	if err != nil || len(board) != 3 {
		t.Fatalf("board = %+v, %v; want zhang, wang and household 102 once each", board, err)
	}
	// Listed is still open; once revoked the resident may be nominated again.
	if _, err := w.hs.Nominate(ctx, w.staff, n); !errors.Is(err, models.ErrNominationOpen) {
		t.Fatalf("nomination while listed: %v", err)
	}
	if _, err := w.hs.Revoke(ctx, w.staff, first.ID, "违反公约"); err != nil {
		t.Fatal(err)
	}
	again, err := w.hs.Nominate(ctx, w.staff, n)
	if err != nil || again.ID == first.ID {
		t.Fatalf("nomination after revocation: %+v, %v", again, err)
	}
}

// Issue 11.7: an entry whose nominee opted out of the board is visible to
// the nominee, staff and admin only.
func TestIssue11_7_OptedOutEntryHiddenFromOtherResidents(t *testing.T) {
	w := newHonourWorld(t)
	e := w.mustListed(w.wang)
	if _, err := w.hs.Entry(ctx, w.as(w.zhang), e.ID); err != nil {
		t.Fatalf("shown entry read by a neighbour: %v", err)
	}
	if _, err := w.hs.SetHidden(ctx, w.as(w.wang), e.ID, true); err != nil {
		t.Fatal(err)
	}
	for _, r := range []models.Resident{w.zhang, w.zhao} {
		if _, err := w.hs.Entry(ctx, w.as(r), e.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("%s read the opted-out entry: %v", r.Name, err)
		}
	}
	admin := models.Principal{ResidentID: "admin-A", CommunityID: "A", Roles: []models.Role{models.RoleAdmin}}
	for _, p := range []models.Principal{w.as(w.wang), w.staff, admin} {
		got, err := w.hs.Entry(ctx, p, e.ID)
		if err != nil || got.ID != e.ID {
			t.Fatalf("%s cannot read the opted-out entry: %v", p.ResidentID, err)
		}
	}
}

// Issue 11.16: an objection upheld after the listing (it slipped in as the
// notice ended) unlists the entry and takes its points back once, whichever
// of the listing job and the ruling comes first.
func TestIssue11_16_UpheldObjectionAfterListingUnlists(t *testing.T) {
	w := newHonourWorld(t)
	// In sequence: listed, then the objection is ruled.
	e := w.mustListed(w.zhang)
	o := models.Objection{ID: "late-objection", EntryID: e.ID, CommunityID: "A", ResidentID: w.wang.ID,
		Reason: "不属实", At: e.NoticeEnds.Add(-time.Second), Status: models.ObjectionPending}
	if err := w.st.InsertObjection(ctx, o); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := w.hs.RuleObjection(ctx, w.staff, o.ID, true, "异议成立"); err != nil {
			t.Fatal(err)
		}
	}
	if w.listed(w.zhang) || w.points(w.zhang.ID) != 0 || w.entry(e.ID).Status != models.HonourRevoked {
		t.Fatalf("after the upheld objection: listed %v, points %d, entry %+v", w.listed(w.zhang), w.points(w.zhang.ID), w.entry(e.ID))
	}
	if _, err := w.hs.ExpireDue(ctx, w.at); err != nil {
		t.Fatal(err)
	}
	if w.points(w.zhang.ID) != 0 {
		t.Fatal("points moved again")
	}

	// The race: the listing job and the ruling at once, 40 rounds.
	for round := range 40 {
		w.at = w.at.Add(time.Hour)
		e, err := w.hs.Nominate(ctx, w.staff, services.Nomination{ResidentID: w.li.ID, Category: "诚信", Reason: "拾金不昧"})
		if err != nil {
			t.Fatalf("round %d: nominate: %v", round, err)
		}
		w.at = e.NoticeEnds.Add(time.Minute)
		o := models.Objection{ID: e.ID + ":late", EntryID: e.ID, CommunityID: "A", ResidentID: w.wang.ID,
			Reason: "不属实", At: e.NoticeEnds.Add(-time.Second), Status: models.ObjectionPending}
		start := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			if _, _, _, err := w.hs.ListDue(ctx, w.at); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			<-start
			if err := w.st.InsertObjection(ctx, o); err != nil {
				t.Error(err)
				return
			}
			if _, err := w.hs.RuleObjection(ctx, w.staff, o.ID, true, "异议成立"); err != nil {
				t.Error(err)
			}
		}()
		close(start)
		wg.Wait()
		// A run of the job after the race settles nothing new.
		w.listDue()
		got := w.entry(e.ID)
		if w.listed(w.li) || w.points(w.li.ID) != 0 || (got.Status != models.HonourRejected && got.Status != models.HonourRevoked) {
			t.Fatalf("round %d: listed %v, points %d, status %s", round, w.listed(w.li), w.points(w.li.ID), got.Status)
		}
	}
}
