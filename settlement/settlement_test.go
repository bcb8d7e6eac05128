package settlement_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/community"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/policy"
	"github.com/linli-community/linli/settlement"
	"github.com/linli-community/linli/store"
	"github.com/linli-community/linli/store/storetest"
	"github.com/xuri/excelize/v2"
)

var shanghai, _ = time.LoadLocation("Asia/Shanghai")

// settlementWorld is the settlement service over a fresh store with
// communities A and B, partners P1 and P2 in A and Q1 in B, and a clock.
type settlementWorld struct {
	t     *testing.T
	st    *store.Store
	clock *clock
	l     *ledger.Ledger
	svc   *settlement.Service
	comm  map[string]models.Community
	part  map[string]models.Partner
}

func newSettlementWorld(t *testing.T, at time.Time) *settlementWorld {
	t.Helper()
	st := storetest.New(t)
	w := &settlementWorld{
		t:     t,
		st:    st,
		clock: &clock{t: at},
		comm:  map[string]models.Community{},
		part:  map[string]models.Partner{},
	}
	for _, id := range []string{"A", "B"} {
		c := models.Community{
			ID:       id,
			Name:     "社区" + id,
			TimeZone: "Asia/Shanghai",
			Created:  at,
		}
		if err := st.InsertCommunity(ctx, c); err != nil {
			t.Fatal(err)
		}
		w.comm[id] = c
	}
	for _, p := range []models.Partner{
		{
			ID:          "P1",
			CommunityID: "A",
			Kind:        models.PartnerMerchant,
			Name:        "老王早餐店",
		},
		{
			ID:          "P2",
			CommunityID: "A",
			Kind:        models.PartnerProperty,
			Name:        "春申物业",
		},
		{
			ID:          "Q1",
			CommunityID: "B",
			Kind:        models.PartnerParking,
			Name:        "古美停车",
		},
	} {
		p.Created = at
		if err := st.InsertPartner(ctx, p); err != nil {
			t.Fatal(err)
		}
		w.part[p.ID] = p
	}
	w.l = ledger.New(st, w.clock.now)
	w.svc = settlement.New(settlement.Deps{
		Store:    st,
		Ledger:   w.l,
		People:   st,
		Policies: policy.New(st, w.clock.now),
		Trail:    st,
		Held:     heldStub{7},
		Now:      w.clock.now,
		Notify:   community.NoNotifier{},
	})
	return w
}

type heldStub struct{ n int64 }

func (h heldStub) HeldPoints(context.Context, string, time.Time) (int64, error) { return h.n, nil }

// event records a settlement event as the redemption half would.
func (w *settlementWorld) event(id, partner string, kind models.SettlementEventKind, redemption string, fen int64, bearer models.Bearer, at time.Time) models.SettlementEvent {
	w.t.Helper()
	return w.record(id, partner, kind, redemption, fen, bearer, at, "")
}

func (w *settlementWorld) record(id, partner string, kind models.SettlementEventKind, redemption string, fen int64, bearer models.Bearer, at time.Time, undoes string) models.SettlementEvent {
	w.t.Helper()
	e := models.SettlementEvent{
		ID:           id,
		CommunityID:  w.part[partner].CommunityID,
		PartnerID:    partner,
		Kind:         kind,
		RedemptionID: redemption,
		RewardID:     "rw-1",
		ResidentID:   "r-1",
		Description:  "早餐套餐",
		ValueFen:     models.Fen(fen),
		Bearer:       bearer,
		At:           at.UTC().Truncate(time.Millisecond),
		Undoes:       undoes,
	}
	if err := w.st.RecordSettlementEvent(ctx, e); err != nil {
		w.t.Fatal(err)
	}
	return e
}

// reversal records a reversal of fulfilment event undoes.
func (w *settlementWorld) reversal(id, partner, undoes, redemption string, fen int64, at time.Time) {
	w.t.Helper()
	w.record(id, partner, models.EventReversed, redemption, fen, models.BearerCommunity, at, undoes)
}

// october fills P1's October 2026 with n fulfilments, alternating
// bearers, and returns the expected totals.
func (w *settlementWorld) october(n int) models.StatementTotals {
	var t models.StatementTotals
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, shanghai)
	for i := 0; i < n; i++ {
		bearer := models.BearerCommunity
		if i%3 == 0 {
			bearer = models.BearerPartner
		}
		e := w.event(fmt.Sprintf("fulfil:oct-%04d", i), "P1", models.EventFulfilled, fmt.Sprintf("oct-%04d", i),
			int64(100+i), bearer, start.Add(time.Duration(i)*time.Minute))
		t.Add(models.StatementLine{Event: e})
	}
	return t
}

