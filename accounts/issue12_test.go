package accounts_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/linli-community/linli/accounts"
	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/models"
)

// Issue 12.5: Adjust and Reverse clean their own input, so a caller that
// is not the HTTP handler (a job, an import, a seed) cannot post a zero or
// negative award, or one with a blank, overlong or control-character
// reason; nothing moves when they refuse, and what they accept is trimmed.
func TestIssue12_5_AdjustAndReverseCleanTheirOwnInput(t *testing.T) {
	t.Parallel()
	acc, e := newAccounts(t)
	idem := func(key string) community.Idempotency {
		return community.Idempotency{
			Key:  key,
			OpID: "k:" + e.Staff.ResidentID + ":" + key,
			Hash: "h-" + key,
		}
	}
	good := accounts.Adjustment{
		ResidentID: "r1",
		Points:     10,
		Category:   "好人好事",
		Reason:     "扶老人过马路",
	}
	bad := map[string]func(a *accounts.Adjustment){
		"zero points":          func(a *accounts.Adjustment) { a.Points = 0 },
		"negative points":      func(a *accounts.Adjustment) { a.Points = -50 },
		"points past the max":  func(a *accounts.Adjustment) { a.Points = models.MaxAmount + 1 },
		"blank category":       func(a *accounts.Adjustment) { a.Category = "   " },
		"category too long":    func(a *accounts.Adjustment) { a.Category = strings.Repeat("类", 41) },
		"blank reason":         func(a *accounts.Adjustment) { a.Reason = " \t " },
		"reason with controls": func(a *accounts.Adjustment) { a.Reason = "\u202e\ufeff扣分" },
	}
	for name, spoil := range bad {
		adj := good
		spoil(&adj)
		adj.Idem = idem("bad-" + name)
		if _, err := acc.Adjust(ctx, e.Staff, adj); !errors.Is(err, models.ErrValidation) {
			t.Errorf("%s: err %v, want VALIDATION", name, err)
		}
	}
	if b, err := acc.Balances(ctx, e.Staff, "r1"); err != nil || b.Points.Amount != 0 || b.Points.Seq != 0 {
		t.Fatalf("after refused adjustments: %+v %v; want nothing posted", b, err)
	}

	padded := good
	padded.Category, padded.Reason = "  好人好事 ", "\t扶老人过马路  "
	padded.Idem = idem("good")
	entry, err := acc.Adjust(ctx, e.Staff, padded)
	if err != nil {
		t.Fatal(err)
	}
	if entry.Ref != "好人好事" || entry.Reason != "扶老人过马路" || entry.Delta != 10 {
		t.Fatalf("entry %+v: want the trimmed category and reason, +10", entry)
	}

	if _, err := acc.Reverse(ctx, e.Staff, "r1", models.AssetPoints, entry.Seq, "  ", "rev"); !errors.Is(err, models.ErrValidation) {
		t.Fatalf("reverse with a blank reason: %v, want VALIDATION", err)
	}
	if b, _ := acc.Balances(ctx, e.Staff, "r1"); b.Points.Amount != 10 {
		t.Fatalf("a refused reversal moved points: balance %d", b.Points.Amount)
	}
}
