package timebank_test

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/community/communitytest"
	"github.com/linli-community/linli/directory"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/timebank"
)

// tbEnv is the time bank over a communitytest.World: community A, its
// staff member and residents r1..r30.
type tbEnv struct {
	*communitytest.World
}

var tbStart = time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC) // 16:00 in Shanghai

func newTB(t *testing.T) *tbEnv {
	t.Helper()
	return &tbEnv{World: communitytest.NewWorld(t, tbStart)}
}

func res(id string) models.Principal { return communitytest.Resident("A", id) }

func (e *tbEnv) activity(t *testing.T, start time.Time, d time.Duration, capacity int, maxMin models.Minutes) models.Activity {
	t.Helper()
	a, err := e.Timebank.CreateActivity(ctx, e.Staff, timebank.NewActivity{
		Title:       "助老探访",
		Category:    "助老",
		Place:       "活动室",
		Start:       start,
		End:         start.Add(d),
		Capacity:    capacity,
		MaxMinutes:  maxMin,
		SelfCheckin: true,
	}, community.Idempotency{})
	if err != nil {
		t.Fatalf("create activity: %v", err)
	}
	return a
}

func (e *tbEnv) attend(t *testing.T, a models.Activity, resident string, in, out time.Time) (*models.ServiceRecord, error) {
	t.Helper()
	e.Clock.Set(out.Add(time.Minute))
	if _, err := e.Timebank.RecordAttendance(ctx, e.Staff, a.ID, resident, false, in); err != nil {
		return nil, err
	}
	att, err := e.Timebank.RecordAttendance(ctx, e.Staff, a.ID, resident, true, out)
	return att.Record, err
}

func (e *tbEnv) claim(t *testing.T, resident string, start time.Time, d time.Duration) models.ServiceRecord {
	t.Helper()
	rec, err := e.Timebank.ClaimRecord(ctx, res(resident), timebank.Claim{
		Category:     "环境",
		Organisation: "春申居委会",
		Description:  "捡垃圾",
		Start:        start,
		End:          start.Add(d),
		Idem: community.Idempotency{
			Key:  communitytest.NewID(),
			OpID: "k:" + resident + ":" + communitytest.NewID(),
			Hash: "h",
		},
	})
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	return rec
}

// outcomes counts the calls that succeeded and those refused with refusal;
// any other error fails the test.
func outcomes(t *testing.T, errs []error, refusal error) (ok, refused int) {
	t.Helper()
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, refusal):
			refused++
		default:
			t.Error(err)
		}
	}
	return ok, refused
}

