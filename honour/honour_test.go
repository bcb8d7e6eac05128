package honour_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/community/communitytest"
	"github.com/linli-community/linli/directory"
	"github.com/linli-community/linli/honour"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/policy"
	"github.com/linli-community/linli/store"
)

// honourWorld is the honour service over a fresh store, with community A
// (one building, two households, four residents) and community B, and a
// clock the test moves.
type honourWorld struct {
	t       *testing.T
	st      *store.Store
	l       *ledger.Ledger
	hs      *honour.Service
	cs      *directory.Service
	at      time.Time
	staff   models.Principal
	bld     models.Building
	hh1     models.Household
	hh2     models.Household
	zhang   models.Resident // household 1
	li      models.Resident // household 1
	wang    models.Resident // household 2
	zhao    models.Resident // household 2
	told    *noticeRecorder // what the service told residents
	phoneNo int
}

func newHonourWorld(t *testing.T) *honourWorld {
	t.Helper()
	w := &honourWorld{
		t:    t,
		at:   time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC),
		told: &noticeRecorder{},
	}
	clock := func() time.Time { return w.at }
	w.cs, w.st = communitytest.NewDirectory(t)
	w.l = ledger.New(w.st, clock)
	w.hs = honour.New(honour.Deps{
		Store:    w.st,
		Ledger:   w.l,
		Policies: policy.New(w.st, clock),
		Heads:    w.cs,
		NewID:    communitytest.NewID,
		Now:      clock,
		Notify:   w.told,
	})
	w.staff = communitytest.Staff("A")
	w.bld = communitytest.MustBuilding(t, w.cs, w.staff, "1号楼")
	w.hh1 = communitytest.MustHousehold(t, w.cs, w.staff, w.bld.ID, "101")
	w.hh2 = communitytest.MustHousehold(t, w.cs, w.staff, w.bld.ID, "102")
	w.zhang = w.resident("张三", w.hh1.ID)
	w.li = w.resident("李四", w.hh1.ID)
	w.wang = w.resident("王五", w.hh2.ID)
	w.zhao = w.resident("赵六", w.hh2.ID)
	return w
}

func (w *honourWorld) resident(name, household string) models.Resident {
	w.t.Helper()
	w.phoneNo++
	return communitytest.MustResident(w.t, w.cs, w.staff, name, fmt.Sprintf("1390000%04d", w.phoneNo), household)
}

func (w *honourWorld) as(r models.Resident) models.Principal {
	return communitytest.Resident("A", r.ID)
}

func (w *honourWorld) points(id string) int64 {
	w.t.Helper()
	b, err := w.l.Balance(ctx, models.AccountOf(id, models.AssetPoints))
	if err != nil {
		w.t.Fatal(err)
	}
	return b.Amount
}

func (w *honourWorld) nominate(r models.Resident) models.HonourEntry {
	w.t.Helper()
	e, err := w.hs.Nominate(ctx, w.staff, honour.Nomination{
		ResidentID: r.ID,
		Category:   "诚信",
		Reason:     "拾金不昧",
	})
	if err != nil {
		w.t.Fatalf("nominate: %v", err)
	}
	return e
}

func (w *honourWorld) listDue() (listed, rejected, blocked int) {
	w.t.Helper()
	l, r, b, err := w.hs.ListDue(ctx, w.at)
	if err != nil {
		w.t.Fatalf("list due: %v", err)
	}
	return l, r, b
}

func (w *honourWorld) listed(r models.Resident) bool {
	w.t.Helper()
	ok, err := w.hs.HonourListed(ctx, "A", r.ID, w.at)
	if err != nil {
		w.t.Fatal(err)
	}
	return ok
}

