package store

import (
	"context"
	"errors"
	"time"

	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
	"golang.org/x/sync/errgroup"
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

// LiabilityDays returns the community's saved liability on each of days
// (YYYYMMDD) that has one, by day, looking each up by _id (eight at a
// time): its cost is the number of days, whatever the history.
func (s *Store) LiabilityDays(ctx context.Context, communityID string, days []string) (map[string]models.LiabilitySummary, error) {
	found := make([]*liabilitySummaryDoc, len(days))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, day := range days {
		g.Go(func() error {
			var d liabilitySummaryDoc
			err := s.findByID(gctx, colLiabilityDays, liabilityDayID(communityID, day), &d)
			if errors.Is(err, models.ErrNotFound) {
				return nil
			}
			if err == nil {
				found[i] = &d
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := map[string]models.LiabilitySummary{}
	for i, d := range found {
		if d != nil {
			out[days[i]] = d.model(communityID)
		}
	}
	return out, nil
}