var oct2026 = models.Month{Year: 2026, Month: time.October}

func staffA() models.Principal { return staffOf("A") }

func partnerLogin(community, partner string) models.Principal {
	return models.Principal{
		ResidentID:  "login-" + partner,
		CommunityID: community,
		Roles:       []models.Role{models.RolePartner},
		PartnerID:   partner,
	}
}

func clerkOf(community, merchant string) models.Principal {
	return models.Principal{
		ResidentID:  "clerk-" + merchant,
		CommunityID: community,
		Roles:       []models.Role{models.RoleMerchantClerk},
		MerchantID:  merchant,
	}
}

func (w *settlementWorld) allLines(id string) []models.StatementLine {
	w.t.Helper()
	var out []models.StatementLine
	if err := w.st.EachStatementLine(ctx, id, func(l models.StatementLine) error { out = append(out, l); return nil }); err != nil {
		w.t.Fatal(err)
	}
	return out
}

func checkTotals(t *testing.T, st models.Statement, want models.StatementTotals) {
	t.Helper()
	if st.Lines != want.Lines || st.Adjustments != want.Adjustments || st.TotalFen != want.Total ||
		st.CommunityFen != want.Community || st.PartnerFen != want.Partner {
		t.Fatalf("statement %+v, want totals %+v", st, want)
	}
	if st.CommunityFen+st.PartnerFen != st.TotalFen {
		t.Fatalf("bearer totals %d + %d != %d", st.CommunityFen, st.PartnerFen, st.TotalFen)
	}
}