func (w *honourWorld) entry(id string) models.HonourEntry {
	w.t.Helper()
	e, err := w.st.HonourEntry(ctx, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return e
}

// mustListed nominates r and lists them after the notice.
func (w *honourWorld) mustListed(r models.Resident) models.HonourEntry {
	w.t.Helper()
	e := w.nominate(r)
	w.at = e.NoticeEnds.Add(time.Minute)
	w.listDue()
	if !w.listed(r) {
		w.t.Fatalf("%s not listed", r.Name)
	}
	return w.entry(e.ID)
}

func TestObjectionBlocksListingUntilRuled(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	e := w.nominate(w.zhang)
	if e.NoticeEnds != e.Nominated.Add(7*24*time.Hour) {
		t.Fatalf("notice ends %v, want 7 days after %v", e.NoticeEnds, e.Nominated)
	}
	// Every resident of the community sees the notice; another community's does not.
	notices, _, err := w.hs.Entries(ctx, w.as(w.wang), models.HonourNotice, "", 0)
	if err != nil || len(notices) != 1 {
		t.Fatalf("notices = %v, %v", notices, err)
	}
	if _, err := w.hs.Entry(ctx, communitytest.Resident("B", "someone"), e.ID); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("other community reads the entry: %v", err)
	}
	o, err := w.hs.Object(ctx, w.as(w.wang), e.ID, "他欠物业费")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.hs.Object(ctx, w.as(w.wang), e.ID, "again"); !errors.Is(err, models.ErrAlreadyExists) {
		t.Fatalf("second objection: %v", err)
	}
	w.at = e.NoticeEnds.Add(time.Hour)
	if _, err := w.hs.Object(ctx, w.as(w.zhao), e.ID, "too late"); !errors.Is(err, models.ErrConflict) {
		t.Fatalf("objection after notice: %v", err)
	}
	if l, _, b := w.listDue(); l != 0 || b != 1 {
		t.Fatalf("listed %d blocked %d, want 0 and 1", l, b)
	}
	if w.listed(w.zhang) || w.entry(e.ID).Status != models.HonourNotice {
		t.Fatal("listed with an objection pending")
	}
	if _, err := w.hs.RuleObjection(ctx, w.as(w.li), o.ID, false, "x"); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("a resident ruled: %v", err)
	}
	if _, err := w.hs.RuleObjection(ctx, w.staff, o.ID, false, "已核实无欠费"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.hs.RuleObjection(ctx, w.staff, o.ID, true, "改判"); !errors.Is(err, models.ErrConflict) {
		t.Fatalf("second, different ruling: %v", err)
	}
	if l, _, _ := w.listDue(); l != 1 {
		t.Fatalf("listed %d after the objection was dismissed, want 1", l)
	}
	if !w.listed(w.zhang) {
		t.Fatal("not listed after the ruling")
	}
}

func TestUpheldObjectionKeepsNomineeOff(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	e := w.nominate(w.zhang)
	o, err := w.hs.Object(ctx, w.as(w.wang), e.ID, "不属实")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.hs.RuleObjection(ctx, w.staff, o.ID, true, "异议成立"); err != nil {
		t.Fatal(err)
	}
	w.at = e.NoticeEnds.Add(time.Hour)
	w.listDue()
	if w.listed(w.zhang) || w.entry(e.ID).Status != models.HonourRejected || w.points(w.zhang.ID) != 0 {
		t.Fatalf("rejected nomination listed: %+v", w.entry(e.ID))
	}
}

func TestListingJobTwiceListsOnce(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	e := w.nominate(w.zhang)
	w.at = e.NoticeEnds.Add(-time.Minute)
	if l, _, _ := w.listDue(); l != 0 || w.listed(w.zhang) {
		t.Fatal("listed before the notice ended")
	}
	w.at = e.NoticeEnds.Add(time.Minute)
	w.listDue()
	first := w.entry(e.ID)
	// A crash after the listing event but before the caches: the status
	// cache is put back to notice, and the next run finishes once.
	stale := first
	stale.Status = models.HonourNotice
	if err := w.st.SaveHonourEntry(ctx, stale); err != nil {
		t.Fatal(err)
	}
	w.at = w.at.Add(time.Hour)
	w.listDue()
	w.listDue()
	again := w.entry(e.ID)
	if again.Status != models.HonourListed || !again.ListedAt.Equal(first.ListedAt) {
		t.Fatalf("relisted: %+v vs %+v", again, first)
	}
	if got := w.points(w.zhang.ID); got != 100 {
		t.Fatalf("listing points = %d, want 100 once", got)
	}
	if !again.ExpiresAt.Equal(first.ListedAt.Add(365 * 24 * time.Hour)) {
		t.Fatalf("expires %v", again.ExpiresAt)
	}
}

