package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// The liability job's state (docs/PERFORMANCE.md, "The liability summary"). Both
// are caches the job alone writes, under its lease, and can rebuild from
// the ledger: each account's summary names the last entry it counts.
const (
	colLiabilityAccounts  = "liability_accounts"  // _id is community:resident
	colLiabilitySummaries = "liability_summaries" // _id is the community
)

// earnedDoc is the points an account earned in one month, as a liability summary keeps
// them.
type earnedDoc struct {
	Month  string `bson:"m"`
	Points int64  `bson:"p"`
}

// liabilityAccountDoc is the liability job's summary of one resident's points account in
// liability_accounts: the last entry it counts, the balance, spent and expired points and
// what was earned each month.
type liabilityAccountDoc struct {
	ID        string      `bson:"_id"`
	Community string      `bson:"community"`
	Resident  string      `bson:"resident"`
	Seq       int64       `bson:"seq"`
	Balance   int64       `bson:"balance"`
	Spent     int64       `bson:"spent"`
	Expired   int64       `bson:"expired"`
	Earned    []earnedDoc `bson:"earned"`
}

// model returns the stored summary as the ledger's Summary.
func (d liabilityAccountDoc) model() ledger.Summary {
	s := ledger.Summary{
		Account: models.AccountOf(d.Resident, models.AssetPoints),
		Seq:     d.Seq,
		Balance: d.Balance,
		Spent:   d.Spent,
		Expired: d.Expired,
		Earned:  map[string]int64{},
	}
	for _, e := range d.Earned {
		s.Earned[e.Month] = e.Points
	}
	return s
}

// LiabilityAccounts returns the saved summaries of a community's points
// accounts by resident. It filters by community: a job's read, as many
// documents as the community has residents, whatever their history.
func (s *Store) LiabilityAccounts(ctx context.Context, communityID string) (map[string]ledger.Summary, error) {
	out := map[string]ledger.Summary{}
	cur, err := s.c(colLiabilityAccounts).Find(ctx, bson.D{{Key: "community", Value: communityID}})
	err = eachDoc(ctx, cur, err, "liability accounts", func(d liabilityAccountDoc) error {
		out[d.Resident] = d.model()
		return nil
	})
	return out, err
}

// SaveLiabilityAccount saves the summary of a community's points account.
func (s *Store) SaveLiabilityAccount(ctx context.Context, communityID string, sum ledger.Summary) error {
	id := communityID + ":" + sum.Account.ResidentID
	d := liabilityAccountDoc{
		ID:        id,
		Community: communityID,
		Resident:  sum.Account.ResidentID,
		Seq:       sum.Seq,
		Balance:   sum.Balance,
		Spent:     sum.Spent,
		Expired:   sum.Expired,
		Earned:    []earnedDoc{},
	}
	for m, p := range sum.Earned {
		d.Earned = append(d.Earned, earnedDoc{Month: m, Points: p})
	}
	return s.replaceByID(ctx, colLiabilityAccounts, id, d, true)
}

// liabilitySummaryDoc is a community's points liability as the job summed it, in
// liability_summaries (the latest) and liability_days (the last of each day).
type liabilitySummaryDoc struct {
	ID          string    `bson:"_id"`
	At          time.Time `bson:"at"`
	Residents   int       `bson:"residents"`
	Outstanding int64     `bson:"outstanding"`
	Held        int64     `bson:"held"`
	Expiring30  int64     `bson:"expiring30"`
	Expiring60  int64     `bson:"expiring60"`
	Expiring90  int64     `bson:"expiring90"`
	Entries     int64     `bson:"entries"`
}

// LiabilitySummary returns the community's liability as the job last
// summed it, or models.ErrNotFound before its first run.
func (s *Store) LiabilitySummary(ctx context.Context, communityID string) (models.LiabilitySummary, error) {
	var d liabilitySummaryDoc
	if err := s.findByID(ctx, colLiabilitySummaries, communityID, &d); err != nil {
		return models.LiabilitySummary{}, err
	}
	return d.model(communityID), nil
}

// model is the liability d stores, of community communityID.
func (d liabilitySummaryDoc) model(communityID string) models.LiabilitySummary {
	return models.LiabilitySummary{
		CommunityID: communityID,
		At:          d.At.UTC(),
		Residents:   d.Residents,
		Outstanding: d.Outstanding,
		Held:        d.Held,
		Expiring30:  d.Expiring30,
		Expiring60:  d.Expiring60,
		Expiring90:  d.Expiring90,
		Entries:     d.Entries,
	}
}

// SaveLiabilitySummary saves the community's liability as summed at l.At.
func (s *Store) SaveLiabilitySummary(ctx context.Context, l models.LiabilitySummary) error {
	return s.replaceByID(ctx, colLiabilitySummaries, l.CommunityID, toLiabilitySummaryDoc(l.CommunityID, l), true)
}

// toLiabilitySummaryDoc is l as stored under id.
func toLiabilitySummaryDoc(id string, l models.LiabilitySummary) liabilitySummaryDoc {
	return liabilitySummaryDoc{
		ID:          id,
		At:          l.At,
		Residents:   l.Residents,
		Outstanding: l.Outstanding,
		Held:        l.Held,
		Expiring30:  l.Expiring30,
		Expiring60:  l.Expiring60,
		Expiring90:  l.Expiring90,
		Entries:     l.Entries,
	}
}

