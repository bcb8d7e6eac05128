package settlement_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
)

// resident adds resident id to community, created at the world's time.
func (w *settlementWorld) resident(id, community string) {
	w.t.Helper()
	err := w.st.InsertResident(ctx, models.Resident{
		ID:          id,
		CommunityID: community,
		Name:        "居民",
		Created:     w.clock.now(),
	})
	if err != nil {
		w.t.Fatal(err)
	}
}

// summariseAt runs the liability job at at, with the world's clock set there.
func (w *settlementWorld) summariseAt(at time.Time) {
	w.t.Helper()
	w.setClock(at)
	if _, err := w.svc.SummariseLiability(ctx, at); err != nil {
		w.t.Fatal(err)
	}
}

func (w *settlementWorld) post(resident, community string, at time.Time, kind models.EntryKind, delta int64) {
	w.t.Helper()
	w.clock.mu.Lock()
	w.clock.t = at
	w.clock.mu.Unlock()
	op := "test:" + resident + ":" + at.String() + ":" + string(kind)
	if _, err := w.l.Post(ctx, ledger.Posting{
		OpID:        op,
		Hash:        op,
		Account:     models.AccountOf(resident, models.AssetPoints),
		CommunityID: community,
		Delta:       delta,
		Kind:        kind,
		Actor:       "test",
	}); err != nil {
		w.t.Fatalf("post %s %d: %v", kind, delta, err)
	}
}

func (w *settlementWorld) setClock(t time.Time) {
	w.clock.mu.Lock()
	w.clock.t = t
	w.clock.mu.Unlock()
}

func (w *settlementWorld) expiries(resident string) (n int, total int64, balance int64) {
	w.t.Helper()
	acct := models.AccountOf(resident, models.AssetPoints)
	b, err := w.l.Balance(ctx, acct)
	if err != nil {
		w.t.Fatal(err)
	}
	for seq := int64(1); seq <= b.Seq; seq++ {
		e, err := w.l.Entry(ctx, acct, seq)
		if err != nil {
			w.t.Fatal(err)
		}
		if e.Kind == models.KindExpiry {
			n++
			total -= e.Delta
		}
	}
	return n, total, b.Amount
}

// The worked example of docs/ARCHITECTURE.md §4.9: 50 earned in January, 30 in March, 60
// spent; with a 24-month lifetime the run after January 2026 expires
// nothing, the run after March 2026 expires 20, and running again expires
// nothing twice.
func TestPointsExpiryFIFOWorkedExample(t *testing.T) {
	t.Parallel()
	sh := shanghai
	w := newSettlementWorld(t, time.Date(2024, 1, 1, 0, 0, 0, 0, sh))
	w.post("r-1", "A", time.Date(2024, 1, 10, 9, 0, 0, 0, sh), models.KindAward, 50)
	w.post("r-1", "A", time.Date(2024, 3, 10, 9, 0, 0, 0, sh), models.KindService, 30)
	w.post("r-1", "A", time.Date(2024, 3, 20, 9, 0, 0, 0, sh), models.KindHold, -60)
	// A resident of B with nothing spent: all of January's points go.
	w.post("r-b", "B", time.Date(2024, 1, 20, 9, 0, 0, 0, sh), models.KindAward, 100)
	w.post("r-b", "B", time.Date(2024, 6, 20, 9, 0, 0, 0, sh), models.KindAward, 5)

	w.setClock(time.Date(2026, 2, 1, 3, 0, 0, 0, sh))
	n, err := w.svc.ExpirePoints(ctx, models.Month{Year: 2026, Month: time.January})
	if err != nil {
		t.Fatal(err)
	}
	if n.Points != 100 || n.Expired != 1 || n.Accounts != 2 {
		t.Fatalf("run after January = %+v, want only r-b's 100", n)
	}
	if c, _, _ := w.expiries("r-1"); c != 0 {
		t.Fatalf("r-1 expiries after January = %d, want 0", c)
	}

	w.setClock(time.Date(2026, 4, 1, 3, 0, 0, 0, sh))
	mar := models.Month{Year: 2026, Month: time.March}
	// Two runs at once, then a third: one expiry of 20.
	atonce.Run(2, func(int) {
		if _, err := w.svc.ExpirePoints(ctx, mar); err != nil {
			t.Error(err)
		}
	})
	if _, err := w.svc.ExpirePoints(ctx, mar); err != nil {
		t.Fatal(err)
	}
	if c, total, bal := w.expiries("r-1"); c != 1 || total != 20 || bal != 0 {
		t.Fatalf("r-1 after March: %d expiries of %d, balance %d; want one of 20, balance 0", c, total, bal)
	}
	if c, total, bal := w.expiries("r-b"); c != 1 || total != 100 || bal != 5 {
		t.Fatalf("r-b after March: %d expiries of %d, balance %d; want one of 100, balance 5", c, total, bal)
	}
	// A later month with nothing new to expire posts nothing.
	w.setClock(time.Date(2026, 5, 1, 3, 0, 0, 0, sh))
	n, err = w.svc.ExpirePoints(ctx, models.Month{Year: 2026, Month: time.April})
	if err != nil || n.Points != 0 {
		t.Fatalf("run after April = %+v, %v; want nothing", n, err)
	}
	if r, err := w.l.Audit(ctx); err != nil || !r.OK() {
		t.Fatalf("audit: %v %+v", err, r.Problems)
	}
}