func TestRevocationEndsEligibilityAtOnce(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	e := w.mustListed(w.zhang)
	w.at = w.at.Add(24 * time.Hour)
	if _, err := w.hs.Revoke(ctx, w.as(w.li), e.ID, "x"); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("resident revoked: %v", err)
	}
	if _, err := w.hs.Revoke(ctx, w.staff, e.ID, "违反文明公约"); err != nil {
		t.Fatal(err)
	}
	if w.listed(w.zhang) {
		t.Fatal("still eligible right after the revocation")
	}
	// The points stay; the public board no longer shows the entry.
	if w.points(w.zhang.ID) != 100 {
		t.Fatal("listing points taken back")
	}
	board, _, err := w.hs.Board(ctx, w.as(w.wang), "", 0)
	if err != nil || len(board) != 0 {
		t.Fatalf("board after revocation: %v %v", board, err)
	}
	// Appeal: only the listed person; staff restore, and eligibility with it.
	if _, err := w.hs.Appeal(ctx, w.as(w.wang), e.ID, "不服"); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("stranger appealed: %v", err)
	}
	if _, err := w.hs.Appeal(ctx, w.as(w.zhang), e.ID, "情况已说明"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.hs.Appeal(ctx, w.as(w.zhang), e.ID, "again"); !errors.Is(err, models.ErrAlreadyExists) {
		t.Fatalf("second appeal: %v", err)
	}
	w.at = w.at.Add(time.Hour)
	got, err := w.hs.DecideAppeal(ctx, w.staff, e.ID, true, "复核后恢复")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != models.HonourListed || !w.listed(w.zhang) {
		t.Fatalf("appeal upheld but not restored: %+v", got)
	}
	// A restored listing can be revoked again.
	if _, err := w.hs.Revoke(ctx, w.staff, e.ID, "再次违规"); err != nil {
		t.Fatal(err)
	}
	if w.listed(w.zhang) {
		t.Fatal("eligible after the second revocation")
	}
}

func TestExpiryEndsListing(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	e := w.mustListed(w.zhang)
	w.at = e.ExpiresAt
	if w.listed(w.zhang) {
		t.Fatal("eligible at expiry, before the job ran")
	}
	for range 2 {
		if _, err := w.hs.ExpireDue(ctx, w.at); err != nil {
			t.Fatal(err)
		}
	}
	if w.entry(e.ID).Status != models.HonourExpired {
		t.Fatal("not expired")
	}
}

func TestBoardMasksNamesAndLeavesOutOptedOut(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	e1 := w.nominate(w.zhang)
	e2 := w.nominate(w.wang)
	w.at = e2.NoticeEnds.Add(time.Minute)
	w.listDue()
	if _, err := w.hs.SetHidden(ctx, w.as(w.li), e2.ID, true); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("another resident hid the entry: %v", err)
	}
	if _, err := w.hs.SetHidden(ctx, w.as(w.wang), e2.ID, true); err != nil {
		t.Fatal(err)
	}
	board, _, err := w.hs.Board(ctx, w.as(w.zhao), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(board) != 1 || board[0].EntryID != e1.ID || board[0].Name != "张*" || board[0].BuildingName != "1号楼" || board[0].Category != "诚信" {
		t.Fatalf("board = %+v", board)
	}
	if !w.listed(w.wang) {
		t.Fatal("opting out of the board ended the listing")
	}
}

func TestHouseholdListingMakesMembersEligible(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	e, err := w.hs.Nominate(ctx, w.staff, honour.Nomination{
		HouseholdID: w.hh2.ID,
		Category:    "文明家庭",
		Reason:      "邻里和睦",
	})
	if err != nil {
		t.Fatal(err)
	}
	w.at = e.NoticeEnds.Add(time.Minute)
	w.listDue()
	if !w.listed(w.wang) || !w.listed(w.zhao) || w.listed(w.zhang) {
		t.Fatal("household listing does not cover exactly its members")
	}
	if w.points(w.wang.ID) != 100 || w.points(w.zhao.ID) != 100 {
		t.Fatal("household members not credited")
	}
}

