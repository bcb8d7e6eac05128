package timebank_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/community/communitytest"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/store"
	"github.com/linli-community/linli/timebank"
)

var cst = time.FixedZone("CST", 8*3600)

func (e *tbEnv) tryClaim(resident string, start, end time.Time) (models.ServiceRecord, error) {
	return e.Timebank.ClaimRecord(ctx, res(resident), timebank.Claim{
		Category:     "环境",
		Organisation: "春申居委会",
		Description:  "捡垃圾",
		Start:        start,
		End:          end,
		Idem: community.Idempotency{
			Key:  communitytest.NewID(),
			OpID: "k:" + resident + ":" + communitytest.NewID(),
			Hash: "h",
		},
	})
}

// Issue 11.2: a claim refused on its second day leaves nothing that blocks
// its first day, and a day-index link whose record was never stored (its
// request died) blocks nothing either.
func TestIssue11_2_RefusedOvernightClaimLeavesNoLink(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	e.Clock.Set(time.Date(2026, 3, 11, 20, 0, 0, 0, cst))
	first, err := e.tryClaim("r1", time.Date(2026, 3, 11, 0, 30, 0, 0, cst), time.Date(2026, 3, 11, 0, 45, 0, 0, cst))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.tryClaim("r1", time.Date(2026, 3, 10, 23, 0, 0, 0, cst), time.Date(2026, 3, 11, 1, 0, 0, 0, cst))
	communitytest.MustCode(t, err, models.ErrRecordOverlap)
	// Issue 11.23: the refusal names the record it overlaps and its time.
	if d := err.(*models.Error).DetailZh; !strings.Contains(d, first.ID) || !strings.Contains(d, "2026-03-11 00:30") || !strings.HasPrefix(d, "与服务记录") {
		t.Fatalf("overlap detail %q does not name %s and its time in Chinese", d, first.ID)
	}
	if d := err.(*models.Error).Detail; !strings.HasPrefix(d, "Overlaps service record "+first.ID) || !strings.Contains(d, "2026-03-11 00:30") {
		t.Fatalf("overlap detail %q does not name %s and its time in English", d, first.ID)
	}
	if _, err := e.tryClaim("r1", time.Date(2026, 3, 10, 23, 15, 0, 0, cst), time.Date(2026, 3, 10, 23, 45, 0, 0, cst)); err != nil {
		t.Fatalf("a claim that overlaps nothing stored: %v", err)
	}
	// The refused record is nowhere to be seen.
	recs, _, err := e.Timebank.MyRecords(ctx, res("r1"), "", 0)
	if err != nil || len(recs) != 2 {
		t.Fatalf("records %+v (%v); want the two stored", recs, err)
	}

	// A request that wrote its link and died before storing its record.
	ghost := models.Link{
		Chain: "day:r2:2026-03-10",
		N:     1,
		Ref:   "claim:ghost",
		Start: time.Date(2026, 3, 10, 10, 0, 0, 0, cst).UTC(),
		End:   time.Date(2026, 3, 10, 12, 0, 0, 0, cst).UTC(),
		At:    e.Clock.Now(),
	}
	if err := e.Store.InsertLink(ctx, ghost); err != nil {
		t.Fatal(err)
	}
	if _, err := e.tryClaim("r2", time.Date(2026, 3, 10, 11, 0, 0, 0, cst), time.Date(2026, 3, 10, 11, 30, 0, 0, cst)); err != nil {
		t.Fatalf("a dead request's link blocked a claim: %v", err)
	}
	// The dead request can no longer store its record over the new one.
	late := models.ServiceRecord{
		ID:          "claim:ghost",
		CommunityID: "A",
		ResidentID:  "r2",
		Start:       ghost.Start,
		End:         ghost.End,
		Minutes:     120,
		Source:      models.SourceClaim,
		State:       models.RecordPending,
	}
	if err := e.Store.InsertRecord(ctx, late); !errors.Is(err, models.ErrConflict) {
		t.Fatalf("the voided record could still be stored: %v", err)
	}
	if _, err := e.Timebank.Record(ctx, e.Staff, "claim:ghost"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("a void record is visible: %v", err)
	}
}

