package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/models"
)

// testCredit is a property-fee redemption n of partner, made at created.
func testCredit(partner string, n int, created time.Time) models.Redemption {
	r := testRedemption(fmt.Sprintf("%s-credit%03d", partner, n), fmt.Sprint("r", n%5), created)
	r.Kind, r.PartnerID, r.RewardID = models.RewardPropertyFee, partner, "fee1"
	return r
}

// openFilter is what the partner's credits screen asks the store for.
func openFilter(partner string) models.RedemptionFilter {
	return models.RedemptionFilter{
		CommunityID: "c1",
		PartnerID:   partner,
		Statuses:    []models.RedemptionStatus{models.RedemptionHeld, models.RedemptionOpening},
	}
}

// redemptionIDs are the ids of rs, in order.
func redemptionIDs(rs []models.Redemption) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// Issue 15 (GET /partner/credits scanned every redemption): a partner's
// open credits are read from its credits list while two replicas redeem
// its credits, another partner's and merchant breakfasts at once; every
// read holds only the partner's open credits, newest first, once each,
// and no read or write sends a scan. Once the hold-expiry job has saved
// when the community's oldest open redemption was made, the credits made
// before it (all decided) are not read: the read's lookups stay under
// the 150 old credits.
func TestIssue15_PartnerCredits_ReadFromThePartnersCreditsListWhileRedeemed(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	other, err := Open(ctx, s.embedded.URI(), s.db.Name(), s.embedded)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close(context.Background()) })
	now := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
	// Last year's credits, all fulfilled.
	for n := range 150 {
		r := testCredit("prop1", n, now.AddDate(-1, 0, n))
		if err := s.InsertRedemption(ctx, r, "h"); err != nil {
			t.Fatal(err)
		}
		r.Status = models.RedemptionFulfilled
		if err := s.SaveRedemptionState(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	// This week's: held, one opening, one fulfilled, one refused.
	var want []string
	for n := range 10 {
		r := testCredit("prop1", 200+n, now.Add(-time.Duration(10-n)*time.Hour))
		switch n {
		case 3:
			r.Status = models.RedemptionOpening
		case 5:
			r.Status = models.RedemptionFailed
		}
		if err := s.InsertRedemption(ctx, r, "h"); err != nil {
			t.Fatal(err)
		}
		if n == 7 {
			r.Status = models.RedemptionFulfilled
			if err := s.SaveRedemptionState(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if n != 5 && n != 7 {
			want = append(want, r.ID)
		}
	}
	if err := s.SaveOpenRedemptionsSince(ctx, "c1", now.Add(-10*time.Hour)); err != nil {
		t.Fatal(err)
	}
	before := s.CommandCounts().Scans + other.CommandCounts().Scans
	errs := atonce.Errors(5, func(i int) error {
		replica := s
		if i%2 == 1 {
			replica = other
		}
		switch i {
		case 0, 1: // two replicas redeem the partner's credits
			for n := range 10 {
				r := testCredit("prop1", 300+10*i+n, now.Add(time.Duration(n)*time.Minute))
				if err := replica.InsertRedemption(ctx, r, "h"); err != nil {
					return err
				}
			}
		case 2: // another partner's credits and a shop's breakfasts
			for n := range 10 {
				if err := replica.InsertRedemption(ctx, testCredit("prop2", n, now), "h"); err != nil {
					return err
				}
				if err := replica.InsertRedemption(ctx, testRedemption(fmt.Sprint("breakfast", n), "r1", now), "h"); err != nil {
					return err
				}
			}
		default: // while the partner reads its credits
			for range 10 {
				got, err := replica.Redemptions(ctx, openFilter("prop1"), 200)
				if err != nil {
					return err
				}
				for k, r := range got {
					if r.PartnerID != "prop1" || (r.Status != models.RedemptionHeld && r.Status != models.RedemptionOpening) {
						return fmt.Errorf("the partner's open credits show %s of %s, %s", r.ID, r.PartnerID, r.Status)
					}
					if k > 0 && (got[k-1].Created.Before(r.Created) || got[k-1].ID == r.ID) {
						return fmt.Errorf("the open credits are not newest first, once each: %v", redemptionIDs(got))
					}
				}
				if len(got) < len(want) {
					return fmt.Errorf("the open credits read %v; want at least %v", redemptionIDs(got), want)
				}
			}
		}
		return nil
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if scans := s.CommandCounts().Scans + other.CommandCounts().Scans - before; scans != 0 {
		t.Fatalf("the credits' reads and writes sent %d scans; want none", scans)
	}
	for i := range 2 {
		for n := range 10 {
			want = append(want, testCredit("prop1", 300+10*i+n, now).ID)
		}
	}
	finds := s.CommandCounts().Finds
	got, err := s.Redemptions(ctx, openFilter("prop1"), 200)
	if err != nil {
		t.Fatal(err)
	}
	if n := s.CommandCounts().Finds - finds; n >= 150 {
		t.Fatalf("reading the open credits took %d lookups; want fewer than last year's 150 credits", n)
	}
	ids := redemptionIDs(got)
	if len(ids) != len(want) {
		t.Fatalf("the open credits read %v; want %v", ids, want)
	}
	for _, id := range want {
		if !slices.Contains(ids, id) {
			t.Fatalf("the open credits %v miss %s", ids, id)
		}
	}
	if ids[len(ids)-1] != "prop1-credit200" {
		t.Fatalf("the open credits do not end with the oldest: %v", ids)
	}
	if first, err := s.Redemptions(ctx, openFilter("prop1"), 3); err != nil || !slices.Equal(redemptionIDs(first), ids[:3]) {
		t.Fatalf("the first 3 open credits read %v, %v; want %v", redemptionIDs(first), err, ids[:3])
	}
	if p2, err := s.Redemptions(ctx, openFilter("prop2"), 200); err != nil || len(p2) != 10 {
		t.Fatalf("the other partner's open credits read %v, %v; want 10", redemptionIDs(p2), err)
	}
	if shop, err := s.Redemptions(ctx, openFilter("shop1"), 200); err != nil || len(shop) != 0 {
		t.Fatalf("a shop has no credits list, yet reads %v, %v", redemptionIDs(shop), err)
	}
}

// Issue 15: credits stored on their other lists before the partners'
// credits lists existed are put on them once, at the next start, even
// when two replicas start at once, and the partner reads them.
func TestIssue15_PartnerCredits_StoredBeforeTheListsAreListedOnceAtStart(t *testing.T) {
	t.Parallel()
	s := listsStore(t)
	ctx := context.Background()
	other, err := Open(ctx, s.embedded.URI(), s.db.Name(), s.embedded)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close(context.Background()) })
	now := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
	var want []string
	for n := range 4 {
		r := testCredit("prop1", n, now.Add(time.Duration(n)*time.Minute))
		lists := redemptionLists(r)
		lists = slices.DeleteFunc(lists, func(l string) bool { return l == creditList("c1", "prop1") })
		_, err := s.insertListed(ctx, colRedemptions, lists, r.ID, r.Created, func(slots []slotRef) any {
			d := toRedemptionDoc(r, "h")
			d.Slots = slots
			return d
		})
		if err != nil {
			t.Fatal(err)
		}
		want = append([]string{r.ID}, want...)
	}
	if err := s.deleteByID(ctx, colListHeads, "done:credit-lists"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Redemptions(ctx, openFilter("prop1"), 200); err != nil || len(got) != 0 {
		t.Fatalf("before the start: %v, %v", redemptionIDs(got), err)
	}
	errs := atonce.Errors(2, func(i int) error {
		replica := s
		if i == 1 {
			replica = other
		}
		return replica.listCreditsOnNewLists(ctx)
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("starting at once: %v", err)
	}
	if err := s.EnsureSchema(ctx); err != nil { // the next start finds the work done
		t.Fatal(err)
	}
	got, err := s.Redemptions(ctx, openFilter("prop1"), 200)
	if err != nil || !slices.Equal(redemptionIDs(got), want) {
		t.Fatalf("after the start the open credits read %v, %v; want %v once each", redemptionIDs(got), err, want)
	}
	// Their other lists are as they were.
	if mine := walkResident(ctx, t, s, "r1", 10); !slices.Equal(mine, []string{"prop1-credit001"}) {
		t.Fatalf("r1's redemptions read %v", mine)
	}
}
