package store

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/once"
	"go.mongodb.org/mongo-driver/v2/bson"
	"golang.org/x/sync/errgroup"
)

// The allowance run's lists (docs/ARCHITECTURE.md §9): the honour events
// that say a duty was confirmed and which month pays it are on lists in
// honour_events, so a run reads the confirmations no month has claimed
// yet and the claims of its own month, not every duty the community ever
// logged.

// dutyConfirmationList is the list of a community's duty confirmations,
// in the order they were stored (`hdk:`).
func dutyConfirmationList(communityID string) string { return "hdk:" + communityID }

// allowanceClaimList is the list of the claims naming month as the month
// whose allowance pays a duty (`hdp:`).
func allowanceClaimList(communityID, month string) string {
	return "hdp:" + communityID + ":" + month
}

// honourEventLists are the lists an honour event is on: a duty's
// confirmation (once.DutyConfirmed) on its community's confirmations, a
// month's claim of a duty (once.AllowanceDuty) on that month's claims;
// every other event on none.
func honourEventLists(e models.HonourEvent) []string {
	switch {
	case e.CommunityID == "" || e.Subject == "":
		return nil
	case e.ID == once.DutyConfirmed(e.Subject):
		return []string{dutyConfirmationList(e.CommunityID)}
	case e.ID == once.AllowanceDuty(e.Subject) && e.Month != "":
		return []string{allowanceClaimList(e.CommunityID, e.Month)}
	}
	return nil
}

// confirmationSettle is how old a slot of the confirmations list that
// names nothing must be before the floor passes it: on MongoDB its event
// may still be on its way (on the embedded store the slot and the event
// are one transaction, and a slot that names nothing is a repeat's).
const confirmationSettle = 24 * time.Hour

// UnclaimedConfirmations returns the duties of communityID whose
// confirmation no month has claimed yet (no once.AllowanceDuty event), in
// the order they were confirmed. It reads the community's confirmations
// list from its floor to its head, and moves the floor (listFloor, a hint
// under `floor:hdk:<community>` in list_heads) over the slots that are settled
// for good: a confirmation whose duty is claimed, or a slot that names
// nothing and was taken more than confirmationSettle before at. Claims
// are insert-once and never removed, so no floor is ever too high; a floor
// saved too low by a racing run only costs reads. A run therefore reads
// the confirmations of the months not yet closed, not the community's
// history.
func (s *Store) UnclaimedConfirmations(ctx context.Context, communityID string, at time.Time) ([]string, error) {
	list := dutyConfirmationList(communityID)
	start, saved, err := s.listFloor(ctx, list)
	if err != nil {
		return nil, err
	}
	head, err := s.listHeadAbove(ctx, colHonourEvents, list, start-1)
	if err != nil {
		return nil, err
	}
	settledBefore := at.Add(-confirmationSettle)
	floor, moving := start, true
	var unclaimed []string
	for low := start; low <= head; low += monthPage {
		run, err := s.slotsBetween(ctx, colHonourEvents, list, head, low, min(head, low+monthPage-1))
		if err != nil {
			return nil, err
		}
		slots, refs, ats := run.slots, run.refs, run.ats
		duties := make([]string, len(slots)) // the duty of a slot whose event names it
		claimed := make([]bool, len(slots))
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(8)
		for i := range slots {
			if refs[i] == "" {
				continue
			}
			g.Go(func() error {
				var ev honourEventDoc
				err := s.findByID(gctx, colHonourEvents, refs[i], &ev)
				if errors.Is(err, models.ErrNotFound) || err == nil && !named(ev.Slots, slots[i]) {
					return nil
				}
				if err != nil {
					return err
				}
				duties[i] = ev.Subject
				err = s.findByID(gctx, colHonourEvents, once.AllowanceDuty(ev.Subject), &honourEventDoc{})
				if errors.Is(err, models.ErrNotFound) {
					return nil
				}
				claimed[i] = err == nil
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
		for i := range slots {
			settled := claimed[i] || duties[i] == "" && ats[i].Before(settledBefore)
			if moving && settled {
				floor = slots[i].N + 1
				continue
			}
			moving = false
			if duties[i] != "" && !claimed[i] {
				unclaimed = append(unclaimed, duties[i])
			}
		}
	}
	s.saveListFloor(ctx, list, saved, floor)
	return unclaimed, nil
}

// AllowanceClaims returns the duties whose allowance month (their
// once.AllowanceDuty claim) is month in communityID, in the order they
// were claimed, read from the month's list of claims: it costs the
// month's claims, not the community's duties.
func (s *Store) AllowanceClaims(ctx context.Context, communityID, month string) ([]models.Duty, error) {
	var ids []string
	err := eachListed(ctx, s, colHonourEvents, allowanceClaimList(communityID, month),
		func(d *honourEventDoc) []slotRef { return d.Slots },
		func(d *honourEventDoc) bool { return d.Community == communityID && d.Month == month },
		func(d *honourEventDoc) error {
			ids = append(ids, d.Subject)
			return nil
		})
	if err != nil {
		return nil, err
	}
	duties := make([]models.Duty, len(ids))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, id := range ids {
		g.Go(func() error {
			var d dutyDoc
			err := s.findByID(gctx, colDuties, id, &d)
			if errors.Is(err, models.ErrNotFound) {
				return nil // duties are never removed; a claim of none pays nothing
			}
			duties[i] = d.model()
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return slices.DeleteFunc(duties, func(d models.Duty) bool { return d.ID == "" }), nil
}

// listAllowanceStoredBefore puts the duty confirmations and allowance
// claims stored before their lists existed on them, once
// (listStoredBefore, mark `done:allowance-lists`), in the order they were
// stored. Until then the allowance run would miss them, so it runs at
// start with the other lists.
func (s *Store) listAllowanceStoredBefore(ctx context.Context) error {
	str := func(d bson.M, k string) string { v, _ := d[k].(string); return v }
	only := bson.D{{Key: "kind", Value: bson.D{{Key: "$in", Value: bson.A{"confirmed", "allowance_duty"}}}}}
	return s.listStoredBefore(ctx, "allowance-lists", colHonourEvents, only, func(d bson.M) ([]string, time.Time) {
		e := models.HonourEvent{
			ID:          str(d, "_id"),
			CommunityID: str(d, "community"),
			Subject:     str(d, "subject"),
			Month:       str(d, "month"),
		}
		at, _ := d["at"].(bson.DateTime)
		return honourEventLists(e), at.Time().UTC()
	})
}