func TestBuildingHeadNominatesOwnBuildingOnly(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	other := communitytest.MustBuilding(t, w.cs, w.staff, "2号楼")
	hh := communitytest.MustHousehold(t, w.cs, w.staff, other.ID, "201")
	far := w.resident("钱七", hh.ID)
	if _, err := w.hs.Appoint(ctx, w.staff, honour.Appointment{
		Role:       models.HeadBuilding,
		BuildingID: w.bld.ID,
		ResidentID: w.li.ID,
	}); err != nil {
		t.Fatal(err)
	}
	head := models.Principal{
		ResidentID:  w.li.ID,
		CommunityID: "A",
		Roles:       []models.Role{models.RoleBuildingHead},
	}
	if _, err := w.hs.Nominate(ctx, head, honour.Nomination{
		ResidentID: w.wang.ID,
		Category:   "好人好事",
		Reason:     "扶老人过马路",
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.hs.Nominate(ctx, head, honour.Nomination{
		ResidentID: far.ID,
		Category:   "好人好事",
		Reason:     "x",
	}); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("head nominated another building's resident: %v", err)
	}
	if _, err := w.hs.Nominate(ctx, w.as(w.wang), honour.Nomination{
		ResidentID: w.zhao.ID,
		Category:   "好人好事",
		Reason:     "x",
	}); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("resident nominated: %v", err)
	}
}

// --- building heads ---

func (w *honourWorld) appoint(r models.Resident) models.HeadTerm {
	w.t.Helper()
	term, err := w.hs.Appoint(ctx, w.staff, honour.Appointment{
		Role:       models.HeadBuilding,
		BuildingID: w.bld.ID,
		ResidentID: r.ID,
	})
	if err != nil {
		w.t.Fatalf("appoint: %v", err)
	}
	return term
}

func (w *honourWorld) duty(r models.Resident, month, duty string, confirm bool) models.Duty {
	w.t.Helper()
	d, err := w.hs.LogDuty(ctx, w.as(r), honour.DutyLog{
		Month:    month,
		Duty:     duty,
		Evidence: "已完成",
		PhotoURL: "https://example.com/p.jpg",
	})
	if err != nil {
		w.t.Fatalf("log duty: %v", err)
	}
	if confirm {
		if d, err = w.hs.RuleDuty(ctx, w.staff, d.ID, true, "属实"); err != nil {
			w.t.Fatalf("confirm duty: %v", err)
		}
	}
	return d
}

// mustHeadFromSeptember appoints Zhang the building's head on
// 20 September 2026 and returns his term.
func (w *honourWorld) mustHeadFromSeptember() models.HeadTerm {
	w.t.Helper()
	w.at = time.Date(2026, 9, 20, 2, 0, 0, 0, time.UTC)
	return w.appoint(w.zhang)
}

// mustOctoberRun makes Zhang head from 20 September, has him log
// October's monthly meeting on the 15th (confirmed by staff when confirm)
// and runs October's allowances on 1 November.
func (w *honourWorld) mustOctoberRun(confirm bool) {
	w.t.Helper()
	w.mustHeadFromSeptember()
	w.at = time.Date(2026, 10, 15, 2, 0, 0, 0, time.UTC)
	w.duty(w.zhang, "2026-10", "月度例会", confirm)
	w.at = time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	w.payAllowances("2026-10")
}

func (w *honourWorld) payAllowances(month string) {
	w.t.Helper()
	m, err := models.ParseMonth(month)
	if err != nil {
		w.t.Fatal(err)
	}
	if _, _, err := w.hs.PayAllowances(ctx, m); err != nil {
		w.t.Fatalf("pay allowances: %v", err)
	}
}

func TestAllowancePaysActiveHeadWithConfirmedDutyOnce(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	w.mustHeadFromSeptember()
	if b, _ := w.st.Building(ctx, w.bld.ID); b.HeadID != w.zhang.ID {
		t.Fatalf("building head = %q, want the open term's", b.HeadID)
	}
	if ok, _ := w.hs.ActiveHead(ctx, "A", w.zhang.ID, w.at); !ok {
		t.Fatal("not an active head")
	}
	w.at = time.Date(2026, 10, 15, 2, 0, 0, 0, time.UTC)
	w.duty(w.zhang, "2026-10", "月度例会", true)
	w.duty(w.zhang, "2026-10", "通知送达", true)
	rejected := w.duty(w.zhang, "2026-10", "问题上报", false)
	if _, err := w.hs.RuleDuty(ctx, w.staff, rejected.ID, false, "无记录"); err != nil {
		t.Fatal(err)
	}
	w.at = time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	w.payAllowances("2026-10")
	w.payAllowances("2026-10")
	if got := w.points(w.zhang.ID); got != 50+2*20 {
		t.Fatalf("allowance = %d, want 90 once", got)
	}
}

func TestAllowanceNothingWithoutConfirmedDuty(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	w.mustOctoberRun(false) // logged, never confirmed
	if got := w.points(w.zhang.ID); got != 0 {
		t.Fatalf("allowance without a confirmed duty = %d", got)
	}
}

