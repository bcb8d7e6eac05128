package directory

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/once"
)

// ResidencyStore keeps the marks of residents leaving and erases a
// resident's personal information.
type ResidencyStore interface {
	// Resident returns the resident with id, or models.ErrNotFound.
	Resident(ctx context.Context, id string) (models.Resident, error)
	// InsertResidencyMark inserts the mark id of kind ("moved" or
	// "erased") for r; models.ErrConflict if it exists.
	InsertResidencyMark(ctx context.Context, id, kind string, r models.Resident, at time.Time, actor string) error
	// Residency reads the moved and erased marks of one resident;
	// models.ErrNotFound if there is no moved mark.
	Residency(ctx context.Context, movedID, erasedID string) (models.Residency, error)
	// MovedAway lists every resident marked moved away.
	MovedAway(ctx context.Context) ([]models.Residency, error)
	// DeleteLogin removes phone's login; a missing one is not an error.
	DeleteLogin(ctx context.Context, phone string) error
	// EraseResident replaces the name by pseudonym and removes the phone,
	// ID number and birth year; safe to repeat. models.ErrNotFound if the
	// resident does not exist.
	EraseResident(ctx context.Context, id, pseudonym string, at time.Time) error
}

// TrackResidency gives the service what marking residents moved away and
// erasing them after the retention period needs: their store and the
// community policies that set the period.
func (s *Service) TrackResidency(rs ResidencyStore, policies community.PolicySource) {
	s.residency = rs
	s.policies = policies
}

// MarkMovedAway records, once, that a resident of p's community moved
// away (staff only); the retention period of their personal information
// runs from then. A repeat, or a second staff member marking the same
// resident, gets the first mark.
func (s *Service) MarkMovedAway(ctx context.Context, p models.Principal, residentID string) (models.Residency, error) {
	r, err := community.ManagedResident(ctx, s.store, p, residentID)
	if err != nil {
		return models.Residency{}, fmt.Errorf("mark moved away: %w", err)
	}
	err = s.residency.InsertResidencyMark(ctx, once.ResidentMovedAway(r.ID), "moved", r, s.stamp(), p.ResidentID)
	if err != nil && !errors.Is(err, models.ErrConflict) {
		return models.Residency{}, fmt.Errorf("mark moved away: %w", err)
	}
	return s.Residency(ctx, r.ID)
}

// Residency is what was decided about resident id leaving, or
// models.ErrNotFound if they were never marked moved away.
func (s *Service) Residency(ctx context.Context, residentID string) (models.Residency, error) {
	return s.residency.Residency(ctx, once.ResidentMovedAway(residentID), once.ResidentErased(residentID))
}

// EraseCounts is what an erasure run did.
type EraseCounts struct {
	MovedAway int // residents marked moved away
	Erased    int // erased by this run (or finished after a crash)
	Waiting   int // still inside their retention period
}

// EraseDue erases the personal information of every resident who moved
// away longer ago than their community's retention period
// (models.Policy.Retention, in years): the name becomes a pseudonym
// (models.ErasePseudonym), and the phone, ID number, birth year and login
// are removed. Ledger entries, statements and every other record keep the
// resident's id and their amounts, so balances, the audit and statements
// add up as before. Safe to repeat and to stop anywhere; the writes, in
// order, and what a crash between them leaves:
//
//  1. the erased mark (once.ResidentErased), the commit point: a crash
//     before it erased nothing, and the next run decides again;
//  2. the login deleted (found by the phone, still stored): a crash here
//     leaves the mark, and the next run, seeing a mark and a resident not
//     yet erased, deletes it again (a missing login is no error);
//  3. the resident's fields removed and its erased time set: once it is
//     set, later runs skip the resident.
func (s *Service) EraseDue(ctx context.Context) (EraseCounts, error) {
	var c EraseCounts
	moved, err := s.residency.MovedAway(ctx)
	if err != nil {
		return c, fmt.Errorf("erase: %w", err)
	}
	now := s.stamp()
	for _, m := range moved {
		c.MovedAway++
		if m.Erased.IsZero() {
			pol, err := s.policies.At(ctx, m.CommunityID, now)
			if err != nil {
				return c, fmt.Errorf("erase: policy of %s: %w", m.CommunityID, err)
			}
			if now.Before(m.MovedAway.AddDate(pol.Retention(), 0, 0)) {
				c.Waiting++
				continue
			}
		}
		done, err := s.erase(ctx, m, now)
		if err != nil {
			return c, err
		}
		if done {
			c.Erased++
		}
	}
	return c, nil
}

// erase carries out steps 1-3 of EraseDue for one resident; it reports
// false when the resident was erased already.
func (s *Service) erase(ctx context.Context, m models.Residency, now time.Time) (bool, error) {
	r, err := s.residency.Resident(ctx, m.ResidentID)
	if errors.Is(err, models.ErrNotFound) {
		return false, nil // removed (an undone create): nothing to erase
	}
	if err != nil {
		return false, fmt.Errorf("erase %s: %w", m.ResidentID, err)
	}
	if !r.Erased.IsZero() {
		return false, nil
	}
	err = s.residency.InsertResidencyMark(ctx, once.ResidentErased(r.ID), "erased", r, now, "system")
	if err != nil && !errors.Is(err, models.ErrConflict) {
		return false, fmt.Errorf("erase %s: %w", r.ID, err)
	}
	if r.Phone != "" {
		if err := s.residency.DeleteLogin(ctx, r.Phone); err != nil {
			return false, fmt.Errorf("erase %s: login: %w", r.ID, err)
		}
	}
	if err := s.residency.EraseResident(ctx, r.ID, models.ErasePseudonym(r.ID), now); err != nil {
		return false, fmt.Errorf("erase %s: %w", r.ID, err)
	}
	return true, nil
}