// Issue 11.14: points expiry for a month that is not over (this month, or
// one far ahead whose cutoff passes points earned minutes ago) is refused
// as settlement refuses it, and expires nothing.
func TestIssue11_14_PointsExpiryRefusesAMonthNotOver(t *testing.T) {
	t.Parallel()
	sh := shanghai
	w := newSettlementWorld(t, time.Date(2026, 3, 15, 9, 0, 0, 0, sh))
	w.post("r-1", "A", time.Date(2026, 3, 15, 9, 0, 0, 0, sh), models.KindAward, 100)
	w.setClock(time.Date(2026, 3, 15, 9, 5, 0, 0, sh))
	for _, m := range []models.Month{{Year: 2026, Month: time.March}, {Year: 2028, Month: time.March}} {
		n, err := w.svc.ExpirePoints(ctx, m)
		if !errors.Is(err, models.ErrValidation) || !strings.Contains(err.Error(), "not over") {
			t.Fatalf("expire %s on %v: %+v, %v; want refused, the month is not over", m, w.clock.now(), n, err)
		}
	}
	if c, _, bal := w.expiries("r-1"); c != 0 || bal != 100 {
		t.Fatalf("after refused runs: %d expiries, balance %d; want none, 100", c, bal)
	}
	// February is over: it runs (nothing is old enough to expire).
	if n, err := w.svc.ExpirePoints(ctx, models.Month{Year: 2026, Month: time.February}); err != nil || n.Points != 0 {
		t.Fatalf("expire February: %+v, %v", n, err)
	}
}