func TestAllowanceProRataForMidMonthHandover(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	old := w.mustHeadFromSeptember()
	// Handover on 16 October, 10:00 in Shanghai: the old head served the
	// 1st to the 16th (16 days), the new one the 17th to the 31st (15).
	w.at = time.Date(2026, 10, 16, 2, 0, 0, 0, time.UTC)
	w.duty(w.zhang, "2026-10", "月度例会", true)
	w.duty(w.zhang, "2026-10", "通知送达", true)
	w.duty(w.zhang, "2026-10", "问题上报", true)
	w.appoint(w.wang)
	if ok, _ := w.hs.ActiveHead(ctx, "A", w.zhang.ID, w.at); ok {
		t.Fatal("outgoing head still active")
	}
	if b, _ := w.st.Building(ctx, w.bld.ID); b.HeadID != w.wang.ID {
		t.Fatalf("building head = %q after the handover", b.HeadID)
	}
	if ended, _ := w.st.HeadTerm(ctx, old.ID); ended.Open() || ended.EndKind != "handover" {
		t.Fatalf("old term = %+v", ended)
	}
	w.at = time.Date(2026, 10, 20, 2, 0, 0, 0, time.UTC)
	w.duty(w.wang, "2026-10", "楼组活动", true)
	w.at = time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	w.payAllowances("2026-10")
	w.payAllowances("2026-10")
	// Old: min(50+3·20, 150) = 110 × 16/31 = 56.77. New: 70 × 15/31 =
	// 33.87. Together 90.64: the largest remainder gives the 90th point to
	// the new head.
	if got := w.points(w.zhang.ID); got != 56 {
		t.Fatalf("outgoing head paid %d, want 56", got)
	}
	if got := w.points(w.wang.ID); got != 34 {
		t.Fatalf("incoming head paid %d, want 34", got)
	}
	terms, err := w.hs.Terms(ctx, w.staff, w.bld.ID)
	if err != nil || len(terms) != 2 {
		t.Fatalf("history = %v, %v", terms, err)
	}
}

func TestRetirementClearsBuildingHead(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	term := w.appoint(w.zhang)
	w.at = w.at.Add(time.Hour)
	if _, err := w.hs.EndTerm(ctx, w.staff, term.ID, "retire", "年事已高"); err != nil {
		t.Fatal(err)
	}
	b, _ := w.st.Building(ctx, w.bld.ID)
	r := communitytest.MustResidentByID(t, w.st, w.zhang.ID)
	if b.HeadID != "" || communitytest.HasRole(r, models.RoleBuildingHead) {
		t.Fatalf("after retirement: head %q, roles %v", b.HeadID, r.Roles)
	}
	if ok, _ := w.hs.ActiveHead(ctx, "A", w.zhang.ID, w.at); ok {
		t.Fatal("retired head still active")
	}
	if ok, _ := w.hs.ActiveHead(ctx, "A", w.zhang.ID, term.Start); !ok {
		t.Fatal("the term is not kept in the history")
	}
}

// --- star households ---

func (w *honourWorld) award(r models.Resident, pts int64, at time.Time) {
	w.t.Helper()
	saved := w.at
	w.at = at
	defer func() { w.at = saved }()
	_, err := w.l.Post(ctx, ledger.Posting{
		OpID:        "test-award:" + r.ID + at.String(),
		Hash:        "h",
		Account:     models.AccountOf(r.ID, models.AssetPoints),
		CommunityID: "A",
		Delta:       pts,
		Kind:        models.KindAward,
		Actor:       "staff",
	})
	if err != nil {
		w.t.Fatal(err)
	}
}

