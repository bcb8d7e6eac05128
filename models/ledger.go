package models

import (
	"fmt"
	"strings"
	"time"
)

// Asset is what an account holds.
type Asset string

const (
	// AssetHours is time-bank credit, counted in minutes.
	AssetHours Asset = "HOURS"
	// AssetPoints is incentive credit.
	AssetPoints Asset = "POINTS"
)

// ParseAsset returns the asset named s.
func ParseAsset(s string) (Asset, error) {
	switch Asset(strings.ToUpper(s)) {
	case AssetHours:
		return AssetHours, nil
	case AssetPoints:
		return AssetPoints, nil
	}
	return "", ErrValidation.Withf("asset 必须是 HOURS 或 POINTS", "asset must be HOURS or POINTS")
}

// Account names one resident's journal of one asset.
type Account struct {
	ResidentID string
	Asset      Asset
}

// AccountOf is the account of a resident for an asset.
func AccountOf(residentID string, a Asset) Account { return Account{ResidentID: residentID, Asset: a} }

// String is the account's stable key, e.g. "acct:r-7f3c:POINTS".
func (a Account) String() string { return "acct:" + a.ResidentID + ":" + string(a.Asset) }

// EntryID is the key of the seq-th entry of an account; the zero-padded seq
// keeps ids in chain order when sorted.
func (a Account) EntryID(seq int64) string { return fmt.Sprintf("%s:%012d", a, seq) }

// EntryKind says why a balance changed.
type EntryKind string

const (
	KindAward       EntryKind = "award"        // staff award (好人好事 …)
	KindDeduct      EntryKind = "deduct"       // staff deduction (扣分)
	KindService     EntryKind = "service"      // verified volunteer service
	KindHold        EntryKind = "hold"         // points held for a redemption
	KindRelease     EntryKind = "release"      // a hold given back
	KindTransferOut EntryKind = "transfer_out" // sent to another resident
	KindTransferIn  EntryKind = "transfer_in"  // received from another resident
	KindReversal    EntryKind = "reversal"     // correction of an earlier entry
	KindExpiry      EntryKind = "expiry"       // points that lapsed
	KindAllowance   EntryKind = "allowance"    // building head's monthly allowance
	KindHonour      EntryKind = "honour"       // honour-roll listing
	KindAdjustment  EntryKind = "adjustment"   // other staff adjustment
)

// Entry is one immutable change of one account. Seq runs 1, 2, 3 … without
// gaps; BalanceAfter is the balance once this entry is applied.
type Entry struct {
	Account        Account
	CommunityID    string
	Seq            int64
	Delta          int64
	BalanceAfter   int64
	Kind           EntryKind
	Ref            string // what caused it: a record, redemption or entry id
	Reason         string
	IdempotencyKey string // the client's key, as sent
	OpID           string // the scoped operation that wrote it
	PolicyVersion  int
	// Floor is the lowest balance this entry was allowed to leave: 0, or a
	// negative debt floor for mutual aid. Audit checks debits against it.
	Floor int64
	Actor string // resident id of who caused it, or "system"
	At    time.Time
}

// ID is the entry's key.
func (e Entry) ID() string { return e.Account.EntryID(e.Seq) }

// Balance is an account's state as of its last entry.
type Balance struct {
	Account Account
	Seq     int64
	Amount  int64
}