// Issue 11.2 under concurrency: overnight claims of one resident racing
// over two days never store two overlapping records, and every refusal is
// RECORD_OVERLAP; same-day races store exactly one.
func TestIssue11_2_ConcurrentOvernightClaims(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	e.Clock.Set(time.Date(2026, 3, 31, 20, 0, 0, 0, cst))
	for round := 0; round < 40; round++ {
		night := time.Date(2026, 3, 1+round%28, 22, 0, 0, 0, cst)
		who := fmt.Sprintf("r%d", 1+round/28)
		windows := [][2]time.Time{
			{night.Add(time.Hour), night.Add(3 * time.Hour)},               // 23:00-01:00
			{night.Add(90 * time.Minute), night.Add(150 * time.Minute)},    // 23:30-00:30
			{night.Add(110 * time.Minute), night.Add(130 * time.Minute)},   // 23:50-00:10
			{night.Add(-60 * time.Minute), night.Add(-30 * time.Minute)},   // 21:00-21:30, overlaps none
			{night.Add(-120 * time.Minute), night.Add(-90 * time.Minute)},  // 20:00-20:30
			{night.Add(-110 * time.Minute), night.Add(-100 * time.Minute)}, // 20:10-20:20, same day as the one before
		}
		errs := atonce.Errors(len(windows), func(i int) error {
			_, err := e.tryClaim(who, windows[i][0], windows[i][1])
			return err
		})
		for i, err := range errs {
			if err != nil && !errors.Is(err, models.ErrRecordOverlap) {
				t.Fatalf("round %d claim %d: %v", round, i, err)
			}
		}
		if errs[3] != nil {
			t.Fatalf("round %d: a claim overlapping nothing was refused: %v", round, errs[3])
		}
		if (errs[4] == nil) == (errs[5] == nil) {
			t.Fatalf("round %d: same-day racing claims: %v, %v; want exactly one stored", round, errs[4], errs[5])
		}
		if n := btoi(errs[0] == nil) + btoi(errs[1] == nil) + btoi(errs[2] == nil); n > 1 {
			t.Fatalf("round %d: %d overlapping overnight claims stored", round, n)
		}
	}
	// What is stored never overlaps, per resident.
	for _, who := range []string{"r1", "r2"} {
		recs, _, err := e.Timebank.MyRecords(ctx, res(who), "", 0)
		if err != nil {
			t.Fatal(err)
		}
		for i := range recs {
			for j := i + 1; j < len(recs); j++ {
				if recs[i].Start.Before(recs[j].End) && recs[j].Start.Before(recs[i].End) {
					t.Fatalf("%s has overlapping records %s and %s", who, recs[i].ID, recs[j].ID)
				}
			}
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// spend takes amount of asset from a resident, as a redemption or mutual
// aid would.
func (e *tbEnv) spend(t *testing.T, who string, asset models.Asset, amount int64) {
	t.Helper()
	_, err := e.Ledger.Post(ctx, ledger.Posting{
		OpID:        "spend:" + communitytest.NewID(),
		Hash:        "h",
		Account:     models.AccountOf(who, asset),
		CommunityID: "A",
		Delta:       -amount,
		Kind:        models.KindAdjustment,
		Reason:      "spent",
		Actor:       "staff",
	})
	if err != nil {
		t.Fatalf("spend: %v", err)
	}
}

// approvedClaim is a claim of d by who, approved by staff.
func (e *tbEnv) approvedClaim(t *testing.T, who string, start time.Time, d time.Duration) models.ServiceRecord {
	t.Helper()
	r := e.claim(t, who, start, d)
	r, err := e.Timebank.Approve(ctx, e.Staff, r.ID, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (e *tbEnv) correct(t *testing.T, who, recordID string, minutes models.Minutes) models.Correction {
	t.Helper()
	c, err := e.Timebank.RequestCorrection(ctx, res(who), recordID, minutes, "签到表有误")
	if err != nil {
		t.Fatalf("request correction: %v", err)
	}
	return c
}

// Issue 19.4: hours already spent do not block a correction up: only the
// difference is posted; a correction down may take the balance below zero
// only as far as the policy's debt floor.
func TestIssue19_4_SpentHoursDoNotBlockCorrection(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	r := e.approvedClaim(t, "r1", tbStart.Add(-3*time.Hour), time.Hour)
	e.spend(t, "r1", models.AssetHours, 60)
	c := e.correct(t, "r1", r.ID, 90)
	got, err := e.Timebank.DecideCorrection(ctx, e.Staff, r.ID, c.N, true, "签到表核实")
	if err != nil || !got.Decided || got.Before != 60 || got.After != 90 {
		t.Fatalf("accept: %+v %v", got, err)
	}
	if h, p := e.Balance(t, "r1", models.AssetHours), e.Balance(t, "r1", models.AssetPoints); h != 30 || p != 15 {
		t.Fatalf("hours %d points %d; want 30 (0 + the 30 added) and 15", h, p)
	}
	rec, _ := e.Store.Record(ctx, r.ID)
	if rec.Credited != 90 || rec.Points != 15 {
		t.Fatalf("record cache %+v", rec)
	}
	// Down to 10 minutes: 80 taken back leaves -50, within the default
	// debt floor of 600.
	c = e.correct(t, "r1", r.ID, 10)
	if _, err := e.Timebank.DecideCorrection(ctx, e.Staff, r.ID, c.N, true, "复核"); err != nil {
		t.Fatal(err)
	}
	if h := e.Balance(t, "r1", models.AssetHours); h != -50 {
		t.Fatalf("hours %d; want -50", h)
	}
	if rep := mustAudit(t, e); !rep.OK() {
		t.Fatalf("audit: %+v", rep.Problems)
	}
}

// Issue 19.5: a correction that would take back spent points is refused
// before anything is written, with the reason; it can still be refused.
func TestIssue19_5_SpentPointsRefusedBeforeMarking(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	r := e.approvedClaim(t, "r1", tbStart.Add(-3*time.Hour), time.Hour)
	e.spend(t, "r1", models.AssetPoints, 10)
	c := e.correct(t, "r1", r.ID, 30)
	_, err := e.Timebank.DecideCorrection(ctx, e.Staff, r.ID, c.N, true, "复核")
	communitytest.MustCode(t, err, models.ErrInsufficientPoints)
	if d := err.(*models.Error).DetailZh; !strings.Contains(d, "积分") || !strings.Contains(d, "5") {
		t.Fatalf("detail %q does not say why", d)
	}
	if d := err.(*models.Error).Detail; !strings.Contains(d, "points") || !strings.Contains(d, "5") {
		t.Fatalf("English detail %q does not say why", d)
	}
	if h, p := e.Balance(t, "r1", models.AssetHours), e.Balance(t, "r1", models.AssetPoints); h != 60 || p != 0 {
		t.Fatalf("hours %d points %d after a refusal; want 60 and 0", h, p)
	}
	if _, err := e.Store.Mark(ctx, "corr-decision:"+c.ID); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("the refused correction was marked: %v", err)
	}
	got, err := e.Timebank.DecideCorrection(ctx, e.Staff, r.ID, c.N, false, "积分已用完")
	if err != nil || !got.Decided || got.Accepted || got.After != 60 {
		t.Fatalf("refuse after a refused accept: %+v %v", got, err)
	}
}

// linkCrashStore fails every insert of a link of one chain kind while
// crash is set, as a process killed at that step would.
type linkCrashStore struct {
	*store.Store
	chain string
	crash atomic.Bool
}

func (c *linkCrashStore) InsertLink(ctx context.Context, l models.Link) error {
	if c.crash.Load() && strings.HasPrefix(l.Chain, c.chain) {
		return errors.New("killed")
	}
	return c.Store.InsertLink(ctx, l)
}

// Issue 19.5: the hours and points of one correction land together. The
// worst crash point, after the decision and the hours and before the
// points, is finished by the next job run (another process).
func TestIssue19_5_CorrectionCrashBetweenHoursAndPointsIsFinished(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	r := e.approvedClaim(t, "r1", tbStart.Add(-3*time.Hour), time.Hour)
	e.spend(t, "r1", models.AssetPoints, 10)
	c := e.correct(t, "r1", r.ID, 90)
	cs := &linkCrashStore{Store: e.Store, chain: "carry:"}
	crashing := timebank.New(timebank.Deps{
		Store:    cs,
		People:   e.Store,
		Ledger:   e.Ledger,
		Policies: e.Policies,
		Trail:    e.Store,
		QRSecret: []byte("test-secret-0123456789"),
		Now:      e.Clock.Now,
		NewID:    communitytest.NewID,
		Notify:   community.NoNotifier{},
	})
	cs.crash.Store(true)
	if _, err := crashing.DecideCorrection(ctx, e.Staff, r.ID, c.N, true, "签到表核实"); err == nil {
		t.Fatal("the crash did not happen")
	}
	if h, p := e.Balance(t, "r1", models.AssetHours), e.Balance(t, "r1", models.AssetPoints); h != 90 || p != 0 {
		t.Fatalf("half-done state: hours %d points %d; want 90 and 0", h, p)
	}
	if _, _, err := e.Timebank.AutoApprove(ctx); err != nil {
		t.Fatal(err)
	}
	if h, p := e.Balance(t, "r1", models.AssetHours), e.Balance(t, "r1", models.AssetPoints); h != 90 || p != 5 {
		t.Fatalf("after the job: hours %d points %d; want 90 and 5", h, p)
	}
	rec, _ := e.Store.Record(ctx, r.ID)
	got, _ := e.Store.Correction(ctx, c.ID)
	if rec.Credited != 90 || rec.Points != 15 || !got.Decided || !got.Accepted || got.After != 90 {
		t.Fatalf("record %+v, correction %+v", rec, got)
	}
	// The staff's retry answers the same and moves nothing.
	if _, err := e.Timebank.DecideCorrection(ctx, e.Staff, r.ID, c.N, true, "签到表核实"); err != nil {
		t.Fatal(err)
	}
	if h, p := e.Balance(t, "r1", models.AssetHours), e.Balance(t, "r1", models.AssetPoints); h != 90 || p != 5 {
		t.Fatalf("after a retry: hours %d points %d", h, p)
	}
	// The same crash again, finished this time by the resident reading the
	// record's corrections.
	c = e.correct(t, "r1", r.ID, 120)
	if _, err := crashing.DecideCorrection(ctx, e.Staff, r.ID, c.N, true, "再次核实"); err == nil {
		t.Fatal("the crash did not happen")
	}
	list, err := e.Timebank.Corrections(ctx, res("r1"), r.ID)
	if err != nil || len(list) != 2 || !list[1].Decided || list[1].After != 120 {
		t.Fatalf("corrections read after the crash: %+v %v", list, err)
	}
	if h, p := e.Balance(t, "r1", models.AssetHours), e.Balance(t, "r1", models.AssetPoints); h != 120 || p != 10 {
		t.Fatalf("after the read: hours %d points %d; want 120 and 10", h, p)
	}
	if rep := mustAudit(t, e); !rep.OK() {
		t.Fatalf("audit: %+v", rep.Problems)
	}
}

// Issue 19.6: a correction is capped by the day as an approval is, and a
// correction down gives its share of the day back.
func TestIssue19_6_CorrectionKeepsDailyCap(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	day := time.Date(2026, 11, 2, 0, 30, 0, 0, cst)
	r := e.approvedClaim(t, "r1", day, 600*time.Minute)
	if r.Credited != 480 {
		t.Fatalf("approved %d; want the daily cap 480", r.Credited)
	}
	c := e.correct(t, "r1", r.ID, 600)
	got, err := e.Timebank.DecideCorrection(ctx, e.Staff, r.ID, c.N, true, "全天服务")
	if err != nil || got.After != 480 {
		t.Fatalf("correction: %+v %v; want 480 after", got, err)
	}
	if h := e.Balance(t, "r1", models.AssetHours); h != 480 {
		t.Fatalf("hours %d; want 480", h)
	}
	c = e.correct(t, "r1", r.ID, 300)
	if _, err := e.Timebank.DecideCorrection(ctx, e.Staff, r.ID, c.N, true, "只有五小时"); err != nil {
		t.Fatal(err)
	}
	later := e.approvedClaim(t, "r1", day.Add(11*time.Hour), 200*time.Minute)
	if later.Credited != 180 || e.Balance(t, "r1", models.AssetHours) != 480 {
		t.Fatalf("a later record that day got %d, hours %d; want 180 and 480", later.Credited, e.Balance(t, "r1", models.AssetHours))
	}
}

// Issue 11.20: a correction carries its minutes on, so the points of all
// records, the corrected one and the later ones, add up to what all the
// credited minutes earn.
func TestIssue11_20_CorrectionRecomputesCarriedMinutes(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	base := tbStart.Add(-7 * time.Hour)
	var recs []models.ServiceRecord
	for i := 0; i < 3; i++ {
		recs = append(recs, e.approvedClaim(t, "r1", base.Add(time.Duration(i)*time.Hour), 40*time.Minute))
	}
	c := e.correct(t, "r1", recs[0].ID, 50)
	if _, err := e.Timebank.DecideCorrection(ctx, e.Staff, recs[0].ID, c.N, true, "多服务了十分钟"); err != nil {
		t.Fatal(err)
	}
	// 130 minutes at 10 points an hour: 21 points, 40 minute-points carried.
	if p := e.Balance(t, "r1", models.AssetPoints); p != 21 {
		t.Fatalf("points %d after the correction; want 21", p)
	}
	recs = append(recs, e.approvedClaim(t, "r1", base.Add(4*time.Hour), 20*time.Minute))
	if p := e.Balance(t, "r1", models.AssetPoints); p != 25 {
		t.Fatalf("points %d after a later 20-minute record; want 25 for 150 minutes", p)
	}
	var sum models.Points
	for _, r := range recs {
		got, _ := e.Store.Record(ctx, r.ID)
		sum += got.Points
	}
	if sum != 25 {
		t.Fatalf("records hold %d points; want 25", sum)
	}
}

func mustAudit(t *testing.T, e *tbEnv) ledger.AuditReport {
	t.Helper()
	rep, err := e.Ledger.Audit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// Issue 11.21: a resident's own claim is never approved by the job: it
// waits for an organiser (a team lead may confirm it), or expires when the
// policy says so; attendance recorded at an activity still auto-approves.
func TestIssue11_21_ClaimsWaitForAnOrganiser(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	claim := e.claim(t, "r1", tbStart.Add(-3*time.Hour), time.Hour)
	a := e.activity(t, tbStart.Add(time.Hour), 2*time.Hour, 10, 120)
	att, err := e.attend(t, a, "r2", a.Start, a.Start.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(30 * 24 * time.Hour)
	if n, x, err := e.Timebank.AutoApprove(ctx); err != nil || n != 1 || x != 0 {
		t.Fatalf("job: %d approved, %d expired, %v; want the attendance only", n, x, err)
	}
	if got, _ := e.Store.Record(ctx, att.ID); got.State != models.RecordApproved {
		t.Fatalf("attendance %+v", got)
	}
	if got, _ := e.Store.Record(ctx, claim.ID); got.State != models.RecordPending || e.Balance(t, "r1", models.AssetHours) != 0 {
		t.Fatalf("claim %+v was decided by the job", got)
	}
	lead := models.Principal{
		ResidentID:  "r3",
		CommunityID: "A",
		Roles:       []models.Role{models.RoleResident, models.RoleTeamLead},
	}
	if got, err := e.Timebank.Approve(ctx, lead, claim.ID, 0, ""); err != nil || got.State != models.RecordApproved {
		t.Fatalf("team lead confirms: %+v %v", got, err)
	}

	// A policy that lets unconfirmed claims expire after 3 days.
	v, _ := e.Policies.At(ctx, "A", e.Clock.Now())
	v.Effective, v.ClaimExpiryDays = e.Clock.Now(), 3
	if _, err := e.Policies.AddVersion(ctx, e.Staff, v, community.Idempotency{}); err != nil {
		t.Fatal(err)
	}
	late := e.claim(t, "r4", e.Clock.Now().Add(-2*time.Hour), time.Hour)
	e.Clock.Advance(2 * 24 * time.Hour)
	if n, x, err := e.Timebank.AutoApprove(ctx); err != nil || n != 0 || x != 0 {
		t.Fatalf("too early: %d %d %v", n, x, err)
	}
	e.Clock.Advance(2 * 24 * time.Hour)
	if n, x, err := e.Timebank.AutoApprove(ctx); err != nil || n != 0 || x != 1 {
		t.Fatalf("expiry: %d approved, %d expired, %v; want 0 and 1", n, x, err)
	}
	got, _ := e.Store.Record(ctx, late.ID)
	if got.State != models.RecordRejected || !strings.Contains(got.Reason, "3 天") || e.Balance(t, "r4", models.AssetHours) != 0 {
		t.Fatalf("expired claim %+v", got)
	}
}

// Issue 19.8 (certificate part): the certificate counts what the HOURS
// ledger holds for each record, corrections and reversals included, and
// without a period covers all time.
func TestIssue19_8_CertificateEqualsHoursLedger(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	r := e.approvedClaim(t, "r1", tbStart.Add(-3*time.Hour), time.Hour)
	old := e.approvedClaim(t, "r1", tbStart.AddDate(0, 0, -60), 30*time.Minute)
	c := e.correct(t, "r1", r.ID, 90)
	if _, err := e.Timebank.DecideCorrection(ctx, e.Staff, r.ID, c.N, true, "签到表核实"); err != nil {
		t.Fatal(err)
	}
	cert, err := e.Timebank.Certificate(ctx, res("r1"), "r1", time.Time{}, time.Time{})
	if err != nil || cert.Total != 120 || len(cert.RecordsIDs) != 2 {
		t.Fatalf("all-time certificate: %+v %v; want 120 minutes of 2 records", cert, err)
	}
	if !cert.From.Equal(time.Date(2026, 9, 3, 0, 0, 0, 0, cst)) {
		t.Fatalf("from %v; want the day of the first record", cert.From)
	}
	// Staff reverse the old record's credit: it no longer counts.
	acct := models.AccountOf("r1", models.AssetHours)
	hist, _, _ := e.Ledger.History(ctx, acct, 0, 10)
	for _, en := range hist {
		if en.Ref == old.ID {
			if _, err := e.Ledger.Reverse(ctx, acct, en.Seq, "记录有误", "staff-A"); err != nil {
				t.Fatal(err)
			}
		}
	}
	cert, err = e.Timebank.Certificate(ctx, res("r1"), "r1", time.Time{}, time.Time{})
	if err != nil || cert.Total != 90 || e.Balance(t, "r1", models.AssetHours) != 90 {
		t.Fatalf("after a reversal: total %d (%v), ledger %d; want 90 both", cert.Total, err, e.Balance(t, "r1", models.AssetHours))
	}
}

// Issue 19.5 under concurrency: two staff decide one correction at once,
// one accepting and one refusing, while the job runs: exactly one decision
// wins, everyone is told the same, and the ledger and the record show the
// winner's outcome, once.
func TestIssue19_5_RacingCorrectionDecisions(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	other := models.Principal{
		ResidentID:  "staff-A2",
		CommunityID: "A",
		Roles:       []models.Role{models.RoleStaff},
	}
	for round := 0; round < 40; round++ {
		who := fmt.Sprintf("r%d", 1+round%20)
		r := e.approvedClaim(t, who, tbStart.Add(-time.Duration(10+round/20*2)*time.Hour), time.Hour)
		c := e.correct(t, who, r.ID, 90)
		h0, p0 := e.Balance(t, who, models.AssetHours), e.Balance(t, who, models.AssetPoints)
		start := make(chan struct{})
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, p := range []models.Principal{e.Staff, other} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = e.Timebank.DecideCorrection(ctx, p, r.ID, c.N, i == 0, "核实")
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if _, _, err := e.Timebank.AutoApprove(ctx); err != nil {
				t.Error(err)
			}
		}()
		close(start)
		wg.Wait()
		accepted := errs[0] == nil
		if accepted == (errs[1] == nil) {
			t.Fatalf("round %d: accept %v, refuse %v; want exactly one to win", round, errs[0], errs[1])
		}
		loser := errs[1]
		if !accepted {
			loser = errs[0]
		}
		communitytest.MustCode(t, loser, models.ErrRecordDecided)
		got, _ := e.Store.Correction(ctx, c.ID)
		rec, _ := e.Store.Record(ctx, r.ID)
		dh, dp, want := int64(0), int64(0), models.Minutes(60)
		if accepted {
			dh, dp, want = 30, 5, 90 // 30 more minutes at 10 points an hour
		}
		if got.Accepted != accepted || got.After != want || rec.Credited != want ||
			e.Balance(t, who, models.AssetHours)-h0 != dh || e.Balance(t, who, models.AssetPoints)-p0 != dp {
			t.Fatalf("round %d (accepted %v): correction %+v, record %+v, hours +%d, points +%d", round, accepted, got, rec,
				e.Balance(t, who, models.AssetHours)-h0, e.Balance(t, who, models.AssetPoints)-p0)
		}
	}
	if rep := mustAudit(t, e); !rep.OK() {
		t.Fatalf("audit: %+v", rep.Problems)
	}
}

// Issue 11.23: every RECORD_OVERLAP refusal names the record it overlaps
// and its time, in Chinese first: at check-in, at check-out and for a claim.
func TestIssue11_23_OverlapNamesTheRecord(t *testing.T) {
	t.Parallel()
	e := newTB(t)
	start := tbStart.Add(24 * time.Hour) // 2026-11-03 16:00 in Shanghai
	a := e.activity(t, start, 2*time.Hour, 10, 120)
	b := e.activity(t, start.Add(time.Hour), 2*time.Hour, 10, 120)
	first, err := e.attend(t, a, "r1", start, start.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	named := func(step string, err error) {
		t.Helper()
		communitytest.MustCode(t, err, models.ErrRecordOverlap)
		zh, en := err.(*models.Error).DetailZh, err.(*models.Error).Detail
		if !strings.HasPrefix(zh, "与服务记录 "+first.ID) || !strings.Contains(zh, "2026-11-03 16:00 至 2026-11-03 18:00") || !strings.HasPrefix(en, "Overlaps service record "+first.ID) {
			t.Fatalf("%s: detail %q / %q does not name %s and its time", step, zh, en, first.ID)
		}
	}
	e.Clock.Set(start.Add(90 * time.Minute))
	_, err = e.Timebank.RecordAttendance(ctx, e.Staff, b.ID, "r1", false, start.Add(80*time.Minute))
	named("check-in", err)
	_, err = e.tryClaim("r1", start.Add(30*time.Minute), start.Add(50*time.Minute))
	named("claim", err)
	// Checked in at b before the attendance at a was recorded: refused at check-out.
	if _, err := e.Timebank.RecordAttendance(ctx, e.Staff, b.ID, "r2", false, start.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	first, err = e.attend(t, a, "r2", start, start.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	e.Clock.Set(start.Add(3 * time.Hour))
	_, err = e.Timebank.RecordAttendance(ctx, e.Staff, b.ID, "r2", true, start.Add(3*time.Hour))
	named("check-out", err)
	// Once the other record is rejected, the check-out goes through.
	if _, err := e.Timebank.Reject(ctx, e.Staff, first.ID, "不在场"); err != nil {
		t.Fatal(err)
	}
	att, err := e.Timebank.RecordAttendance(ctx, e.Staff, b.ID, "r2", true, start.Add(3*time.Hour))
	if err != nil || att.Record == nil || att.Record.Minutes != 120 {
		t.Fatalf("check-out after the rejection: %+v %v", att, err)
	}
}
