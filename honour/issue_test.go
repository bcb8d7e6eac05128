package honour_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/community/communitytest"
	"github.com/linli-community/linli/honour"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
)

// Issue 11.1: one resident (or household) has at most one open nomination;
// a repeat is refused naming the open entry, and the listing pays once.
func TestIssue11_1_RepeatedNominationRefusedAndPaysOnce(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	n := honour.Nomination{
		ResidentID: w.zhang.ID,
		Category:   "诚信",
		Reason:     "拾金不昧",
	}
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
	var won, refused atomic.Int32
	atonce.Run(8, func(int) {
		_, err := w.hs.Nominate(ctx, w.staff, honour.Nomination{
			ResidentID: w.wang.ID,
			Category:   "好人好事",
			Reason:     "扶老人过马路",
		})
		switch {
		case err == nil:
			won.Add(1)
		case errors.Is(err, models.ErrNominationOpen):
			refused.Add(1)
		default:
			t.Error(err)
		}
	})
	if won.Load() != 1 || refused.Load() != 7 {
		t.Fatalf("concurrent nominations: %d recorded, %d refused; want 1 and 7", won.Load(), refused.Load())
	}
	// A household nomination is its own chain.
	if _, err := w.hs.Nominate(ctx, w.staff, honour.Nomination{
		HouseholdID: w.hh2.ID,
		Category:    "文明家庭",
		Reason:      "整洁",
	}); err != nil {
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
	board, _, err := w.hs.Board(ctx, w.as(w.li), "", 0)
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
	t.Parallel()
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
	admin := models.Principal{
		ResidentID:  "admin-A",
		CommunityID: "A",
		Roles:       []models.Role{models.RoleAdmin},
	}
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
	t.Parallel()
	w := newHonourWorld(t)
	// In sequence: listed, then the objection is ruled.
	e := w.mustListed(w.zhang)
	o := models.Objection{
		ID:          "late-objection",
		EntryID:     e.ID,
		CommunityID: "A",
		ResidentID:  w.wang.ID,
		Reason:      "不属实",
		At:          e.NoticeEnds.Add(-time.Second),
		Status:      models.ObjectionPending,
	}
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
		e, err := w.hs.Nominate(ctx, w.staff, honour.Nomination{
			ResidentID: w.li.ID,
			Category:   "诚信",
			Reason:     "拾金不昧",
		})
		if err != nil {
			t.Fatalf("round %d: nominate: %v", round, err)
		}
		w.at = e.NoticeEnds.Add(time.Minute)
		o := models.Objection{
			ID:          e.ID + ":late",
			EntryID:     e.ID,
			CommunityID: "A",
			ResidentID:  w.wang.ID,
			Reason:      "不属实",
			At:          e.NoticeEnds.Add(-time.Second),
			Status:      models.ObjectionPending,
		}
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

func (w *honourWorld) termDuty(r models.Resident, termID, month, duty string) {
	w.t.Helper()
	d, err := w.hs.LogDuty(ctx, w.as(r), honour.DutyLog{
		TermID:   termID,
		Month:    month,
		Duty:     duty,
		Evidence: "已完成",
	})
	if err != nil {
		w.t.Fatalf("log duty: %v", err)
	}
	if _, err := w.hs.RuleDuty(ctx, w.staff, d.ID, true, "属实"); err != nil {
		w.t.Fatalf("confirm duty: %v", err)
	}
}

// Issue 11.6: the allowance cap is per person per month, and pro-rata
// parts of one building's month add up to the whole.
func TestIssue11_6_AllowanceCapPerPersonAndProRataAddsUp(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	bld2 := communitytest.MustBuilding(t, w.cs, w.staff, "2号楼")
	t1 := w.mustHeadFromSeptember()
	t2, err := w.hs.Appoint(ctx, w.staff, honour.Appointment{
		Role:       models.HeadBuilding,
		BuildingID: bld2.ID,
		ResidentID: w.zhang.ID,
	})
	if err != nil {
		t.Fatal(err)
	}
	w.at = time.Date(2026, 10, 15, 2, 0, 0, 0, time.UTC)
	for _, term := range []models.HeadTerm{t1, t2} {
		for _, d := range []string{"月度例会", "通知送达", "问题上报"} {
			w.termDuty(w.zhang, term.ID, "2026-10", d)
		}
	}
	w.at = time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	w.payAllowances("2026-10")
	w.payAllowances("2026-10")
	// 110 per building, but one person is paid at most 150 a month.
	if got := w.points(w.zhang.ID); got != 150 {
		t.Fatalf("head of two buildings paid %d, want the cap 150", got)
	}

	// A handover on 16 November, both heads with one confirmed duty (70):
	// 70·16/30 = 37.33 and 70·14/30 = 32.67 add up to 70, not 69.
	w.at = time.Date(2026, 11, 16, 2, 0, 0, 0, time.UTC)
	w.termDuty(w.zhang, t1.ID, "2026-11", "月度例会")
	w.appoint(w.wang)
	w.at = time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)
	w.duty(w.wang, "2026-11", "楼组活动", true)
	w.at = time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	w.payAllowances("2026-11")
	zhangNov, wangNov := w.points(w.zhang.ID)-150, w.points(w.wang.ID)
	if zhangNov+wangNov != 70 || zhangNov != 37 || wangNov != 33 {
		t.Fatalf("November parts %d + %d, want 37 + 33 = 70", zhangNov, wangNov)
	}
	// The parts of October's handover of the issue: 16 and 15 days of 31.
	if got := models.SplitProRata([]models.Points{70, 70}, []int{16, 15}, 31); got[0]+got[1] != 70 || got[0] != 36 {
		t.Fatalf("split of 70 over 16+15 days = %v, want [36 34]", got)
	}
}

// Issue 11.5: a duty confirmed after the month's run is paid by the next
// run (the difference, once); after the month is closed a late duty is
// carried to the next month to close, with a note.
func TestIssue11_5_LateDutyPaidByDifferenceAndCarriedAfterClose(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	w.mustOctoberRun(true)
	if got := w.points(w.zhang.ID); got != 70 {
		t.Fatalf("first run paid %d, want 70", got)
	}
	// Confirmed after the run: the next run pays the difference, once.
	w.at = time.Date(2026, 11, 2, 3, 0, 0, 0, time.UTC)
	w.duty(w.zhang, "2026-10", "通知送达", true)
	w.payAllowances("2026-10")
	w.payAllowances("2026-10")
	if got := w.points(w.zhang.ID); got != 90 {
		t.Fatalf("after the late duty %d, want 70 + 20 = 90", got)
	}
	// November's run closes October.
	w.at = time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	w.payAllowances("2026-11")
	w.at = time.Date(2026, 12, 5, 3, 0, 0, 0, time.UTC)
	w.duty(w.zhang, "2026-10", "问题上报", true) // after the close
	w.payAllowances("2026-10")
	if got := w.points(w.zhang.ID); got != 90 {
		t.Fatalf("a closed month paid again: %d", got)
	}
	// It is carried to the next month to close (November, closed by
	// December's run) and paid with a note.
	w.at = time.Date(2027, 1, 1, 3, 0, 0, 0, time.UTC)
	w.payAllowances("2026-12")
	w.payAllowances("2026-12")
	if got := w.points(w.zhang.ID); got != 110 {
		t.Fatalf("carried duty: balance %d, want 90 + 20 = 110", got)
	}
	hist, _, err := w.l.History(ctx, models.AccountOf(w.zhang.ID, models.AssetPoints), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var notes []string
	for _, e := range hist {
		notes = append(notes, e.OpID+" "+e.Reason)
	}
	if len(hist) != 3 || !strings.Contains(hist[0].Reason, "往月结算后确认的履职 1 项") || !strings.Contains(hist[1].Reason, "补发差额") {
		t.Fatalf("allowance entries:\n%s", strings.Join(notes, "\n"))
	}
}

// post credits r at w.at and returns the entry.
func (w *honourWorld) post(r models.Resident, asset models.Asset, kind models.EntryKind, delta int64, op string) models.Entry {
	w.t.Helper()
	e, err := w.l.Post(ctx, ledger.Posting{
		OpID:        op,
		Hash:        op,
		Account:     models.AccountOf(r.ID, asset),
		CommunityID: "A",
		Delta:       delta,
		Kind:        kind,
		Actor:       "staff",
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return e
}

func (w *honourWorld) reverse(e models.Entry) {
	w.t.Helper()
	if _, err := w.l.Reverse(ctx, e.Account, e.Seq, "更正", "staff"); err != nil {
		w.t.Fatal(err)
	}
}

// correctedService posts a service record's credit and its corrections as
// the time bank does: each correction reverses the last credit and posts
// the new one.
func (w *honourWorld) correctedService(r models.Resident, asset models.Asset, amounts ...int64) {
	w.t.Helper()
	var last models.Entry
	for i, a := range amounts {
		if i > 0 {
			w.reverse(last)
		}
		last = w.post(r, asset, models.KindService, a, fmt.Sprintf("svc:%s:%s:%d", r.ID, asset, i))
	}
}

// Issue 19.7: a star is earned by net points; a reversed award and a
// corrected record count what is left.
func TestIssue19_7_ReversedPointsEarnNoStar(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	w.at = time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	w.reverse(w.post(w.wang, models.AssetPoints, models.KindAward, 200, "award-wang"))
	// 7 h → 7.5 h → 8 h: 70, 75 and 80 points posted, 80 net.
	w.correctedService(w.li, models.AssetPoints, 70, 75, 80)
	w.at = time.Date(2027, 1, 1, 2, 0, 0, 0, time.UTC)
	if _, _, err := w.hs.RecordStars(ctx, 2027); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		h      models.Household
		points models.Points
	}{{w.hh1, 80}, {w.hh2, 0}} {
		rec, err := w.st.StarRecord(ctx, c.h.ID+":2027")
		if err != nil {
			t.Fatal(err)
		}
		if rec.Level != models.StarNone || rec.Points != c.points {
			t.Fatalf("household %s: %s with %d points, want 无 with %d", c.h.Room, models.StarNames[rec.Level], rec.Points, c.points)
		}
	}
	if got := w.points(w.wang.ID); got != 0 {
		t.Fatalf("star bonus paid on reversed points: balance %d", got)
	}
}

// Issue 19.8: the ranking shows the net of the ledger.
func TestIssue19_8_RankingsCountCorrectedRecordsOnce(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	w.at = time.Date(2026, 5, 3, 0, 0, 0, 0, time.UTC)
	w.correctedService(w.li, models.AssetHours, 60, 90)
	w.correctedService(w.li, models.AssetPoints, 10, 15)
	w.at = time.Date(2026, 5, 4, 0, 0, 0, 0, time.UTC)
	w.post(w.zhang, models.AssetPoints, models.KindAward, 5, "award-zhang")
	w.reverse(w.post(w.zhang, models.AssetPoints, models.KindDeduct, -5, "deduct-zhang"))
	rows, err := w.hs.Rankings(ctx, w.as(w.zhang), honour.RankingQuery{Period: "2026-05"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("rows = %+v", rows)
	}
	if r := rows[0]; r.ResidentID != w.li.ID || r.Minutes != 90 || r.Earned != 15 {
		t.Fatalf("li's row = %+v, want 90 minutes and 15 points", r)
	}
	if r := rows[1]; r.ResidentID != w.zhang.ID || r.Deducted != 0 || r.Earned != 5 {
		t.Fatalf("zhang's row = %+v, want a reversed deduction to count 0", r)
	}
}

// Issue 11.1, with an appeal: a revoked listing is not restored while the
// nominee holds a newer open nomination.
func TestIssue11_1_AppealDoesNotRestoreASecondOpenNomination(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	e := w.mustListed(w.zhang)
	if _, err := w.hs.Revoke(ctx, w.staff, e.ID, "违反公约"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.hs.Appeal(ctx, w.as(w.zhang), e.ID, "情况已说明"); err != nil {
		t.Fatal(err)
	}
	newer := w.nominate(w.zhang)
	if _, err := w.hs.DecideAppeal(ctx, w.staff, e.ID, true, "复核后恢复"); !errors.Is(err, models.ErrNominationOpen) {
		t.Fatalf("restored beside open nomination %s: %v", newer.ID, err)
	}
	if w.entry(e.ID).Status != models.HonourRevoked {
		t.Fatalf("entry after the refused restore: %+v", w.entry(e.ID))
	}
}

// Issue 11.16, points spent: the withdrawal takes back what the balance
// covers, once.
func TestIssue11_16_WithdrawalTakesBackWhatIsLeftOnce(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	e := w.mustListed(w.zhang)
	w.post(w.zhang, models.AssetPoints, models.KindHold, -80, "spent-on-a-reward")
	o := models.Objection{
		ID:          "late",
		EntryID:     e.ID,
		CommunityID: "A",
		ResidentID:  w.wang.ID,
		Reason:      "不属实",
		At:          e.NoticeEnds.Add(-time.Second),
		Status:      models.ObjectionPending,
	}
	if err := w.st.InsertObjection(ctx, o); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := w.hs.RuleObjection(ctx, w.staff, o.ID, true, "异议成立"); err != nil {
			t.Fatal(err)
		}
	}
	w.post(w.zhang, models.AssetPoints, models.KindAward, 50, "later-award")
	if _, err := w.hs.ExpireDue(ctx, w.at); err != nil {
		t.Fatal(err)
	}
	if got := w.points(w.zhang.ID); got != 50 || w.listed(w.zhang) {
		t.Fatalf("balance %d (want 100 - 80 spent - 20 taken back + 50 = 50), listed %v", got, w.listed(w.zhang))
	}
}

// Issue 11.5, the exactly-once side: runs at once pay the difference once,
// and a posting whose op was recorded before a crash, with no entry, is
// completed by the next run and not paid again.
func TestIssue11_5_ConcurrentRunsAndCrashedPostingPayOnce(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	w.mustHeadFromSeptember()
	w.appoint(w.wang) // hands the building over: zhang served nine days of September
	w.at = time.Date(2026, 10, 15, 2, 0, 0, 0, time.UTC)
	w.duty(w.wang, "2026-10", "月度例会", true)
	// The first run died after recording its op for wang's October, before the entry.
	oct, _ := models.ParseMonth("2026-10")
	if err := w.st.InsertOp(ctx, ledger.Op{
		ID:      "allowance:" + w.wang.ID + ":2026-10:1",
		Hash:    "allowance:70",
		Account: models.AccountOf(w.wang.ID, models.AssetPoints),
		At:      w.at,
	}); err != nil {
		t.Fatal(err)
	}
	w.at = time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	w.duty(w.wang, "2026-10", "通知送达", true)
	atonce.Run(4, func(int) {
		if _, _, err := w.hs.PayAllowances(ctx, oct); err != nil {
			t.Error(err)
		}
	})
	w.payAllowances("2026-10")
	if got := w.points(w.wang.ID); got != 90 {
		t.Fatalf("wang paid %d, want 70 (the crashed posting) + 20 = 90", got)
	}
}

// Issue 11.5, the race at the close: a confirmation stamped before the
// close but stored after the closing pass read the duties is paid once,
// carried to the next month that closes, with a note.
func TestIssue11_5_ConfirmationStoredAfterClosingPassIsCarriedOnce(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	w.mustHeadFromSeptember()
	w.at = time.Date(2026, 10, 15, 2, 0, 0, 0, time.UTC)
	w.duty(w.zhang, "2026-10", "月度例会", true)
	late := w.duty(w.zhang, "2026-10", "通知送达", false)
	w.at = time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	w.payAllowances("2026-10")
	// November's run closes October and makes its last pass ...
	w.at = time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	w.payAllowances("2026-11")
	// ... and only then is the confirmation stored, stamped a millisecond
	// before the close.
	w.at = w.at.Add(-time.Millisecond)
	if _, err := w.hs.RuleDuty(ctx, w.staff, late.ID, true, "属实"); err != nil {
		t.Fatal(err)
	}
	if got := w.points(w.zhang.ID); got != 70 {
		t.Fatalf("balance %d, want 70 until the duty is carried", got)
	}
	w.at = time.Date(2027, 1, 1, 3, 0, 0, 0, time.UTC)
	for _, m := range []string{"2026-12", "2026-12", "2026-11", "2026-10"} {
		w.payAllowances(m)
	}
	w.at = time.Date(2027, 2, 1, 3, 0, 0, 0, time.UTC)
	w.payAllowances("2027-01")
	if got := w.points(w.zhang.ID); got != 90 {
		t.Fatalf("balance %d, want 70 + 20 for the late duty, paid once", got)
	}
	ev, err := w.st.HonourEvent(ctx, "allowance-duty:"+late.ID)
	if err != nil || ev.Month != "2026-11" {
		t.Fatalf("late duty paid in %q (%v), want the next month to close, 2026-11", ev.Month, err)
	}
	hist, _, err := w.l.History(ctx, models.AccountOf(w.zhang.ID, models.AssetPoints), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || !strings.Contains(hist[0].Reason, "往月结算后确认的履职 1 项") {
		t.Fatalf("allowance entries: %+v", hist)
	}
}

// Issue 11.5, crashes: a run that died after closing the month, before its
// last pass, pays the month when it is run again; a run that died after
// naming the month that pays a duty, before the posting, pays it once.
func TestIssue11_5_CrashedClosingRunPaysOnceWhenRunAgain(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	w.mustOctoberRun(true)
	w.at = time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC)
	d := w.duty(w.zhang, "2026-10", "通知送达", true)
	// November's run: the close mark of October, then the claim of the
	// duty for October, then a kill before the posting.
	w.at = time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	for _, ev := range []models.HonourEvent{
		{
			ID:          "allowance-closed:A:2026-10",
			CommunityID: "A",
			Subject:     "2026-10",
			Kind:        "allowance_closed",
			By:          "system",
			At:          w.at,
		},
		{
			ID:          "allowance-duty:" + d.ID,
			CommunityID: "A",
			Subject:     d.ID,
			Kind:        "allowance_duty",
			By:          "system",
			Month:       "2026-10",
			At:          w.at,
		},
	} {
		if err := w.st.InsertHonourEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	w.payAllowances("2026-11")
	w.payAllowances("2026-11")
	w.at = time.Date(2027, 1, 1, 3, 0, 0, 0, time.UTC)
	w.payAllowances("2026-12")
	if got := w.points(w.zhang.ID); got != 90 {
		t.Fatalf("balance %d, want 70 + 20 for the duty of the crashed run, once", got)
	}
}

// Issue 11.5, concurrency: staff confirm duties while two runs close their
// month, 40 rounds (one month each); every confirmed duty is paid exactly
// once across the months, in its own or carried to the next.
func TestIssue11_5_ConfirmationsRacingTheClosePaidExactlyOnce(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	w.mustHeadFromSeptember()
	month, err := models.ParseMonth("2026-10")
	if err != nil {
		t.Fatal(err)
	}
	const rounds = 40
	var ids []string
	for r := 0; r < rounds; r++ {
		// On the first of the next month: three duties of the month, one
		// confirmed before the run, two confirmed while it closes the month.
		w.at = month.End(time.UTC).Add(3 * time.Hour)
		var ds []models.Duty
		for i, name := range []string{"月度例会", "通知送达", "问题上报"} {
			ds = append(ds, w.duty(w.zhang, month.String(), name, i == 0))
			ids = append(ids, ds[i].ID)
		}
		atonce.Run(4, func(i int) {
			var err error
			if i < 2 {
				_, _, err = w.hs.PayAllowances(ctx, month.Next())
			} else {
				// A varying amount of work first (a few listings), so the
				// confirmation lands before, during or after the close.
				for range (r + i) % 4 {
					if _, err := w.hs.Duties(ctx, w.staff, "", ""); err != nil {
						t.Error(err)
					}
				}
				_, err = w.hs.RuleDuty(ctx, w.staff, ds[i-1].ID, true, "属实")
			}
			if err != nil {
				t.Error(err)
			}
		})
		if t.Failed() {
			t.FailNow()
		}
		month = month.Next()
	}
	// Two more runs pay what the last close carried.
	for range 2 {
		w.at = month.End(time.UTC).Add(3 * time.Hour)
		if _, _, err := w.hs.PayAllowances(ctx, month.Next()); err != nil {
			t.Fatal(err)
		}
		month = month.Next()
	}
	// Each month: base 50 + 20 per duty of its own; a carried duty is 20
	// more in the month that pays it (at most 3 + 2 duties: under the cap).
	want := int64(rounds*50 + len(ids)*20)
	if got := w.points(w.zhang.ID); got != want {
		t.Fatalf("paid %d over %d months, want %d", got, rounds, want)
	}
	carried := 0
	for _, id := range ids {
		ev, err := w.st.HonourEvent(ctx, "allowance-duty:"+id)
		if err != nil {
			t.Fatalf("duty %s: paid in no month: %v", id, err)
		}
		d, err := w.st.Duty(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Month != d.Month {
			carried++
		}
	}
	t.Logf("%d of %d duties confirmed after their month's last pass were carried", carried, len(ids))
}

// A keyed nomination whose first answer was lost (the process died before
// it was stored) is repeated: the repeat is answered with the entry the
// first attempt made, not refused as another open nomination; another
// request still is.
func TestIssue11_1_RepeatAfterLostAnswerGetsTheEntry(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	n := honour.Nomination{
		ResidentID: w.zhang.ID,
		Category:   "诚信",
		Reason:     "拾金不昧",
		OpID:       "k:staff:nominate-1",
	}
	first, err := w.hs.Nominate(ctx, w.staff, n)
	if err != nil {
		t.Fatal(err)
	}
	again, err := w.hs.Nominate(ctx, w.staff, n)
	if err != nil || again.ID != first.ID {
		t.Fatalf("the repeat of the same request: %+v, %v; want entry %s", again, err, first.ID)
	}
	n.OpID = "k:staff:nominate-2"
	if _, err := w.hs.Nominate(ctx, w.staff, n); !errors.Is(err, models.ErrNominationOpen) {
		t.Fatalf("another request for the same nominee: %v; want NOMINATION_OPEN", err)
	}
}