// colLiabilityDays keeps each community's liability as the job last summed
// it on each day (the community's), _id community:YYYYMMDD: the points of
// the liability-over-time chart, read by exact _id.
const colLiabilityDays = "liability_days"

// liabilityDayID is the _id in liability_days of a community's liability on day
// (YYYYMMDD).
func liabilityDayID(communityID, day string) string { return communityID + ":" + day }

// SaveLiabilityDay saves l as its community's liability on day
// (YYYYMMDD, in the community's zone); a later run of the same day
// replaces it.
func (s *Store) SaveLiabilityDay(ctx context.Context, day string, l models.LiabilitySummary) error {
	id := liabilityDayID(l.CommunityID, day)
	return s.replaceByID(ctx, colLiabilityDays, id, toLiabilitySummaryDoc(id, l), true)
}

// liabilityMonthDoc is a community's saved liability on every day of a
// month that has one, kept as one document (`community:YYYYMM` in
// liability_days) once the month is over and its days can no longer
// change (CloseLiabilityMonth): a chart of 90 days reads three of them and
// the days of the month it is in, not 90 days one by one.
type liabilityMonthDoc struct {
	ID   string                         `bson:"_id"`
	Days map[string]liabilitySummaryDoc `bson:"days"` // by day, YYYYMMDD
}

// liabilityMonthID is the _id in liability_days of a community's month
// (YYYYMM) of saved days.
func liabilityMonthID(communityID, month string) string { return communityID + ":" + month }

// CloseLiabilityMonth keeps the community's saved days of month (YYYYMM,
// in its zone) as one document, once: the caller says the month is over,
// with a day's margin, so no run of the job saves one of its days again.
// Insert-once, and two replicas read the same days, so a repeat or a race
// stores the same document.
func (s *Store) CloseLiabilityMonth(ctx context.Context, communityID, month string) error {
	var m liabilityMonthDoc
	err := s.findByID(ctx, colLiabilityDays, liabilityMonthID(communityID, month), &m)
	if !errors.Is(err, models.ErrNotFound) {
		return err // closed already, or a failure
	}
	if m, err = s.readLiabilityMonth(ctx, communityID, month); err != nil {
		return err
	}
	if err := s.insert(ctx, colLiabilityDays, m); err != nil && !errors.Is(err, models.ErrConflict) {
		return err
	}
	return nil
}

// readLiabilityMonth reads the community's saved days of month (YYYYMM)
// one by one, as the month's document keeps them.
func (s *Store) readLiabilityMonth(ctx context.Context, communityID, month string) (liabilityMonthDoc, error) {
	start, err := time.Parse("200601", month)
	if err != nil {
		return liabilityMonthDoc{}, fmt.Errorf("store: liability month %q: %w", month, err)
	}
	var days []string
	for d := start; d.Month() == start.Month(); d = d.AddDate(0, 0, 1) {
		days = append(days, d.Format("20060102"))
	}
	found, err := s.liabilityDaysByDay(ctx, communityID, days)
	if err != nil {
		return liabilityMonthDoc{}, err
	}
	m := liabilityMonthDoc{
		ID:   liabilityMonthID(communityID, month),
		Days: map[string]liabilitySummaryDoc{},
	}
	for i, d := range found {
		if d != nil {
			m.Days[days[i]] = *d
		}
	}
	return m, nil
}

// LiabilityDays returns the community's saved liability on each of days
// (YYYYMMDD) that has one, by day: a closed month's days from its one
// document (CloseLiabilityMonth), the others looked up by _id one by one.
// Its cost is a lookup a month and one a day of the months not closed,
// whatever the history.
func (s *Store) LiabilityDays(ctx context.Context, communityID string, days []string) (map[string]models.LiabilitySummary, error) {
	var months, ids []string // the months of days, each once, and their documents' ids
	for _, day := range days {
		if m := day[:min(6, len(day))]; !slices.Contains(months, m) {
			months = append(months, m)
			ids = append(ids, liabilityMonthID(communityID, m))
		}
	}
	closed, err := findEach[liabilityMonthDoc](ctx, s, colLiabilityDays, ids)
	if err != nil {
		return nil, err
	}
	out := map[string]models.LiabilitySummary{}
	var open []string // days of months not closed
	for _, day := range days {
		m := closed[slices.Index(months, day[:min(6, len(day))])]
		if m == nil {
			open = append(open, day)
			continue
		}
		if d, ok := m.Days[day]; ok {
			out[day] = d.model(communityID)
		}
	}
	found, err := s.liabilityDaysByDay(ctx, communityID, open)
	if err != nil {
		return nil, err
	}
	for i, d := range found {
		if d != nil {
			out[open[i]] = d.model(communityID)
		}
	}
	return out, nil
}

// liabilityDaysByDay looks each of days up by _id (findEach): found[i]
// is days[i]'s saved liability, nil if it has none.
func (s *Store) liabilityDaysByDay(ctx context.Context, communityID string, days []string) ([]*liabilitySummaryDoc, error) {
	ids := make([]string, len(days))
	for i, day := range days {
		ids[i] = liabilityDayID(communityID, day)
	}
	return findEach[liabilitySummaryDoc](ctx, s, colLiabilityDays, ids)
}