func TestLoweredStarCutsBenefit(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	// Household 1 earns 600 in 2026 (二星户); household 2 earns 250 (一星户).
	w.award(w.zhang, 400, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC))
	w.award(w.li, 200, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	w.award(w.wang, 250, time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC))
	w.award(w.zhao, 999, time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)) // another year
	w.at = time.Date(2027, 1, 1, 2, 0, 0, 0, time.UTC)
	for range 2 {
		if _, _, err := w.hs.RecordStars(ctx, 2027); err != nil {
			t.Fatal(err)
		}
	}
	if lvl, _ := w.hs.StarLevel(ctx, "A", w.hh1.ID, w.at); lvl != models.StarTwo {
		t.Fatalf("household 1 level %d, want 2", lvl)
	}
	if lvl, _ := w.hs.StarLevel(ctx, "A", w.hh2.ID, w.at); lvl != models.StarOne {
		t.Fatalf("household 2 level %d, want 1", lvl)
	}
	if got := w.points(w.zhang.ID); got != 400+50 {
		t.Fatalf("二星 bonus not paid once: %d", got)
	}
	rec, err := w.hs.Star(ctx, w.as(w.li), w.hh1.ID, 2027)
	if err != nil || rec.Points != 600 || rec.Why == "" {
		t.Fatalf("household view = %+v, %v", rec, err)
	}
	if _, err := w.hs.Star(ctx, w.as(w.wang), w.hh1.ID, 2027); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("another household read the star: %v", err)
	}
	// 降星: 二星 → 一星 takes back the difference and the gate sees 1.
	lowered, err := w.hs.LowerStar(ctx, w.staff, w.hh1.ID, 2027, models.StarOne, "乱堆杂物")
	if err != nil {
		t.Fatal(err)
	}
	// The same lowering again (its answer was lost) answers the same and
	// takes back nothing more.
	if again, err := w.hs.LowerStar(ctx, w.staff, w.hh1.ID, 2027, models.StarOne, "乱堆杂物"); err != nil || again != lowered {
		t.Fatalf("repeated lowering: %+v %v\nfirst %+v", again, err, lowered)
	}
	if _, err := w.hs.LowerStar(ctx, w.staff, w.hh1.ID, 2027, models.StarOne, "again"); !errors.Is(err, models.ErrValidation) {
		t.Fatalf("lowering to the same level: %v", err)
	}
	if lvl, _ := w.hs.StarLevel(ctx, "A", w.hh1.ID, w.at); lvl != models.StarOne {
		t.Fatalf("level after lowering %d, want 1", lvl)
	}
	if got := w.points(w.zhang.ID); got != 400+20 {
		t.Fatalf("after 降星 balance %d, want 420", got)
	}
	// 摘牌 before the job pays: household 2 gets nothing.
	if _, err := w.hs.LowerStar(ctx, w.staff, w.hh2.ID, 2027, models.StarNone, "违规搭建"); err != nil {
		t.Fatal(err)
	}
	if got := w.points(w.wang.ID); got != 250 {
		t.Fatalf("after 摘牌 balance %d, want 250", got)
	}
	if _, _, err := w.hs.RecordStars(ctx, 2027); err != nil {
		t.Fatal(err)
	}
	if got := w.points(w.wang.ID); got != 250 {
		t.Fatalf("re-run paid a removed plaque: %d", got)
	}
}

