package models

import "time"

// LiabilitySummary is a community's points liability as the liability job
// last summed it from every resident's ledger (docs/PERFORMANCE.md, "The
// liability summary"): what residents hold, what redemptions hold, and what the
// monthly expiry would take by 30, 60 and 90 days after At.
type LiabilitySummary struct {
	CommunityID string
	At          time.Time // when the job summed it
	Residents   int       // with a points balance
	Outstanding int64     // sum of the residents' points balances
	Held        int64     // in redemptions neither fulfilled nor given back
	Expiring30  int64
	Expiring60  int64
	Expiring90  int64
	Entries     int64 // entries counted, over all accounts
}