// Invariant 6 (docs/ARCHITECTURE.md §8): two settlement runs at once yield one statement per partner
// and month, with every line once.
func TestSettlementTwoRunsAtOnceMakeOneStatement(t *testing.T) {
	t.Parallel()
	w := newSettlementWorld(t, time.Date(2026, 11, 1, 2, 0, 0, 0, shanghai))
	want := w.october(150)
	w.event("fulfil:q", "Q1", models.EventFulfilled, "q", 500, models.BearerCommunity, time.Date(2026, 10, 9, 8, 0, 0, 0, shanghai))

	const runs = 2
	counts := make([]settlement.SettleCounts, runs)
	errs := make([]error, runs)
	atonce.Run(runs, func(i int) {
		counts[i], errs[i] = w.svc.SettleMonth(ctx, oct2026)
	})
	made := 0
	for i := range counts {
		if errs[i] != nil {
			t.Fatalf("run %d: %v", i, errs[i])
		}
		made += counts[i].Statements
	}
	// P1 and Q1 have events; P2 has none and gets no statement.
	if made != 2 {
		t.Fatalf("statements written by the two runs = %d, want 2 (one per partner): %+v", made, counts)
	}
	sts, _, err := w.st.Statements(ctx, "A", "", "2026-10", "", 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(sts) != 1 || sts[0].ID != models.StatementID("P1", oct2026) {
		t.Fatalf("community A statements = %+v, want P1's only", sts)
	}
	checkTotals(t, sts[0], want)
	if got := len(w.allLines(sts[0].ID)); got != want.Lines {
		t.Fatalf("lines stored = %d, want %d", got, want.Lines)
	}
	// A third run finds it settled and changes nothing.
	n, err := w.svc.SettleMonth(ctx, oct2026)
	if err != nil || n.Statements != 0 || n.Existing != 2 {
		t.Fatalf("re-run = %+v, %v; want nothing new, two existing", n, err)
	}
}

// A settlement killed after writing part of its lines and before the
// header is finished by the next run, with the totals of a clean run.
func TestSettlementResumesAfterCrashWithoutDoubling(t *testing.T) {
	t.Parallel()
	w := newSettlementWorld(t, time.Date(2026, 11, 1, 2, 0, 0, 0, shanghai))
	want := w.october(60)
	id := models.StatementID("P1", oct2026)
	// The dead run: 25 of the lines (every other one of the first 50), no
	// header.
	var partial []models.StatementLine
	i := 0
	err := w.st.EachSettlementEvent(ctx, "P1", oct2026.Start(shanghai), oct2026.End(shanghai), func(e models.SettlementEvent) error {
		if i++; i%2 == 0 && i <= 50 {
			partial = append(partial, models.StatementLine{
				ID:          models.StatementLineID(e.ID),
				StatementID: id,
				Event:       e,
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.st.BeginSettlement(ctx, id, w.clock.now()); err != nil {
		t.Fatal(err)
	}
	if _, err := w.st.ClaimStatementLines(ctx, partial, false); err != nil {
		t.Fatalf("simulated crash: %v", err)
	}
	if got := len(w.allLines(id)); got != 25 {
		t.Fatalf("lines before the resume = %d, want 25", got)
	}
	if _, err := w.st.Statement(ctx, id); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("header before the resume: %v, want not found", err)
	}
	st, created, err := w.svc.SettlePartner(ctx, w.comm["A"], w.part["P1"], oct2026)
	if err != nil || !created {
		t.Fatalf("resume: created %v, %v", created, err)
	}
	checkTotals(t, st, want)
	lines := w.allLines(id)
	if len(lines) != want.Lines {
		t.Fatalf("lines = %d, want %d", len(lines), want.Lines)
	}
	var sum models.Fen
	for _, l := range lines {
		sum += l.Event.ValueFen
	}
	if sum != want.Total {
		t.Fatalf("sum of lines = %d, want %d", sum, want.Total)
	}
}

// A refund after October was settled lands in November's statement as an
// adjustment line; October's statement stays as it was.
func TestSettlementRefundAfterCloseIsNextMonthAdjustment(t *testing.T) {
	t.Parallel()
	w := newSettlementWorld(t, time.Date(2026, 11, 1, 2, 0, 0, 0, shanghai))
	w.event("fulfil:r1", "P1", models.EventFulfilled, "r1", 1500, models.BearerCommunity, time.Date(2026, 10, 20, 9, 0, 0, 0, shanghai))
	w.event("fulfil:r0", "P1", models.EventFulfilled, "r0", 800, models.BearerPartner, time.Date(2026, 10, 31, 23, 59, 0, 0, shanghai))
	oct, _, err := w.svc.SettlePartner(ctx, w.comm["A"], w.part["P1"], oct2026)
	if err != nil {
		t.Fatal(err)
	}
	checkTotals(t, oct, models.StatementTotals{
		Lines:     2,
		Total:     2300,
		Community: 1500,
		Partner:   800,
	})

	// November: r1 refunded (an October redemption), r2 fulfilled and
	// refunded within November (not an adjustment).
	w.reversal("reverse:r1", "P1", "fulfil:r1", "r1", -1500, time.Date(2026, 11, 3, 10, 0, 0, 0, shanghai))
	w.event("fulfil:r2", "P1", models.EventFulfilled, "r2", 2000, models.BearerCommunity, time.Date(2026, 11, 5, 10, 0, 0, 0, shanghai))
	w.reversal("reverse:r2", "P1", "fulfil:r2", "r2", -2000, time.Date(2026, 11, 5, 11, 0, 0, 0, shanghai))
	w.event("fulfil:r3", "P1", models.EventFulfilled, "r3", 600, models.BearerPartner, time.Date(2026, 11, 30, 12, 0, 0, 0, shanghai))
	w.clock.advance(31 * 24 * time.Hour)
	nov := models.Month{Year: 2026, Month: time.November}
	st, created, err := w.svc.SettlePartner(ctx, w.comm["A"], w.part["P1"], nov)
	if err != nil || !created {
		t.Fatalf("settle November: %v %v", created, err)
	}
	checkTotals(t, st, models.StatementTotals{
		Lines:       4,
		Adjustments: 1,
		Total:       -900,
		Community:   -1500,
		Partner:     600,
	})
	adjusted := map[string]bool{}
	for _, l := range w.allLines(st.ID) {
		adjusted[l.Event.ID] = l.Adjustment
	}
	if !adjusted["reverse:r1"] || adjusted["reverse:r2"] || adjusted["fulfil:r2"] || adjusted["fulfil:r3"] {
		t.Fatalf("adjustment marks = %v, want only reverse:r1", adjusted)
	}
	again, err := w.st.Statement(ctx, oct.ID)
	if err != nil || again.TotalFen != 2300 || again.Lines != 2 {
		t.Fatalf("October after the refund = %+v, %v; want unchanged", again, err)
	}
}

// A fee credit applied in October, its bill voided in November, applied to
// another bill and that voided too, both in November: the first void
// corrects October, an adjustment; the second undoes a November fulfilment
// on the same statement, not one. (Found by the crash harness: judged by
// the credit's first fulfilment, the second void was an adjustment too.)
func TestSettlementVoidOfCreditAppliedAgainIsJudgedByItsOwnBill(t *testing.T) {
	t.Parallel()
	w := newSettlementWorld(t, time.Date(2026, 12, 1, 2, 0, 0, 0, shanghai))
	w.event("fulfil:c1", "P2", models.EventFulfilled, "c1", 1500, models.BearerCommunity, time.Date(2026, 10, 20, 9, 0, 0, 0, shanghai))
	w.reversal("reverse:c1:1", "P2", "fulfil:c1", "c1", -1500, time.Date(2026, 11, 3, 10, 0, 0, 0, shanghai))
	w.event("fulfil:c1:2", "P2", models.EventFulfilled, "c1", 1500, models.BearerCommunity, time.Date(2026, 11, 5, 10, 0, 0, 0, shanghai))
	w.reversal("reverse:c1:2", "P2", "fulfil:c1:2", "c1", -1500, time.Date(2026, 11, 6, 10, 0, 0, 0, shanghai))
	w.event("fulfil:c1:3", "P2", models.EventFulfilled, "c1", 1500, models.BearerCommunity, time.Date(2026, 11, 7, 10, 0, 0, 0, shanghai))
	nov := models.Month{Year: 2026, Month: time.November}
	st, created, err := w.svc.SettlePartner(ctx, w.comm["A"], w.part["P2"], nov)
	if err != nil || !created {
		t.Fatalf("settle November: %v %v", created, err)
	}
	checkTotals(t, st, models.StatementTotals{
		Lines:       4,
		Adjustments: 1,
		Total:       0,
		Community:   0,
	})
	adjusted := map[string]bool{}
	for _, l := range w.allLines(st.ID) {
		adjusted[l.Event.ID] = l.Adjustment
	}
	if !adjusted["reverse:c1:1"] || adjusted["reverse:c1:2"] || adjusted["fulfil:c1:2"] || adjusted["fulfil:c1:3"] {
		t.Fatalf("adjustment marks = %v, want only reverse:c1:1", adjusted)
	}
}

// recordedLate records a fulfilment of P1 at business time at, written at
// recorded, as a catch-up after a crash would.
func (w *settlementWorld) recordedLate(id string, fen int64, at, recorded time.Time) models.SettlementEvent {
	w.t.Helper()
	e := models.SettlementEvent{
		ID:           id,
		CommunityID:  "A",
		PartnerID:    "P1",
		Kind:         models.EventFulfilled,
		RedemptionID: id,
		RewardID:     "rw-1",
		ResidentID:   "r-1",
		Description:  "早餐套餐",
		ValueFen:     models.Fen(fen),
		Bearer:       models.BearerCommunity,
		At:           at.UTC().Truncate(time.Millisecond),
		Recorded:     recorded.UTC().Truncate(time.Millisecond),
	}
	if err := w.st.RecordSettlementEvent(ctx, e); err != nil {
		w.t.Fatal(err)
	}
	return e
}

// statementsOf returns, by event id, the statements whose lines carry it.
func (w *settlementWorld) statementsOf(ids ...string) map[string][]string {
	w.t.Helper()
	on := map[string][]string{}
	for _, id := range ids {
		for _, l := range w.allLines(id) {
			on[l.Event.ID] = append(on[l.Event.ID], id)
		}
	}
	return on
}

// Issue 11.12: a scan at 23:59 on the month's last evening whose event a
// kill -9 left unwritten; October is settled at 02:00, then the catch-up
// records the event at 02:15 with the scan's time. It goes on November's
// statement as an adjustment line naming its October date, on no other
// statement, and settling both months again changes nothing.
func TestIssue11_12_EventRecordedAfterItsMonthWasSettledIsOnNextStatement(t *testing.T) {
	t.Parallel()
	w := newSettlementWorld(t, time.Date(2026, 11, 1, 2, 0, 0, 0, shanghai))
	scanned := time.Date(2026, 10, 31, 23, 59, 30, 0, shanghai)
	w.recordedLate("fulfil:in-time", 700, time.Date(2026, 10, 31, 23, 50, 0, 0, shanghai), time.Date(2026, 10, 31, 23, 50, 0, 0, shanghai))
	oct, created, err := w.svc.SettlePartner(ctx, w.comm["A"], w.part["P1"], oct2026)
	if err != nil || !created {
		t.Fatalf("settle October: %v %v", created, err)
	}
	checkTotals(t, oct, models.StatementTotals{
		Lines:     1,
		Total:     700,
		Community: 700,
	})

	w.clock.advance(15 * time.Minute) // the 02:15 catch-up
	w.recordedLate("fulfil:late", 1200, scanned, w.clock.now())
	w.recordedLate("fulfil:nov", 300, time.Date(2026, 11, 20, 8, 0, 0, 0, shanghai), time.Date(2026, 11, 20, 8, 0, 0, 0, shanghai))
	// October again, before November's turn: it is settled and stays so.
	if again, created, err := w.svc.SettlePartner(ctx, w.comm["A"], w.part["P1"], oct2026); err != nil || created || again != oct {
		t.Fatalf("October again = %+v, %v, %v; want %+v unchanged", again, created, err, oct)
	}

	// November, settled by two replicas at once.
	w.setClock(time.Date(2026, 12, 1, 2, 0, 0, 0, shanghai))
	nov := models.Month{Year: 2026, Month: time.November}
	made := make([]bool, 2)
	errs := make([]error, 2)
	atonce.Run(len(made), func(i int) {
		_, made[i], errs[i] = w.svc.SettlePartner(ctx, w.comm["A"], w.part["P1"], nov)
	})
	if errs[0] != nil || errs[1] != nil || made[0] == made[1] {
		t.Fatalf("two November runs: created %v, errors %v; want one statement written", made, errs)
	}
	st, err := w.st.Statement(ctx, models.StatementID("P1", nov))
	if err != nil {
		t.Fatal(err)
	}
	checkTotals(t, st, models.StatementTotals{
		Lines:       2,
		Adjustments: 1,
		Total:       1500,
		Community:   1500,
	})
	for _, l := range w.allLines(st.ID) {
		if l.Event.ID == "fulfil:late" && (!l.Adjustment || !l.Event.At.Equal(scanned) || l.ID != models.StatementLineID("fulfil:late")) {
			t.Fatalf("late line = %+v; want an adjustment dated %v", l, scanned)
		}
		if l.Event.ID == "fulfil:nov" && l.Adjustment {
			t.Fatalf("November's own line is an adjustment: %+v", l)
		}
	}
	on := w.statementsOf(oct.ID, st.ID)
	for id, want := range map[string]string{
		"fulfil:in-time": oct.ID,
		"fulfil:late":    st.ID,
		"fulfil:nov":     st.ID,
	} {
		if len(on[id]) != 1 || on[id][0] != want {
			t.Fatalf("event %s on statements %v; want exactly %s", id, on[id], want)
		}
	}
	// Both settled again: the same two statements, line for line.
	for _, m := range []models.Month{oct2026, nov} {
		before, err := w.st.Statement(ctx, models.StatementID("P1", m))
		if err != nil {
			t.Fatal(err)
		}
		again, created, err := w.svc.SettlePartner(ctx, w.comm["A"], w.part["P1"], m)
		if err != nil || created || again != before {
			t.Fatalf("%s again = %+v, %v, %v; want %+v", m, again, created, err, before)
		}
	}
	if again := w.statementsOf(oct.ID, st.ID); fmt.Sprint(again) != fmt.Sprint(on) {
		t.Fatalf("lines after re-runs %v; want %v", again, on)
	}
}

// Issue 11.12: a settlement killed before its header keeps the cut-off it
// began with. An event recorded after that moment, even one of the month
// itself, is left to the next statement when the run is resumed, and an
// event already on another statement is never claimed again.
func TestIssue11_12_ResumedSettlementKeepsItsCutOff(t *testing.T) {
	t.Parallel()
	w := newSettlementWorld(t, time.Date(2026, 11, 1, 2, 0, 0, 0, shanghai))
	id := models.StatementID("P1", oct2026)
	w.recordedLate("fulfil:a", 100, time.Date(2026, 10, 10, 9, 0, 0, 0, shanghai), time.Date(2026, 10, 10, 9, 0, 0, 0, shanghai))
	// The run that died: it began at 02:00 and wrote nothing else.
	if _, err := w.st.BeginSettlement(ctx, id, w.clock.now()); err != nil {
		t.Fatal(err)
	}
	w.clock.advance(15 * time.Minute)
	w.recordedLate("fulfil:b", 200, time.Date(2026, 10, 31, 23, 59, 0, 0, shanghai), w.clock.now())
	// A line claimed for another statement is that statement's.
	other := w.recordedLate("fulfil:c", 400, time.Date(2026, 10, 12, 9, 0, 0, 0, shanghai), time.Date(2026, 10, 12, 9, 0, 0, 0, shanghai))
	if _, err := w.st.ClaimStatementLines(ctx, []models.StatementLine{{
		ID:          models.StatementLineID(other.ID),
		StatementID: "settle:P1:elsewhere",
		Event:       other,
	}}, false); err != nil {
		t.Fatal(err)
	}
	w.clock.advance(time.Hour)
	oct, created, err := w.svc.SettlePartner(ctx, w.comm["A"], w.part["P1"], oct2026)
	if err != nil || !created {
		t.Fatalf("resume October: %v %v", created, err)
	}
	checkTotals(t, oct, models.StatementTotals{
		Lines:     1,
		Total:     100,
		Community: 100,
	})

	w.setClock(time.Date(2026, 12, 1, 2, 0, 0, 0, shanghai))
	nov, created, err := w.svc.SettlePartner(ctx, w.comm["A"], w.part["P1"], models.Month{Year: 2026, Month: time.November})
	if err != nil || !created {
		t.Fatalf("settle November: %v %v", created, err)
	}
	checkTotals(t, nov, models.StatementTotals{
		Lines:       1,
		Adjustments: 1,
		Total:       200,
		Community:   200,
	})
	on := w.statementsOf(oct.ID, nov.ID)
	if len(on["fulfil:b"]) != 1 || on["fulfil:b"][0] != nov.ID || len(on["fulfil:c"]) != 0 {
		t.Fatalf("lines by event %v; want fulfil:b on November only and fulfil:c on neither", on)
	}
}

// A month that has not ended is not settled: events may still come.
func TestSettlementRefusesAnOpenMonth(t *testing.T) {
	t.Parallel()
	w := newSettlementWorld(t, time.Date(2026, 10, 31, 23, 0, 0, 0, shanghai))
	w.october(3)
	if _, err := w.svc.SettleMonth(ctx, oct2026); !errors.Is(err, models.ErrValidation) {
		t.Fatalf("settle open month: %v, want validation error", err)
	}
}

func (w *settlementWorld) settledOctober() models.Statement {
	w.t.Helper()
	w.october(5)
	w.event("fulfil:p2", "P2", models.EventFulfilled, "p2", 3000, models.BearerCommunity, time.Date(2026, 10, 2, 9, 0, 0, 0, shanghai))
	if _, err := w.svc.SettleMonth(ctx, oct2026); err != nil {
		w.t.Fatal(err)
	}
	st, err := w.st.Statement(ctx, models.StatementID("P1", oct2026))
	if err != nil {
		w.t.Fatal(err)
	}
	return st
}

// Partners see only their own statements; staff see the community's; only
// the partner confirms, only staff mark paid, and only once confirmed.
func TestStatementAccessAndStatus(t *testing.T) {
	t.Parallel()
	w := newSettlementWorld(t, time.Date(2026, 11, 1, 2, 0, 0, 0, shanghai))
	p1 := w.settledOctober()
	cases := []struct {
		name string
		p    models.Principal
		want error
	}{
		{"own partner login", partnerLogin("A", "P1"), nil},
		{"own merchant clerk", clerkOf("A", "P1"), nil},
		{"staff of the community", staffA(), nil},
		{"another partner", partnerLogin("A", "P2"), models.ErrForbidden},
		{"another merchant's clerk", clerkOf("A", "P2"), models.ErrForbidden},
		{"a resident", residentOf("A", "r-1"), models.ErrForbidden},
		{"staff of another community", staffOf("B"), models.ErrNotFound},
		{"a partner of another community", partnerLogin("B", "P1"), models.ErrNotFound},
	}
	for _, tc := range cases {
		_, _, _, err := w.svc.Statement(ctx, tc.p, p1.ID, "", 10)
		if (tc.want == nil && err != nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s reads P1's statement: %v, want %v", tc.name, err, tc.want)
		}
		var buf bytes.Buffer
		err = w.svc.Export(ctx, tc.p, p1.ID, settlement.ExportCSV, &buf)
		if (tc.want == nil && err != nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s exports P1's statement: %v, want %v", tc.name, err, tc.want)
		}
		if tc.want != nil && buf.Len() > 0 {
			t.Errorf("%s got %d bytes of export", tc.name, buf.Len())
		}
	}
	// Listings: a partner gets only its own, even when asking for another.
	own, _, err := w.svc.Statements(ctx, partnerLogin("A", "P2"), "", "2026-10", "", 50)
	if err != nil || len(own) != 1 || own[0].PartnerID != "P2" {
		t.Fatalf("P2's listing = %+v, %v", own, err)
	}
	if _, _, err := w.svc.Statements(ctx, partnerLogin("A", "P2"), "P1", "", "", 50); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("P2 lists P1's: %v, want forbidden", err)
	}
	all, _, err := w.svc.Statements(ctx, staffA(), "", "2026-10", "", 50)
	if err != nil || len(all) != 2 {
		t.Fatalf("staff listing = %+v, %v", all, err)
	}

	if _, err := w.svc.MarkPaid(ctx, staffA(), p1.ID); !errors.Is(err, models.ErrConflict) {
		t.Fatalf("paid before confirmed: %v, want conflict", err)
	}
	if _, err := w.svc.Confirm(ctx, staffA(), p1.ID); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("staff confirms: %v, want forbidden", err)
	}
	if _, err := w.svc.Confirm(ctx, partnerLogin("A", "P2"), p1.ID); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("another partner confirms: %v, want forbidden", err)
	}
	if _, err := w.svc.MarkPaid(ctx, partnerLogin("A", "P1"), p1.ID); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("partner marks paid: %v, want forbidden", err)
	}
	// Confirmations at once: one record, the same answer.
	got := make([]models.Statement, 4)
	atonce.Run(len(got), func(i int) {
		var err error
		if got[i], err = w.svc.Confirm(ctx, clerkOf("A", "P1"), p1.ID); err != nil {
			t.Error(err)
		}
	})
	for _, g := range got {
		if g.Status != models.StatementConfirmed || g.ConfirmedBy != got[0].ConfirmedBy || !g.ConfirmedAt.Equal(got[0].ConfirmedAt) {
			t.Fatalf("confirmations disagree: %+v vs %+v", g, got[0])
		}
	}
	paid, err := w.svc.MarkPaid(ctx, staffA(), p1.ID)
	if err != nil || paid.Status != models.StatementPaid || paid.PaidBy != staffA().ResidentID {
		t.Fatalf("mark paid: %+v, %v", paid, err)
	}
	if again, err := w.svc.Confirm(ctx, partnerLogin("A", "P1"), p1.ID); err != nil || again.Status != models.StatementPaid {
		t.Fatalf("confirm after paid: %+v, %v; want the paid statement back", again, err)
	}
	trail, err := w.st.AuditTrail(ctx, "A", 0, time.Time{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]string{}
	for _, r := range trail.Items {
		actions[r.Action] = r.Actor
	}
	if len(trail.Items) != 2 || actions["statement.confirmed"] != "clerk-P1" || actions["statement.paid"] != staffA().ResidentID {
		t.Fatalf("audit trail = %+v", trail.Items)
	}
}

// The CSV and XLSX exports hold every line and the totals.
func TestStatementExports(t *testing.T) {
	t.Parallel()
	w := newSettlementWorld(t, time.Date(2026, 11, 1, 2, 0, 0, 0, shanghai))
	w.event("fulfil:x", "P1", models.EventFulfilled, "x", 1234, models.BearerPartner, time.Date(2026, 10, 3, 9, 0, 0, 0, shanghai))
	w.event("fulfil:y", "P1", models.EventFulfilled, "y", 500, models.BearerCommunity, time.Date(2026, 10, 4, 9, 0, 0, 0, shanghai))
	w.reversal("reverse:z", "P1", "", "z", -300, time.Date(2026, 10, 5, 9, 0, 0, 0, shanghai))
	if _, err := w.svc.SettleMonth(ctx, oct2026); err != nil {
		t.Fatal(err)
	}
	id := models.StatementID("P1", oct2026)

	checkExportRows(t, "csv", w.exportRows(t, staffA(), id, settlement.ExportCSV), id)
	checkExportRows(t, "xlsx", w.exportRows(t, partnerLogin("A", "P1"), id, settlement.ExportXLSX), id)
}

// Issue 19.9: every text cell of both exports is safe from being run as a
// formula, whichever field it comes from: a partner named like a formula,
// and a formula-like value in every text field of a line. A plain number
// (an amount in yuan) is left as it is.
func TestIssue19_9_ExportsEscapeEveryTextCell(t *testing.T) {
	t.Parallel()
	w := newSettlementWorld(t, time.Date(2026, 11, 1, 2, 0, 0, 0, shanghai))
	evil := models.Partner{
		ID:          "PX",
		CommunityID: "A",
		Kind:        models.PartnerMerchant,
		Name:        `=HYPERLINK("http://evil.example","x")`,
		Created:     w.clock.now(),
	}
	if err := w.st.InsertPartner(ctx, evil); err != nil {
		t.Fatal(err)
	}
	w.part[evil.ID] = evil
	formulas := []string{"=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1"}
	for i, f := range formulas {
		e := models.SettlementEvent{
			ID:           fmt.Sprintf("fulfil:%d", i),
			CommunityID:  "A",
			PartnerID:    "PX",
			Kind:         models.EventFulfilled,
			RedemptionID: f + "red",
			RewardID:     f + "rw",
			ResidentID:   f + "res",
			Description:  f + "desc",
			ValueFen:     -models.Fen(100 + i),
			Bearer:       models.BearerCommunity,
			At:           time.Date(2026, 10, 3+i, 9, 0, 0, 0, shanghai).UTC(),
		}
		if err := w.st.RecordSettlementEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.svc.SettleMonth(ctx, oct2026); err != nil {
		t.Fatal(err)
	}
	id := models.StatementID("PX", oct2026)
	csvRows := w.exportRows(t, staffA(), id, settlement.ExportCSV)
	xlsxRows := w.exportRows(t, staffA(), id, settlement.ExportXLSX)
	number := regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)
	for format, rows := range map[string][][]string{"csv": csvRows, "xlsx": xlsxRows} {
		quoted := 0
		for _, row := range rows {
			for _, cell := range row {
				if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) && !number.MatchString(cell) {
					t.Errorf("%s: cell %q starts like a formula", format, cell)
				}
				if strings.HasPrefix(cell, "'") {
					quoted++
				}
			}
		}
		// The partner's name, and four text fields of each line.
		if want := 1 + 4*len(formulas); quoted != want {
			t.Errorf("%s: %d quoted cells, want %d", format, quoted, want)
		}
		if !strings.Contains(fmt.Sprint(rows), "'"+evil.Name) || !strings.Contains(fmt.Sprint(rows), "-1.05") {
			t.Errorf("%s: the partner's name quoted and the amounts as numbers are missing: %v", format, rows)
		}
	}
}

// exportRows is statement id exported for p in format, read back as rows
// of cells (a CSV without its byte-order mark, an XLSX's first sheet).
func (w *settlementWorld) exportRows(t *testing.T, p models.Principal, id string, format settlement.ExportFormat) [][]string {
	t.Helper()
	var buf bytes.Buffer
	if err := w.svc.Export(ctx, p, id, format, &buf); err != nil {
		t.Fatal(err)
	}
	if format == settlement.ExportCSV {
		r := csv.NewReader(strings.NewReader(strings.TrimPrefix(buf.String(), "\ufeff")))
		r.FieldsPerRecord = -1
		rows, err := r.ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows(f.GetSheetName(0))
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func checkExportRows(t *testing.T, format string, rows [][]string, id string) {
	t.Helper()
	lines := map[string][]string{}
	totals := map[string][]string{}
	for _, r := range rows {
		if len(r) == 0 {
			continue
		}
		if strings.HasPrefix(r[0], "stmtline:") {
			lines[r[0]] = r
		}
		totals[r[0]] = r
	}
	for ev, fen := range map[string]string{
		"fulfil:x":  "1234",
		"fulfil:y":  "500",
		"reverse:z": "-300",
	} {
		l, ok := lines[models.StatementLineID(ev)]
		if !ok || l[9] != fen {
			t.Errorf("%s: line of %s = %v, want value %s", format, ev, l, fen)
		}
	}
	if len(lines) != 3 {
		t.Errorf("%s: %d lines, want 3", format, len(lines))
	}
	want := map[string]string{
		"total_fen":     "1434",
		"community_fen": "200",
		"partner_fen":   "1234",
		"total_lines":   "3",
	}
	for k, v := range want {
		if r := totals[k]; len(r) < 2 || r[1] != v {
			t.Errorf("%s: total row %s = %v, want %s", format, k, r, v)
		}
	}
	if r := totals["statement"]; len(r) < 2 || r[1] != id {
		t.Errorf("%s: title row = %v", format, r)
	}
}

// A community-month of many events settles in seconds, not minutes; the
// log shows how long. LINLI_PERF=1 makes it 5,000 events (2,000 took 3.6 s
// with -race on two cores); the default keeps the suite light.
func TestSettlementOfThousandsOfEvents(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("slow")
	}
	n := 500
	if os.Getenv("LINLI_PERF") != "" {
		n = 5000
	}
	w := newSettlementWorld(t, time.Date(2026, 11, 1, 2, 0, 0, 0, shanghai))
	want := w.october(n)
	began := time.Now()
	st, created, err := w.svc.SettlePartner(ctx, w.comm["A"], w.part["P1"], oct2026)
	if err != nil || !created {
		t.Fatal(created, err)
	}
	t.Logf("settled %d events in %s", st.Lines, time.Since(began))
	checkTotals(t, st, want)
}