// The liability report: balances of the community's residents, held
// points, what expires within 30/60/90 days, and each partner's month.
func TestLiabilityReport(t *testing.T) {
	t.Parallel()
	sh := shanghai
	w := newSettlementWorld(t, time.Date(2023, 11, 1, 0, 0, 0, 0, sh))
	for _, r := range []models.Resident{{ID: "r-1", CommunityID: "A"}, {ID: "r-2", CommunityID: "A"}, {ID: "r-b", CommunityID: "B"}} {
		r.Name, r.Created = "居民", w.clock.now()
		if err := w.st.InsertResident(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	w.post("r-1", "A", time.Date(2023, 11, 10, 9, 0, 0, 0, sh), models.KindAward, 40)
	w.post("r-1", "A", time.Date(2024, 1, 10, 9, 0, 0, 0, sh), models.KindAward, 25)
	w.post("r-1", "A", time.Date(2025, 10, 10, 9, 0, 0, 0, sh), models.KindAward, 5)
	w.post("r-2", "A", time.Date(2025, 10, 11, 9, 0, 0, 0, sh), models.KindAward, 10)
	w.post("r-b", "B", time.Date(2023, 11, 11, 9, 0, 0, 0, sh), models.KindAward, 1000)
	w.event("fulfil:o1", "P2", models.EventFulfilled, "o1", 3000, models.BearerCommunity, time.Date(2025, 10, 12, 9, 0, 0, 0, sh))
	w.event("fulfil:n1", "P1", models.EventFulfilled, "n1", 700, models.BearerPartner, time.Date(2025, 11, 2, 9, 0, 0, 0, sh))
	w.event("fulfil:n2", "P1", models.EventFulfilled, "n2", 300, models.BearerCommunity, time.Date(2025, 11, 3, 9, 0, 0, 0, sh))
	w.setClock(time.Date(2025, 11, 15, 12, 0, 0, 0, sh))
	if _, err := w.svc.SettleMonth(ctx, models.Month{Year: 2025, Month: time.October}); err != nil {
		t.Fatal(err)
	}

	if _, err := w.svc.Liability(ctx, partnerLogin("A", "P1"), ""); err == nil {
		t.Fatal("a partner read the liability report")
	}
	r, err := w.svc.Liability(ctx, staffA(), "")
	if err != nil {
		t.Fatal(err)
	}
	// In 30 and 60 days the runs of 1 Dec and 1 Jan expire what was earned
	// before Dec 2023 and Jan 2024 (40); in 90 days, the run of 1 Feb
	// takes January 2024's 25 too.
	if r.Outstanding != 80 || r.Residents != 2 || r.Held != 7 || r.Expiring30 != 40 || r.Expiring60 != 40 || r.Expiring90 != 65 {
		t.Fatalf("report = %+v", r)
	}
	if r.Month.String() != "2025-11" || len(r.Partners) != 2 {
		t.Fatalf("month %s, partners %+v", r.Month, r.Partners)
	}
	for _, p := range r.Partners {
		switch p.PartnerID {
		case "P1":
			if p.Settled || p.Lines != 2 || p.TotalFen != 1000 || p.PartnerFen != 700 {
				t.Fatalf("P1 in November: %+v", p)
			}
		case "P2":
			if p.Lines != 0 {
				t.Fatalf("P2 in November: %+v", p)
			}
		}
	}
	oct, err := w.svc.Liability(ctx, staffA(), "2025-10")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range oct.Partners {
		if p.PartnerID == "P2" && (!p.Settled || p.TotalFen != 3000 || p.StatementID != models.StatementID("P2", oct.Month)) {
			t.Fatalf("P2 in October: %+v", p)
		}
	}
}

// A resident is told beforehand what the next monthly run will expire, by
// the same rule: the worked example's 20 points are announced in March
// 2026, and the run after March takes exactly that.
func TestMyExpiringPointsAnnouncesTheNextRun(t *testing.T) {
	t.Parallel()
	sh := shanghai
	w := newSettlementWorld(t, time.Date(2024, 1, 1, 0, 0, 0, 0, sh))
	w.post("r-1", "A", time.Date(2024, 1, 10, 9, 0, 0, 0, sh), models.KindAward, 50)
	w.post("r-1", "A", time.Date(2024, 3, 10, 9, 0, 0, 0, sh), models.KindService, 30)
	w.post("r-1", "A", time.Date(2024, 3, 20, 9, 0, 0, 0, sh), models.KindHold, -60)
	p := models.Principal{
		ResidentID:  "r-1",
		CommunityID: "A",
		Roles:       []models.Role{models.RoleResident},
	}

	// In February the next run (1 March) takes what was earned before
	// March 2024: 50 earned, 60 spent, so nothing.
	w.setClock(time.Date(2026, 2, 20, 12, 0, 0, 0, sh))
	x, err := w.svc.MyExpiringPoints(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if x.Points != 0 || !x.At.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, sh)) || !x.EarnedBefore.Equal(time.Date(2024, 3, 1, 0, 0, 0, 0, sh)) {
		t.Fatalf("in February: %+v; want 0 points on 1 March 2026, earned before 1 March 2024", x)
	}
	// In March the next run (1 April) takes 80 − 60 = 20.
	w.setClock(time.Date(2026, 3, 31, 23, 0, 0, 0, sh))
	if x, err = w.svc.MyExpiringPoints(ctx, p); err != nil || x.Points != 20 || !x.At.Equal(time.Date(2026, 4, 1, 0, 0, 0, 0, sh)) {
		t.Fatalf("in March: %+v, %v; want 20 points on 1 April", x, err)
	}
	w.setClock(time.Date(2026, 4, 1, 3, 0, 0, 0, sh))
	if _, err := w.svc.ExpirePoints(ctx, models.Month{Year: 2026, Month: time.March}); err != nil {
		t.Fatal(err)
	}
	if _, total, _ := w.expiries("r-1"); total != int64(x.Points) {
		t.Fatalf("the run expired %d; %d was announced", total, x.Points)
	}
	// After the run nothing more is announced.
	if x, err = w.svc.MyExpiringPoints(ctx, p); err != nil || x.Points != 0 {
		t.Fatalf("after the run: %+v, %v; want 0", x, err)
	}
	// Staff and clerks have no points of their own to ask about.
	if _, err := w.svc.MyExpiringPoints(ctx, models.Principal{CommunityID: "A", Roles: []models.Role{models.RoleStaff}}); !errors.Is(err, models.ErrForbidden) {
		t.Fatalf("a principal without a resident: %v; want FORBIDDEN", err)
	}
}
