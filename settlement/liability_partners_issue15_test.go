package settlement_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/policy"
	"github.com/linli-community/linli/settlement"
	"github.com/linli-community/linli/store"
)

// noScanStore is the store with the scan of a partner's settlement events
// refused: the report must read the month's list, not every event.
type noScanStore struct{ *store.Store }

func (noScanStore) EachSettlementEvent(context.Context, string, time.Time, time.Time, func(models.SettlementEvent) error) error {
	return errors.New("the liability report scanned the settlement events")
}

// noScanReport is w's settlement service over noScanStore.
func (w *settlementWorld) noScanReport() *settlement.Service {
	return settlement.New(settlement.Deps{
		Store:    noScanStore{w.st},
		Ledger:   w.l,
		People:   w.st,
		Policies: policy.New(w.st, w.clock.now),
		Trail:    w.st,
		Held:     heldStub{7},
		Now:      w.clock.now,
		Notify:   community.NoNotifier{},
	})
}

// recomputePartner sums partner's month m from every settlement event by
// the filter on business time the report used before it had month lists:
// the check that the report's partner figures are right.
func (w *settlementWorld) recomputePartner(partner string, m models.Month) models.StatementTotals {
	w.t.Helper()
	var t models.StatementTotals
	err := w.st.EachSettlementEvent(ctx, partner, m.Start(shanghai), m.End(shanghai), func(e models.SettlementEvent) error {
		t.Add(models.StatementLine{Event: e})
		return nil
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return t
}

// checkPartners compares the report's unsettled partner figures for month
// m with the full recomputation, and fails if none has anything to compare.
func (w *settlementWorld) checkPartners(when string, m models.Month) {
	w.t.Helper()
	r, err := w.noScanReport().Liability(ctx, staffA(), m.String())
	if err != nil {
		w.t.Fatal(err)
	}
	if len(r.Partners) != 2 {
		w.t.Fatalf("%s: partners %+v", when, r.Partners)
	}
	lines := 0
	for _, p := range r.Partners {
		if p.Settled {
			w.t.Fatalf("%s: %s %s is settled: %+v", when, p.PartnerID, m, p)
		}
		want := w.recomputePartner(p.PartnerID, m)
		got := models.StatementTotals{
			Lines:     p.Lines,
			Total:     p.TotalFen,
			Community: p.CommunityFen,
			Partner:   p.PartnerFen,
		}
		if got != want {
			w.t.Fatalf("%s: %s in %s: the report shows %+v; every event sums to %+v", when, p.PartnerID, m, got, want)
		}
		lines += want.Lines
	}
	if lines == 0 {
		w.t.Fatalf("%s: %s has no events to compare", when, m)
	}
}

// Issue 15: the liability report's partner figures come from the job's
// count per partner and month and the events listed since; after
// fulfilments, reversals (refunds, voids), events at the month's edges in
// the community's zone and events recorded late, across two months and
// with job runs in between, they equal the sum of every event by the
// business-time filter.
func TestIssue15_LiabilityPartners_ReportEqualsFullRecomputationAcrossTwoMonths(t *testing.T) {
	t.Parallel()
	sh := shanghai
	w := newSettlementWorld(t, time.Date(2025, 10, 1, 0, 0, 0, 0, sh))
	oct, nov := models.Month{Year: 2025, Month: time.October}, models.Month{Year: 2025, Month: time.November}
	n := 0
	fulfil := func(partner string, fen int64, bearer models.Bearer, at time.Time) models.SettlementEvent {
		n++
		return w.event(fmt.Sprintf("fulfil:lp-%03d", n), partner, models.EventFulfilled, fmt.Sprintf("lp-%03d", n), fen, bearer, at)
	}
	reverse := func(e models.SettlementEvent, at time.Time) {
		w.reversal("reverse:"+e.ID, e.PartnerID, e.ID, e.RedemptionID, -int64(e.ValueFen), at)
	}
	job := func(now time.Time) {
		t.Helper()
		w.setClock(now)
		if _, err := w.svc.SummariseLiability(ctx, now); err != nil {
			t.Fatal(err)
		}
	}
	// October: the first instant in Shanghai (16:00 UTC on 30 September)
	// and the last millisecond, fulfilments of both bearers, a refund.
	fulfil("P1", 500, models.BearerPartner, oct.Start(sh))
	fulfil("P1", 700, models.BearerCommunity, oct.End(sh).Add(-time.Millisecond))
	refunded := fulfil("P2", 3000, models.BearerCommunity, time.Date(2025, 10, 5, 9, 0, 0, 0, sh))
	fulfil("P2", 120, models.BearerPartner, oct.Start(sh).Add(-time.Millisecond)) // September's
	w.checkPartners("October, before the job ever ran", oct)
	job(time.Date(2025, 10, 10, 12, 0, 0, 0, sh))
	w.checkPartners("October, after the first run", oct)
	reverse(refunded, time.Date(2025, 10, 11, 9, 0, 0, 0, sh))
	for i := range 5 {
		fulfil("P1", int64(100+i), models.BearerCommunity, time.Date(2025, 10, 12+i, 9, 0, 0, 0, sh))
	}
	w.checkPartners("October, events since the run", oct)
	job(time.Date(2025, 10, 20, 12, 0, 0, 0, sh))
	w.checkPartners("October, second run", oct)

	// November: the first instant, a void of an October fulfilment in
	// November (its reversal is November's), and an October event
	// recorded late, in November.
	fulfil("P1", 900, models.BearerPartner, nov.Start(sh))
	voided := fulfil("P2", 444, models.BearerCommunity, time.Date(2025, 10, 30, 9, 0, 0, 0, sh))
	reverse(voided, time.Date(2025, 11, 2, 9, 0, 0, 0, sh))
	job(time.Date(2025, 11, 3, 12, 0, 0, 0, sh))
	w.recordedLate("fulfil:late-oct", 650, time.Date(2025, 10, 31, 23, 0, 0, 0, sh), time.Date(2025, 11, 3, 13, 0, 0, 0, sh))
	fulfil("P2", 80, models.BearerPartner, time.Date(2025, 11, 3, 14, 0, 0, 0, sh))
	w.checkPartners("October, after a late event", oct)
	w.checkPartners("November, after a late event", nov)
	job(time.Date(2025, 11, 4, 12, 0, 0, 0, sh))
	w.checkPartners("October, the run after the late event", oct)
	w.checkPartners("November, the run after the late event", nov)
	// A run with nothing new changes nothing.
	job(time.Date(2025, 11, 4, 12, 10, 0, 0, sh))
	w.checkPartners("November, a run with nothing new", nov)
}

// Issue 15: fulfilments and refunds recorded while the liability job runs
// (really at once, several runs racing each other too) leave the job's
// counts and the report exactly equal to the sum of every event: no event
// counted twice, none missed.
func TestIssue15_LiabilityPartners_FulfilmentsRacingJobRunsGiveExactTotals(t *testing.T) {
	t.Parallel()
	sh := shanghai
	now := time.Date(2025, 11, 20, 12, 0, 0, 0, sh)
	w := newSettlementWorld(t, now)
	nov := models.Month{Year: 2025, Month: time.November}
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			partner := []string{"P1", "P2"}[g%2]
			for i := range 12 {
				id := fmt.Sprintf("race-%d-%02d", g, i)
				at := time.Date(2025, 11, 1+i, 9, g, 0, 0, sh)
				e := models.SettlementEvent{
					ID:           "fulfil:" + id,
					CommunityID:  "A",
					PartnerID:    partner,
					Kind:         models.EventFulfilled,
					RedemptionID: id,
					ValueFen:     models.Fen(100*g + i + 1),
					Bearer:       []models.Bearer{models.BearerCommunity, models.BearerPartner}[i%2],
					At:           at,
				}
				if err := w.st.RecordSettlementEvent(ctx, e); err != nil {
					errs <- err
					return
				}
				// The repeat of a fulfilment (a reader following the mark)
				// records it again, at once.
				if err := w.st.RecordSettlementEvent(ctx, e); err != nil {
					errs <- err
					return
				}
				if i%4 == 3 {
					r := models.SettlementEvent{
						ID:           "reverse:" + id,
						CommunityID:  "A",
						PartnerID:    partner,
						Kind:         models.EventReversed,
						RedemptionID: id,
						ValueFen:     -e.ValueFen,
						Bearer:       e.Bearer,
						At:           at.Add(time.Hour),
						Undoes:       e.ID,
					}
					if err := w.st.RecordSettlementEvent(ctx, r); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for range 3 {
				if _, err := w.svc.SummariseLiability(ctx, now); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	w.checkPartners("after the race, before a last run", nov)
	if _, err := w.svc.SummariseLiability(ctx, now.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	w.checkPartners("after a last run", nov)
	for _, p := range []string{"P1", "P2"} {
		got, err := w.st.CountPartnerMonth(ctx, p, nov, now.Add(20*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if want := w.recomputePartner(p, nov); got != want || want.Lines != 2*(12+3) {
			t.Fatalf("%s: the job counts %+v; every event sums to %+v", p, got, want)
		}
	}
}

// Issue 15: a month asked for in the wrong form is refused as bad input
// before anything is read.
func TestIssue15_LiabilityPartners_BadMonthIsRefused(t *testing.T) {
	t.Parallel()
	w := newSettlementWorld(t, time.Date(2025, 11, 20, 12, 0, 0, 0, shanghai))
	for _, month := range []string{"2025-13", "11-2025", "2025-1", "x"} {
		_, err := w.svc.Liability(ctx, staffA(), month)
		if code := models.CodeOf(err); code == "" || code != models.CodeOf(models.ErrValidation) {
			t.Fatalf("month %q: %v", month, err)
		}
	}
}
