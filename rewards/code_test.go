package rewards_test

import (
	"strings"
	"testing"

	"github.com/linli-community/linli/community/communitytest"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/rewards"
)

// A clerk may type the 8 characters under a merchant QR instead of
// scanning it: the short code redeems the same token, once; a mistyped or
// another community's code is refused by name, and nothing moves.
func TestClerkTypesTheShortCode(t *testing.T) {
	t.Parallel()
	w := newRewardsWorld(t)
	reward := w.reward(models.Reward{
		Kind:     models.RewardMerchant,
		Title:    "早餐套餐",
		Points:   20,
		ValueFen: 800,
		Bearer:   models.BearerPartner,
	})
	p := w.resident("王小明", 1980, 100)
	qr, err := w.rs.IssueQR(ctx, p, reward.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(qr.Code) != rewards.CounterCodeLength || strings.ContainsAny(qr.Code, "01IOL") {
		t.Fatalf("short code %q: want %d characters without 0, 1, I, O, L", qr.Code, rewards.CounterCodeLength)
	}
	other, err := w.rs.IssueQR(ctx, p, reward.ID)
	if err != nil {
		t.Fatal(err)
	}
	if other.Code == qr.Code {
		t.Fatalf("two tokens share the short code %q", qr.Code)
	}

	// Another merchant's clerk may not use it, and does not burn it.
	_, err = w.rs.ScanCode(ctx, w.clerk("other", w.shop2), qr.Code, idemOf(w.clerk("other", w.shop2), "code-other"))
	communitytest.WantCode(t, "another merchant's code", err, models.ErrForbidden)

	c := w.clerk("clerk-1", w.shop)
	for _, bad := range []string{"", "ABC", "ABCDEFGH0", "ABCD-EFG!"} {
		_, err := w.rs.ScanCode(ctx, c, bad, idemOf(c, "code-bad"))
		communitytest.WantCode(t, "malformed code "+bad, err, models.ErrValidation)
	}
	typo := []byte(qr.Code)
	typo[0] = map[bool]byte{true: '2', false: '3'}[typo[0] != '2']
	_, err = w.rs.ScanCode(ctx, c, string(typo), idemOf(c, "code-typo"))
	communitytest.WantCode(t, "mistyped code", err, models.ErrTokenInvalid)
	if w.balance(p) != 100 {
		t.Fatalf("refused codes moved points: balance %d", w.balance(p))
	}

	// Typed as a clerk would: lower case, with a space in the middle.
	typed := strings.ToLower(qr.Code[:4]) + " " + qr.Code[4:]
	res, err := w.rs.ScanCode(ctx, c, typed, idemOf(c, "code-1"))
	if err != nil {
		t.Fatalf("typed code %q: %v", typed, err)
	}
	if res.Redemption.Status != models.RedemptionFulfilled || res.MaskedName != "王**" || w.balance(p) != 80 {
		t.Fatalf("typed code redeemed %+v, balance %d", res, w.balance(p))
	}
	// The same token, by its code or scanned, is used up.
	c2 := w.clerk("clerk-2", w.shop)
	_, err = w.rs.ScanCode(ctx, c2, qr.Code, idemOf(c2, "code-2"))
	communitytest.WantCode(t, "code again", err, models.ErrAlreadyRedeemed)
	_, err = w.rs.Scan(ctx, c2, qr.Token, idemOf(c2, "scan-2"))
	communitytest.WantCode(t, "token after its code", err, models.ErrAlreadyRedeemed)
	if w.balance(p) != 80 {
		t.Fatalf("balance %d after repeats; want 80", w.balance(p))
	}
	w.mustAudit()
}