func TestModelStarNeedsListedMember(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	w.award(w.zhang, 1200, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	w.award(w.wang, 1200, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	w.mustListed(w.wang) // listed in March 2026, until March 2027
	w.at = time.Date(2027, 1, 1, 2, 0, 0, 0, time.UTC)
	if _, _, err := w.hs.RecordStars(ctx, 2027); err != nil {
		t.Fatal(err)
	}
	if lvl, _ := w.hs.StarLevel(ctx, "A", w.hh1.ID, w.at); lvl != models.StarTwo {
		t.Fatalf("without a listed member level %d, want 2", lvl)
	}
	if lvl, _ := w.hs.StarLevel(ctx, "A", w.hh2.ID, w.at); lvl != models.StarModel {
		t.Fatalf("with a listed member level %d, want 3", lvl)
	}
}

// --- rankings ---

func TestRankingsTieBreaks(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	may := func(d int) time.Time { return time.Date(2026, 5, d, 0, 0, 0, 0, time.UTC) }
	w.award(w.zhang, 100, may(3))
	w.award(w.li, 100, may(2))
	w.award(w.wang, 100, may(1)) // first to 100, but with a deduction
	w.award(w.zhao, 150, may(9))
	w.at = may(6)
	if _, err := w.l.Post(ctx, ledger.Posting{
		OpID:        "deduct-wang",
		Hash:        "h",
		Account:     models.AccountOf(w.wang.ID, models.AssetPoints),
		CommunityID: "A",
		Delta:       -10,
		Kind:        models.KindDeduct,
		Actor:       "staff",
	}); err != nil {
		t.Fatal(err)
	}
	rows, err := w.hs.Rankings(ctx, w.as(w.zhang), honour.RankingQuery{Period: "2026-05"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rows {
		names = append(names, r.Name)
	}
	// 赵 earned most; 李 and 张 tie on points and deductions, 李 reached
	// 100 first; 王 has a deduction.
	want := []string{"赵*", "李*", "张*", "王*"}
	if fmt.Sprint(names) != fmt.Sprint(want) {
		t.Fatalf("ranking %v, want %v", names, want)
	}
	if rows, _ := w.hs.Rankings(ctx, w.as(w.zhang), honour.RankingQuery{Period: "2026-04"}); len(rows) != 0 {
		t.Fatalf("April ranking %v", rows)
	}
	if _, err := w.hs.Rankings(ctx, w.as(w.zhang), honour.RankingQuery{Period: "May"}); !errors.Is(err, models.ErrValidation) {
		t.Fatalf("bad period: %v", err)
	}
}

func TestConcurrentListingRunsListOnce(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	e := w.nominate(w.zhang)
	w.at = e.NoticeEnds.Add(time.Minute)
	atonce.Run(4, func(int) {
		if _, _, _, err := w.hs.ListDue(ctx, w.at); err != nil {
			t.Error(err)
		}
	})
	if got := w.points(w.zhang.ID); got != 100 {
		t.Fatalf("listing points = %d after concurrent runs, want 100", got)
	}
}

func TestConcurrentAppointmentsOpenOneTerm(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	var won atomic.Int32
	candidates := []models.Resident{w.zhang, w.li, w.wang, w.zhao}
	atonce.Run(len(candidates), func(i int) {
		_, err := w.hs.Appoint(ctx, w.staff, honour.Appointment{
			Role:       models.HeadBuilding,
			BuildingID: w.bld.ID,
			ResidentID: candidates[i].ID,
		})
		if err == nil {
			won.Add(1)
		} else if !errors.Is(err, models.ErrConflict) {
			t.Error(err)
		}
	})
	terms, err := w.st.HeadTerms(ctx, "A", "building:"+w.bld.ID)
	if err != nil {
		t.Fatal(err)
	}
	open := 0
	for _, term := range terms {
		if term.Open() {
			open++
			if b, _ := w.st.Building(ctx, w.bld.ID); b.HeadID != term.ResidentID {
				t.Errorf("building head %q, open term %q", b.HeadID, term.ResidentID)
			}
		}
	}
	// Appointments that saw an earlier winner hand over from it; those
	// that raced for the same term number lose with a conflict.
	if open != 1 || won.Load() < 1 || int(won.Load()) != len(terms) {
		t.Fatalf("%d open terms, %d winners, %d terms; want 1 open and a term per winner", open, won.Load(), len(terms))
	}
}

// Setting a building's head directly (the older route) opens and closes
// terms too, so the head and the open term stay one.
func TestDirectHeadChangeKeepsTerms(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	w.cs.KeepHeadTerms(w.hs)
	if _, err := w.cs.SetBuildingHead(ctx, w.staff, w.bld.ID, w.zhang.ID); err != nil {
		t.Fatal(err)
	}
	if ok, _ := w.hs.ActiveHead(ctx, "A", w.zhang.ID, w.at); !ok {
		t.Fatal("no term for a head set directly")
	}
	w.at = w.at.Add(time.Hour)
	w.appoint(w.li) // through the terms: hands over
	if b, _ := w.st.Building(ctx, w.bld.ID); b.HeadID != w.li.ID {
		t.Fatalf("head %q after appointment", b.HeadID)
	}
	w.at = w.at.Add(time.Hour)
	if _, err := w.cs.SetBuildingHead(ctx, w.staff, w.bld.ID, ""); err != nil {
		t.Fatal(err)
	}
	terms, err := w.hs.Terms(ctx, w.staff, w.bld.ID)
	if err != nil || len(terms) != 2 {
		t.Fatalf("terms = %v, %v", terms, err)
	}
	for _, term := range terms {
		if term.Open() {
			t.Fatalf("open term %+v after the head was removed", term)
		}
	}
	if ok, _ := w.hs.ActiveHead(ctx, "A", w.li.ID, w.at); ok {
		t.Fatal("removed head still active")
	}
}

// The redemption feature calls these through its own interface: their
// signatures are a contract.
var _ interface {
	HonourListed(ctx context.Context, communityID, residentID string, at time.Time) (bool, error)
	StarLevel(ctx context.Context, communityID, householdID string, at time.Time) (int, error)
	ActiveHead(ctx context.Context, communityID, residentID string, at time.Time) (bool, error)
} = (*honour.Service)(nil)

func TestContractReadsOfUnknownsAreFalse(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	if lvl, err := w.hs.StarLevel(ctx, "A", w.hh1.ID, w.at); err != nil || lvl != 0 {
		t.Fatalf("unrecorded year: %d, %v", lvl, err)
	}
	w.mustListed(w.zhang)
	if ok, err := w.hs.HonourListed(ctx, "B", w.zhang.ID, w.at); err != nil || ok {
		t.Fatalf("listed in another community: %v, %v", ok, err)
	}
	if ok, err := w.hs.HonourListed(ctx, "A", "nobody", w.at); err != nil || ok {
		t.Fatalf("unknown resident: %v, %v", ok, err)
	}
	if ok, err := w.hs.ActiveHead(ctx, "A", w.zhang.ID, w.at); err != nil || ok {
		t.Fatalf("never a head: %v, %v", ok, err)
	}
}

func TestBuildingRankingLeavesOutOtherBuildings(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	b2 := communitytest.MustBuilding(t, w.cs, w.staff, "2号楼")
	far := w.resident("钱七", communitytest.MustHousehold(t, w.cs, w.staff, b2.ID, "201").ID)
	w.award(far, 500, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC))
	w.award(w.zhang, 10, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC))
	rows, err := w.hs.Rankings(ctx, w.as(w.li), honour.RankingQuery{Period: "2026", BuildingID: w.bld.ID})
	if err != nil || len(rows) != 1 || rows[0].ResidentID != w.zhang.ID {
		t.Fatalf("building ranking = %+v, %v", rows, err)
	}
	rows, err = w.hs.Rankings(ctx, w.as(w.li), honour.RankingQuery{Period: "2026"})
	if err != nil || len(rows) != 2 || rows[0].ResidentID != far.ID {
		t.Fatalf("community ranking = %+v, %v", rows, err)
	}
}

func TestStaffDecisionsAreInAuditTrail(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	e := w.mustListed(w.zhang)
	if _, err := w.hs.Revoke(ctx, w.staff, e.ID, "违反文明公约"); err != nil {
		t.Fatal(err)
	}
	recs, err := w.st.AuditTrail(ctx, "A", 0, time.Time{}, 50)
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]bool{}
	for _, r := range recs.Items {
		actions[r.Action] = true
	}
	if !actions["honour.nominated"] || !actions["honour.revoked"] {
		t.Fatalf("audit trail actions = %v", actions)
	}
}

// noticeRecorder is a community.Notifier that keeps what it is told.
type noticeRecorder struct {
	mu      sync.Mutex
	notices []models.Notice
}

// Notify implements community.Notifier.
func (r *noticeRecorder) Notify(_ context.Context, n models.Notice) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notices = append(r.notices, n)
}