// A 3-hour attendance at an activity capped at 2 hours credits 2 hours.
func TestAttendanceCappedPerActivity(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	start := tbStart.Add(24 * time.Hour)
	a := e.activity(t, start, 3*time.Hour, 10, 120)
	rec, err := e.attend(t, a, "r1", start, start.Add(3*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Minutes != 180 || rec.State != models.RecordPending {
		t.Fatalf("record: %+v", rec)
	}
	if e.Balance(t, "r1", models.AssetHours) != 0 {
		t.Fatal("hours credited before approval")
	}
	got, err := e.Timebank.Approve(ctx, e.Staff, rec.ID, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if got.Credited != 120 || e.Balance(t, "r1", models.AssetHours) != 120 || e.Balance(t, "r1", models.AssetPoints) != 20 {
		t.Fatalf("credited %d, hours %d, points %d; want 120, 120, 20", got.Credited,
			e.Balance(t, "r1", models.AssetHours), e.Balance(t, "r1", models.AssetPoints))
	}
	// A second approval changes nothing; a rejection now is refused.
	if _, err := e.Timebank.Approve(ctx, e.Staff, rec.ID, 0, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Timebank.Reject(ctx, e.Staff, rec.ID, "no"); !errors.Is(err, models.ErrRecordDecided) {
		t.Fatalf("reject after approve: %v", err)
	}
	if e.Balance(t, "r1", models.AssetHours) != 120 {
		t.Fatal("approved twice")
	}
}

// The daily cap applies at approval, across records of one day.
func TestDailyCap(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	ver, _ := e.Policies.At(ctx, "A", tbStart)
	ver.Effective, ver.MaxMinutesPerDay = tbStart, 150
	if _, err := e.Policies.AddVersion(ctx, e.Staff, ver, community.Idempotency{}); err != nil {
		t.Fatal(err)
	}
	day := tbStart.Add(time.Hour) // 2026-11-02 17:00 Shanghai, under the new version
	e.Clock.Set(tbStart.Add(6 * time.Hour))
	r1 := e.claim(t, "r1", day, 100*time.Minute)
	r2 := e.claim(t, "r1", day.Add(2*time.Hour), 100*time.Minute)
	ids := []string{r1.ID, r2.ID}
	atonce.Run(len(ids), func(i int) {
		if _, err := e.Timebank.Approve(ctx, e.Staff, ids[i], 0, ""); err != nil {
			t.Error(err)
		}
	})
	if h := e.Balance(t, "r1", models.AssetHours); h != 150 {
		t.Fatalf("hours = %d, want the daily cap 150", h)
	}
}

// Overlapping records of the same resident are rejected.
func TestOverlappingRecordsRejected(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	start := tbStart.Add(24 * time.Hour)
	a := e.activity(t, start, 2*time.Hour, 10, 120)
	b := e.activity(t, start.Add(time.Hour), 2*time.Hour, 10, 120)
	if _, err := e.attend(t, a, "r1", start, start.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	_, err := e.attend(t, b, "r1", start.Add(time.Hour), start.Add(3*time.Hour))
	communitytest.MustCode(t, err, models.ErrRecordOverlap)
	// Checked in before a claimed record, out after it: refused at check-out.
	e.Clock.Set(start.Add(3 * time.Hour))
	if _, err := e.Timebank.ClaimRecord(ctx, res("r4"), timebank.Claim{
		Category:     "环境",
		Organisation: "x",
		Description:  "y",
		Start:        start.Add(90 * time.Minute),
		End:          start.Add(100 * time.Minute),
		Idem: community.Idempotency{
			Key:  communitytest.NewID(),
			OpID: communitytest.NewID(),
			Hash: "h",
		},
	}); err != nil {
		t.Fatal(err)
	}
	_, err = e.attend(t, a, "r4", start, start.Add(2*time.Hour))
	communitytest.MustCode(t, err, models.ErrRecordOverlap)
	// Another resident, or a later slot, is fine.
	if _, err := e.attend(t, b, "r2", start.Add(time.Hour), start.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	// A claim overlapping the attendance is refused too, concurrently or not.
	ok, overlap := outcomes(t, atonce.Errors(4, func(i int) error {
		_, err := e.Timebank.ClaimRecord(ctx, res("r3"), timebank.Claim{
			Category:     "环境",
			Organisation: "x",
			Description:  "y",
			Start:        start.Add(time.Duration(i) * 10 * time.Minute),
			End:          start.Add(time.Hour + time.Duration(i)*10*time.Minute),
			Idem: community.Idempotency{
				Key:  communitytest.NewID(),
				OpID: communitytest.NewID(),
				Hash: "h",
			},
		})
		return err
	}), models.ErrRecordOverlap)
	if ok != 1 || overlap != 3 {
		t.Fatalf("concurrent overlapping claims: %d accepted, %d refused; want 1 and 3", ok, overlap)
	}
	// A rejected record no longer blocks its time.
	recs, _, _ := e.Timebank.MyRecords(ctx, res("r1"), "", 0)
	if _, err := e.Timebank.Reject(ctx, e.Staff, recs[0].ID, "not there"); err != nil {
		t.Fatal(err)
	}
	e.Clock.Set(start.Add(4 * time.Hour))
	if _, err := e.Timebank.ClaimRecord(ctx, res("r1"), timebank.Claim{
		Category:     "环境",
		Organisation: "x",
		Description:  "y",
		Start:        start,
		End:          start.Add(time.Hour),
		Idem: community.Idempotency{
			Key:  communitytest.NewID(),
			OpID: communitytest.NewID(),
			Hash: "h",
		},
	}); err != nil {
		t.Fatalf("claim over a rejected record: %v", err)
	}
}

// Concurrent sign-ups never exceed capacity; a cancelled place is taken again.
func TestConcurrentSignupsKeepCapacity(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	a := e.activity(t, tbStart.Add(48*time.Hour), 2*time.Hour, 5, 120)
	ok, full := outcomes(t, atonce.Errors(20, func(i int) error {
		_, err := e.Timebank.SignUp(ctx, res(fmt.Sprintf("r%d", i+1)), a.ID)
		return err
	}), models.ErrActivityFull)
	if ok != 5 || full != 15 {
		t.Fatalf("%d signed up, %d full; want 5 and 15", ok, full)
	}
	list, err := e.Timebank.Signups(ctx, e.Staff, a.ID)
	if err != nil || len(list) != 5 {
		t.Fatalf("signups: %d %v", len(list), err)
	}
	// One cancels; two race for the place; one gets it.
	if err := e.Timebank.CancelSignup(ctx, res(list[0].ResidentID), a.ID); err != nil {
		t.Fatal(err)
	}
	ok, full = 0, 0
	racers := []string{"r21", "r22"}
	var mu sync.Mutex
	atonce.Run(len(racers), func(i int) {
		_, err := e.Timebank.SignUp(ctx, res(racers[i]), a.ID)
		mu.Lock()
		defer mu.Unlock()
		if err == nil {
			ok++
		} else if errors.Is(err, models.ErrActivityFull) {
			full++
		}
	})
	list, _ = e.Timebank.Signups(ctx, e.Staff, a.ID)
	if ok != 1 || full != 1 || len(list) != 5 {
		t.Fatalf("after a cancellation: %d ok, %d full, %d signed up", ok, full, len(list))
	}
	// Signing up again is the same sign-up; after the start it is closed.
	mine, _ := e.Timebank.MyActivities(ctx, res(list[1].ResidentID))
	if len(mine) != 1 {
		t.Fatalf("my activities: %+v", mine)
	}
	e.Clock.Set(a.Start)
	_, err = e.Timebank.SignUp(ctx, res("r30"), a.ID)
	communitytest.MustCode(t, err, models.ErrSignupClosed)
}

// An expired, foreign or forged QR token is rejected; the current and
// previous slot are accepted.
func TestQRTokens(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	start := tbStart.Add(10 * time.Minute)
	a := e.activity(t, start, 2*time.Hour, 10, 120)
	b := e.activity(t, start, 2*time.Hour, 10, 120)
	e.Clock.Set(start)
	qa, err := e.Timebank.QR(ctx, e.Staff, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	qb, _ := e.Timebank.QR(ctx, e.Staff, b.ID)
	_, err = e.Timebank.ScanIn(ctx, res("r1"), a.ID, qb.Token)
	communitytest.MustCode(t, err, models.ErrQRWrongActivity)
	for _, bad := range []string{"", "x", "a.b.c", qa.Token + "x", "x" + qa.Token, strings.Replace(qa.Token, ".", "", 1),
		strings.Repeat("A", 300), "eyJ9.AAAA", qa.Token[:len(qa.Token)-2]} {
		_, err = e.Timebank.ScanIn(ctx, res("r1"), a.ID, bad)
		communitytest.MustCode(t, err, models.ErrQRInvalid)
	}
	// The previous slot still works; two slots later it does not.
	e.Clock.Advance(timebank.DefaultQRSlot)
	if _, err := e.Timebank.ScanIn(ctx, res("r1"), a.ID, qa.Token); err != nil {
		t.Fatalf("previous slot: %v", err)
	}
	e.Clock.Advance(2 * timebank.DefaultQRSlot)
	_, err = e.Timebank.ScanIn(ctx, res("r2"), a.ID, qa.Token)
	communitytest.MustCode(t, err, models.ErrQRExpired)
	// A second check-in; a check-out without check-in.
	q, _ := e.Timebank.QR(ctx, e.Staff, a.ID)
	_, err = e.Timebank.ScanIn(ctx, res("r1"), a.ID, q.Token)
	communitytest.MustCode(t, err, models.ErrAlreadyCheckedIn)
	_, err = e.Timebank.ScanOut(ctx, res("r3"), a.ID, q.Token)
	communitytest.MustCode(t, err, models.ErrNotCheckedIn)
	// Outside the window (with its grace).
	e.Clock.Set(a.End.Add(time.Hour))
	q, _ = e.Timebank.QR(ctx, e.Staff, a.ID)
	_, err = e.Timebank.ScanIn(ctx, res("r4"), a.ID, q.Token)
	communitytest.MustCode(t, err, models.ErrOutsideWindow)
	// Check out within the window makes the record.
	e.Clock.Set(start.Add(time.Hour))
	q, _ = e.Timebank.QR(ctx, e.Staff, a.ID)
	att, err := e.Timebank.ScanOut(ctx, res("r1"), a.ID, q.Token)
	if err != nil || att.Record == nil || att.Record.Minutes != 59 { // checked in 45 s after the start
		t.Fatalf("scan out: %+v %v", att, err)
	}
	_, err = e.Timebank.ScanOut(ctx, res("r1"), a.ID, q.Token)
	communitytest.MustCode(t, err, models.ErrAlreadyCheckedOut)
	// A resident cannot show the QR code.
	_, err = e.Timebank.QR(ctx, res("r1"), a.ID)
	communitytest.MustCode(t, err, models.ErrForbidden)
}

// The auto-approval job run twice (even at once) credits once.
func TestAutoApproveTwiceCreditsOnce(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	a := e.activity(t, tbStart.Add(time.Hour), 2*time.Hour, 10, 120)
	rec, err := e.attend(t, a, "r1", a.Start, a.Start.Add(90*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if n, _, err := e.Timebank.AutoApprove(ctx); err != nil || n != 0 {
		t.Fatalf("too early: %d %v", n, err)
	}
	e.Clock.Advance(8 * 24 * time.Hour)
	counts := make([]int, 3)
	atonce.Run(len(counts), func(i int) {
		n, _, err := e.Timebank.AutoApprove(ctx)
		if err != nil {
			t.Error(err)
		}
		counts[i] = n
	})
	if n, _, err := e.Timebank.AutoApprove(ctx); err != nil || n != 0 {
		t.Fatalf("again: %d %v", n, err)
	}
	if counts[0]+counts[1]+counts[2] != 1 {
		t.Fatalf("approved %v times", counts)
	}
	if h, p := e.Balance(t, "r1", models.AssetHours), e.Balance(t, "r1", models.AssetPoints); h != 90 || p != 15 {
		t.Fatalf("hours %d points %d; want 90 and 15", h, p)
	}
	got, _ := e.Store.Record(ctx, rec.ID)
	if got.State != models.RecordApproved || got.DecidedBy != "system" {
		t.Fatalf("record: %+v", got)
	}
}

// A policy change mid-month applies from its effective date only: service
// before it earns by the old rate, service after by the new one, whenever
// approved; each entry records its version.
func TestPolicyChangeMidMonth(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	e.Clock.Set(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	mid := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	v, _ := e.Policies.At(ctx, "A", e.Clock.Now())
	v.Effective, v.PointsPerHour = mid, 20
	if _, err := e.Policies.AddVersion(ctx, e.Staff, v, community.Idempotency{}); err != nil {
		t.Fatal(err)
	}
	e.Clock.Set(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC))
	before := e.claim(t, "r1", time.Date(2026, 11, 10, 2, 0, 0, 0, time.UTC), time.Hour)
	after := e.claim(t, "r2", time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC), time.Hour)
	for _, r := range []models.ServiceRecord{before, after} {
		if _, err := e.Timebank.Approve(ctx, e.Staff, r.ID, 0, ""); err != nil {
			t.Fatal(err)
		}
	}
	if p1, p2 := e.Balance(t, "r1", models.AssetPoints), e.Balance(t, "r2", models.AssetPoints); p1 != 10 || p2 != 20 {
		t.Fatalf("points %d and %d; want 10 (old rate) and 20 (new rate)", p1, p2)
	}
	e1, _ := e.Ledger.Entry(ctx, models.AccountOf("r1", models.AssetPoints), 1)
	e2, _ := e.Ledger.Entry(ctx, models.AccountOf("r2", models.AssetPoints), 1)
	if e1.PolicyVersion != 0 || e2.PolicyVersion != 1 {
		t.Fatalf("policy versions %d and %d; want 0 and 1", e1.PolicyVersion, e2.PolicyVersion)
	}
}

// Leftover minutes carry over: three 40-minute records earn the points of
// one 2-hour record.
func TestCarriedMinutes(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	base := tbStart.Add(-7 * time.Hour)
	for i := 0; i < 3; i++ {
		r := e.claim(t, "r1", base.Add(time.Duration(i)*time.Hour), 40*time.Minute)
		if _, err := e.Timebank.Approve(ctx, e.Staff, r.ID, 0, ""); err != nil {
			t.Fatal(err)
		}
	}
	r := e.claim(t, "r2", base, 2*time.Hour)
	if _, err := e.Timebank.Approve(ctx, e.Staff, r.ID, 0, ""); err != nil {
		t.Fatal(err)
	}
	if p1, p2 := e.Balance(t, "r1", models.AssetPoints), e.Balance(t, "r2", models.AssetPoints); p1 != 20 || p1 != p2 {
		t.Fatalf("3×40 min earned %d points, 1×120 min %d; want 20 each", p1, p2)
	}
	for _, tc := range []struct {
		carry   int64
		m       models.Minutes
		pph     models.Points
		pts     models.Points
		remains int64
	}{{0, 40, 10, 6, 40}, {40, 40, 10, 7, 20}, {20, 40, 10, 7, 0}, {0, 59, 1, 0, 59}, {59, 1, 1, 1, 0}} {
		if p, rest := models.PointsFor(tc.carry, tc.m, tc.pph); p != tc.pts || rest != tc.remains {
			t.Errorf("PointsFor(%d, %d, %d) = %d, %d; want %d, %d", tc.carry, tc.m, tc.pph, p, rest, tc.pts, tc.remains)
		}
	}
}

// Family gifts are refused without a verified relation, below the age
// gate, or over the yearly cap (also when gifts race).
func TestGiftRules(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	v, _ := e.Policies.At(ctx, "A", tbStart)
	v.Effective, v.GiftYearlyCapMinutes = tbStart, 300
	if _, err := e.Policies.AddVersion(ctx, e.Staff, v, community.Idempotency{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Ledger.Post(ctx, ledger.Posting{
		OpID:        "seed",
		Hash:        "h",
		Account:     models.AccountOf("r1", models.AssetHours),
		CommunityID: "A",
		Delta:       1000,
		Kind:        models.KindService,
		Actor:       "t",
	}); err != nil {
		t.Fatal(err)
	}
	gift := func(to string, m models.Minutes) error {
		_, err := e.Timebank.GiftHours(ctx, res("r1"), to, m, community.Idempotency{
			Key:  "k",
			OpID: "k:r1:" + communitytest.NewID(),
			Hash: "h",
		})
		return err
	}
	communitytest.MustCode(t, gift("r9", 60), models.ErrFamilyNotVerified)
	if err := e.Store.SetResidentFamily(ctx, "r1", []models.FamilyLink{{ResidentID: "r9", Relation: "父母"}, {
		ResidentID: "r2",
		Relation:   "兄弟姐妹",
		Verified:   true,
	}}); err != nil {
		t.Fatal(err)
	}
	communitytest.MustCode(t, gift("r9", 60), models.ErrFamilyNotVerified)
	communitytest.MustCode(t, gift("r2", 60), models.ErrGiftAge)
	if err := e.Store.SetResidentFamily(ctx, "r1", []models.FamilyLink{{
		ResidentID: "r9",
		Relation:   "父母",
		Verified:   true,
	}}); err != nil {
		t.Fatal(err)
	}
	ok, capped := outcomes(t, atonce.Errors(4, func(int) error { return gift("r9", 200) }), models.ErrGiftYearlyCap)
	if ok != 1 || capped != 3 {
		t.Fatalf("%d gifts, %d over the cap; want 1 and 3", ok, capped)
	}
	if err := gift("r9", 100); err != nil {
		t.Fatalf("up to the cap: %v", err)
	}
	communitytest.MustCode(t, gift("r9", 1), models.ErrGiftYearlyCap)
	if e.Balance(t, "r9", models.AssetHours) != 300 || e.Balance(t, "r1", models.AssetHours) != 700 {
		t.Fatal("gifted hours wrong")
	}
	for _, who := range []string{"r1", "r9"} {
		if gs, _ := e.Timebank.Gifts(ctx, res(who)); len(gs) != 2 {
			t.Fatalf("%s sees %d gifts", who, len(gs))
		}
	}
}

// A correction moves value by reversal and new entries, and leaves a trail.
func TestCorrection(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	r := e.claim(t, "r1", tbStart.Add(-3*time.Hour), time.Hour)
	if _, err := e.Timebank.Approve(ctx, e.Staff, r.ID, 30, "只有半小时"); err != nil {
		t.Fatal(err)
	}
	if h := e.Balance(t, "r1", models.AssetHours); h != 30 {
		t.Fatalf("hours %d", h)
	}
	c, err := e.Timebank.RequestCorrection(ctx, res("r1"), r.ID, 60, "我服务了一小时")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Timebank.RequestCorrection(ctx, res("r1"), r.ID, 60, "again"); !errors.Is(err, models.ErrConflict) {
		t.Fatalf("second open correction: %v", err)
	}
	if _, err := e.Timebank.DecideCorrection(ctx, res("r2"), r.ID, c.N, true, "x"); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("resident decides: %v", err)
	}
	got, err := e.Timebank.DecideCorrection(ctx, e.Staff, r.ID, c.N, true, "签到表核实")
	if err != nil || got.Before != 30 || got.After != 60 {
		t.Fatalf("decide: %+v %v", got, err)
	}
	if h, p := e.Balance(t, "r1", models.AssetHours), e.Balance(t, "r1", models.AssetPoints); h != 60 || p != 10 {
		t.Fatalf("after correction hours %d points %d", h, p)
	}
	// Only the difference is posted.
	hist, _, _ := e.Ledger.History(ctx, models.AccountOf("r1", models.AssetHours), 0, 10)
	if len(hist) != 2 || hist[0].Delta != 30 || hist[1].Delta != 30 {
		t.Fatalf("hours history: %+v", hist)
	}
	trail, _ := e.Store.AuditTrail(ctx, "A", 0, time.Time{}, 10)
	found := false
	for _, a := range trail.Items {
		if a.Action == "record.correct" && strings.Contains(a.Reason, "before 30") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no trail: %+v", trail)
	}
}

// The certificate sums verified hours by category with the organisations;
// the ranking groups them by building.
func TestCertificateAndRanking(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	cs := directory.New(e.Store, communitytest.FakeHasher{}, communitytest.NewID, e.Clock.Now, community.NoNotifier{})
	b1, err := cs.CreateBuilding(ctx, e.Staff, "1号楼", "", community.Idempotency{})
	if err != nil {
		t.Fatal(err)
	}
	h1, _ := cs.CreateHousehold(ctx, e.Staff, b1.ID, "101", nil, community.Idempotency{})
	if err := e.Store.SetResidentProfile(ctx, "r1", "张三", 1990, h1.ID); err != nil {
		t.Fatal(err)
	}
	start := tbStart.Add(-5 * time.Hour)
	r1 := e.claim(t, "r1", start, time.Hour)
	r2 := e.claim(t, "r1", start.Add(2*time.Hour), 30*time.Minute)
	r3 := e.claim(t, "r1", start.Add(-48*time.Hour), 30*time.Minute) // rejected: not counted
	_, _ = e.Timebank.Approve(ctx, e.Staff, r1.ID, 0, "")
	_, _ = e.Timebank.Approve(ctx, e.Staff, r2.ID, 0, "")
	_, _ = e.Timebank.Reject(ctx, e.Staff, r3.ID, "无人证明")
	cert, err := e.Timebank.Certificate(ctx, res("r1"), "r1", tbStart.AddDate(0, 0, -7), tbStart)
	if err != nil || cert.Total != 90 || len(cert.Lines) != 1 || cert.Lines[0].Records != 2 || cert.Lines[0].Organisations[0] != "春申居委会" {
		t.Fatalf("certificate: %+v %v", cert, err)
	}
	if _, err := e.Timebank.Certificate(ctx, res("r2"), "r1", tbStart.AddDate(0, 0, -7), tbStart); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("another resident's certificate: %v", err)
	}
	rank, err := e.Timebank.Ranking(ctx, res("r2"), "2026-11")
	if err != nil || len(rank) != 1 || rank[0].Minutes != 90 || rank[0].Volunteers[0].Name != "张*" {
		t.Fatalf("ranking: %+v %v", rank, err)
	}
	if rank, _ := e.Timebank.Ranking(ctx, res("r2"), "2025"); len(rank) != 0 {
		t.Fatalf("another year: %+v", rank)
	}
	if _, err := e.Timebank.Ranking(ctx, res("r2"), "20x6"); !errors.Is(err, models.ErrValidation) {
		t.Fatalf("bad period: %v", err)
	}
}

// The staff's pending list reads the queue of records waiting for a
// decision: records arrive in it in order, leave it once decided, and what
// a crash leaves behind (a queued record that was never stored, a decided
// one still queued) is skipped by the list and mended by the job.
func TestPendingQueue(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	ids := func(rs []models.ServiceRecord) []string {
		out := []string{}
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	var recs []models.ServiceRecord
	for i, who := range []string{"r1", "r2", "r3"} {
		e.Clock.Advance(time.Minute)
		recs = append(recs, e.claim(t, who, tbStart.Add(-time.Duration(5-i)*time.Hour), time.Hour))
	}
	other := communitytest.Staff("B")
	if rs, _, err := e.Timebank.PendingRecords(ctx, other, "", 50); err != nil || len(rs) != 0 {
		t.Fatalf("another community's staff see %v (%v)", ids(rs), err)
	}
	rs, _, err := e.Timebank.PendingRecords(ctx, e.Staff, "", 50)
	if err != nil || fmt.Sprint(ids(rs)) != fmt.Sprint(ids(recs)) {
		t.Fatalf("pending = %v (%v); want %v, oldest first", ids(rs), err, ids(recs))
	}
	if rs, _, _ := e.Timebank.PendingRecords(ctx, e.Staff, "", 2); len(rs) != 2 {
		t.Fatalf("limit 2 gave %d", len(rs))
	}

	if _, err := e.Timebank.Approve(ctx, e.Staff, recs[0].ID, 0, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Timebank.Reject(ctx, e.Staff, recs[1].ID, "不属实"); err != nil {
		t.Fatal(err)
	}
	queued := func() []string {
		var out []string
		if err := e.Store.EachQueuedRecord(ctx, func(q models.QueuedRecord) error { out = append(out, q.ID); return nil }); err != nil {
			t.Fatal(err)
		}
		sort.Strings(out)
		return out
	}
	if q := queued(); fmt.Sprint(q) != fmt.Sprint([]string{recs[2].ID}) {
		t.Fatalf("queue after two decisions = %v; want only %s", q, recs[2].ID)
	}

	// A crash before the decided record left the queue, and a request that
	// died between queueing its record and storing it.
	approved, err := e.Store.Record(ctx, recs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Store.QueueRecord(ctx, approved); err != nil {
		t.Fatal(err)
	}
	ghost := models.ServiceRecord{
		ID:          "claim:ghost",
		CommunityID: "A",
		ResidentID:  "r4",
		Created:     e.Clock.Now(),
	}
	if err := e.Store.QueueRecord(ctx, ghost); err != nil {
		t.Fatal(err)
	}
	if rs, _, _ := e.Timebank.PendingRecords(ctx, e.Staff, "", 50); fmt.Sprint(ids(rs)) != fmt.Sprint([]string{recs[2].ID}) {
		t.Fatalf("pending = %v; want only %s", ids(rs), recs[2].ID)
	}
	if n, _, err := e.Timebank.AutoApprove(ctx); err != nil || n != 0 {
		t.Fatalf("auto-approve, too early: %d %v", n, err)
	}
	want := []string{"claim:ghost", recs[2].ID}
	sort.Strings(want)
	if q := queued(); fmt.Sprint(q) != fmt.Sprint(want) {
		t.Fatalf("queue = %v; the decided record should have left, the young ghost stayed", q)
	}
	if h := e.Balance(t, "r1", models.AssetHours); h != 60 {
		t.Fatalf("finishing the decision again credited %d minutes; want 60", h)
	}
	// A day later the ghost is dropped; the claim waits for an organiser.
	e.Clock.Advance(8 * 24 * time.Hour)
	if n, x, err := e.Timebank.AutoApprove(ctx); err != nil || n != 0 || x != 0 {
		t.Fatalf("auto-approve: %d approved, %d expired, %v; want none", n, x, err)
	}
	if q := queued(); fmt.Sprint(q) != fmt.Sprint([]string{recs[2].ID}) {
		t.Fatalf("queue = %v; want only the claim %s", q, recs[2].ID)
	}
}
