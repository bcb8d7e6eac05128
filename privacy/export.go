package privacy

import (
	"context"
	"errors"
	"fmt"

	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/once"
)

// Sources read what an export holds, each as the capability that keeps it
// shows it to the resident (a redemption's status after its marks, a
// record's state after its decisions). Paged sources are read a page at a
// time, so an export never holds a whole history in memory. Each returns
// models.ErrNotFound as stated and other errors wrapped.
type Sources interface {
	// Household returns the household with id, or models.ErrNotFound.
	Household(ctx context.Context, id string) (models.Household, error)
	// ServiceRecords is one page of r's service records and the cursor
	// of the next ("" at the end).
	ServiceRecords(ctx context.Context, r models.Resident, cursor string, limit int) ([]models.ServiceRecord, string, error)
	// Entries is one page of r's ledger entries of asset, newest first,
	// below before (0: from the newest), and the before of the next page
	// (0 at the end).
	Entries(ctx context.Context, r models.Resident, asset models.Asset, before int64, limit int) ([]models.Entry, int64, error)
	// Redemptions is one page of r's redemptions and the cursor of the
	// next ("" at the end).
	Redemptions(ctx context.Context, r models.Resident, cursor string, limit int) ([]models.Redemption, string, error)
	// HonourEntries are r's honour-roll entries (a few per resident).
	HonourEntries(ctx context.Context, r models.Resident) ([]models.HonourEntry, error)
	// Notifications is one page of r's inbox and the cursor of the next
	// ("" at the end).
	Notifications(ctx context.Context, r models.Resident, cursor string, limit int) ([]models.Notification, string, error)
}

// Visitor receives an export part by part, in the order of its methods
// here; each paged part arrives as one or more pages (none when empty).
// Its methods write what they are given and return the writer's error.
type Visitor interface {
	Profile(r models.Resident, h *models.Household, consent *models.Consent) error
	Records(rs []models.ServiceRecord) error
	Entries(asset models.Asset, es []models.Entry) error
	Redemptions(rs []models.Redemption) error
	Honour(es []models.HonourEntry) error
	Notifications(ns []models.Notification) error
	Accesses(as []Access) error
}

// exportPage is how many items of a part an export reads at a time.
const exportPage = 100

// Export is one resident's export, allowed and recorded, ready to write.
type Export struct {
	service  *Service
	resident models.Resident
}

// Resident is whose export it is.
func (e *Export) Resident() models.Resident { return e.resident }

// PrepareExport allows and records an export of residentID's data ("" or
// p's own id: p's own). Another resident's export is for staff of that
// resident's community (a resident of another community is
// models.ErrNotFound, as everywhere) and is put on the resident's access
// log before it is written.
func (s *Service) PrepareExport(ctx context.Context, p models.Principal, residentID string) (*Export, error) {
	if residentID == "" {
		residentID = p.ResidentID
	}
	if residentID == "" {
		return nil, models.ErrForbidden
	}
	var (
		r   models.Resident
		err error
	)
	if residentID == p.ResidentID {
		r, err = community.VisibleResident(ctx, s.people, p, residentID)
	} else {
		r, err = community.ManagedResident(ctx, s.people, p, residentID)
	}
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if err := s.RecordReads(ctx, p, models.AccessExport, "", r.ID); err != nil {
		return nil, err
	}
	return &Export{service: s, resident: r}, nil
}

// Write reads every part of the export, a page at a time, and gives it to
// v as it goes.
func (e *Export) Write(ctx context.Context, v Visitor) error {
	s, r := e.service, e.resident
	var household *models.Household
	if r.HouseholdID != "" {
		h, err := s.sources.Household(ctx, r.HouseholdID)
		switch {
		case err == nil:
			household = &h
		case !errors.Is(err, models.ErrNotFound):
			return fmt.Errorf("export household: %w", err)
		}
	}
	var consent *models.Consent
	if c, err := s.store.Consent(ctx, once.Consent(r.ID, s.notice.Version)); err == nil {
		consent = &c
	} else if !errors.Is(err, models.ErrNotFound) {
		return fmt.Errorf("export consent: %w", err)
	}
	if err := v.Profile(r, household, consent); err != nil {
		return err
	}
	if err := pages(func(cursor string) (string, error) {
		rs, next, err := s.sources.ServiceRecords(ctx, r, cursor, exportPage)
		if err == nil && len(rs) > 0 {
			err = v.Records(rs)
		}
		return next, err
	}); err != nil {
		return fmt.Errorf("export records: %w", err)
	}
	for _, asset := range []models.Asset{models.AssetHours, models.AssetPoints} {
		before := int64(0)
		for {
			es, next, err := s.sources.Entries(ctx, r, asset, before, exportPage)
			if err == nil && len(es) > 0 {
				err = v.Entries(asset, es)
			}
			if err != nil {
				return fmt.Errorf("export ledger: %w", err)
			}
			if next <= 0 || len(es) == 0 {
				break
			}
			before = next
		}
	}
	if err := pages(func(cursor string) (string, error) {
		rs, next, err := s.sources.Redemptions(ctx, r, cursor, exportPage)
		if err == nil && len(rs) > 0 {
			err = v.Redemptions(rs)
		}
		return next, err
	}); err != nil {
		return fmt.Errorf("export redemptions: %w", err)
	}
	hs, err := s.sources.HonourEntries(ctx, r)
	if err == nil && len(hs) > 0 {
		err = v.Honour(hs)
	}
	if err != nil {
		return fmt.Errorf("export honour: %w", err)
	}
	if err := pages(func(cursor string) (string, error) {
		ns, next, err := s.sources.Notifications(ctx, r, cursor, exportPage)
		if err == nil && len(ns) > 0 {
			err = v.Notifications(ns)
		}
		return next, err
	}); err != nil {
		return fmt.Errorf("export notifications: %w", err)
	}
	owner := models.Principal{ResidentID: r.ID, CommunityID: r.CommunityID}
	if err := pages(func(cursor string) (string, error) {
		as, next, err := s.AccessLog(ctx, owner, cursor, exportPage)
		if err == nil && len(as) > 0 {
			err = v.Accesses(as)
		}
		return next, err
	}); err != nil {
		return fmt.Errorf("export access log: %w", err)
	}
	return nil
}

// pages calls page with "" and then with each cursor it returns until it
// returns "", or an error.
func pages(page func(cursor string) (string, error)) error {
	cursor := ""
	for {
		next, err := page(cursor)
		if err != nil {
			return err
		}
		if next == "" || next == cursor {
			return nil
		}
		cursor = next
	}
}