// A nominee is told the day the public notice ends as the community counts
// days: nominated at 03:00 in Shanghai (19:00 UTC the day before), the
// notice ends at 03:00 there, a day UTC would name one day earlier.
func TestNominationNoticesNameTheEndDayInTheCommunitysZone(t *testing.T) {
	t.Parallel()
	w := newHonourWorld(t)
	w.at = time.Date(2026, 12, 6, 19, 0, 0, 0, time.UTC)
	e, err := w.hs.Nominate(ctx, w.staff, honour.Nomination{
		ResidentID: w.zhang.ID,
		Category:   "诚信",
		Reason:     "拾金不昧",
	})
	if err != nil {
		t.Fatal(err)
	}
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	want := e.NoticeEnds.In(shanghai).Format("2006-01-02")
	if utc := e.NoticeEnds.UTC().Format("2006-01-02"); utc == want {
		t.Fatalf("the notice ends %v, the same day in UTC and in Shanghai: the test proves nothing", e.NoticeEnds)
	}
	kinds := map[models.NoticeKind]int{}
	for _, n := range w.told.notices {
		if n.Args["date"] != want {
			t.Errorf("%s notice to %s names the day %q; want %q, the day in Shanghai", n.Kind, n.Recipient, n.Args["date"], want)
		}
		kinds[n.Kind]++
	}
	if kinds[models.NoticeNominated] != 1 || kinds[models.NoticeNoticeStarted] == 0 {
		t.Fatalf("told %v; want one nomination notice and the notice's start", kinds)
	}
}
