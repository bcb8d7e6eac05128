package store

import (
	"context"
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

type earnedDoc struct {
	Month  string `bson:"m"`
	Points int64  `bson:"p"`
}

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

func (d liabilityAccountDoc) model() ledger.Summary {
	s := ledger.Summary{Account: models.AccountOf(d.Resident, models.AssetPoints), Seq: d.Seq, Balance: d.Balance,
		Spent: d.Spent, Expired: d.Expired, Earned: map[string]int64{}}
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
	d := liabilityAccountDoc{ID: id, Community: communityID, Resident: sum.Account.ResidentID, Seq: sum.Seq,
		Balance: sum.Balance, Spent: sum.Spent, Expired: sum.Expired, Earned: []earnedDoc{}}
	for m, p := range sum.Earned {
		d.Earned = append(d.Earned, earnedDoc{Month: m, Points: p})
	}
	return s.replaceByID(ctx, colLiabilityAccounts, id, d, true)
}

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
	return models.LiabilitySummary{CommunityID: d.ID, At: d.At.UTC(), Residents: d.Residents, Outstanding: d.Outstanding,
		Held: d.Held, Expiring30: d.Expiring30, Expiring60: d.Expiring60, Expiring90: d.Expiring90, Entries: d.Entries}, nil
}

// SaveLiabilitySummary saves the community's liability as summed at l.At.
func (s *Store) SaveLiabilitySummary(ctx context.Context, l models.LiabilitySummary) error {
	return s.replaceByID(ctx, colLiabilitySummaries, l.CommunityID, liabilitySummaryDoc{ID: l.CommunityID, At: l.At,
		Residents: l.Residents, Outstanding: l.Outstanding, Held: l.Held, Expiring30: l.Expiring30,
		Expiring60: l.Expiring60, Expiring90: l.Expiring90, Entries: l.Entries}, true)
}
