package rewards_test

import (
	"testing"

	"github.com/linli-community/linli/community/communitytest"
	"github.com/linli-community/linli/models"
)

// A resident sees each reward with the reason she cannot have it yet, the
// same refusal a redemption would meet first, and redeeming what is
// available changes the answer as the redemption would.
func TestMyOffersSayWhyNotYet(t *testing.T) {
	t.Parallel()
	w := newRewardsWorld(t)
	merchant := func(title string, r models.Reward) models.Reward {
		r.Kind, r.Title, r.ValueFen, r.Bearer = models.RewardMerchant, title, 800, models.BearerPartner
		if r.Points == 0 {
			r.Points = 20
		}
		return w.reward(r)
	}
	open := merchant("豆浆", models.Reward{LimitMonth: 1})
	honour := merchant("红榜专享", models.Reward{HonourOnly: true})
	dear := merchant("大礼包", models.Reward{Points: 500})
	scarce := merchant("限量月饼", models.Reward{StockTotal: 1})
	p := w.resident("王奶奶", 1950, 100)
	q := w.resident("李阿姨", 1955, 100)

	want := func(who models.Principal, expect map[string]models.Code) {
		t.Helper()
		offers, err := w.rs.MyOffers(ctx, who)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]models.Code{}
		for _, o := range offers {
			got[o.Reward.ID] = ""
			if o.Refusal != nil {
				got[o.Reward.ID] = o.Refusal.Code
				if o.Refusal.Detail == "" || o.Refusal.DetailZh == "" {
					t.Errorf("%s: refusal %s without a detail in both languages: %+v", o.Reward.Title, o.Refusal.Code, o.Refusal)
				}
			}
		}
		for id, code := range expect {
			if c, ok := got[id]; !ok || c != code {
				t.Errorf("offer %s: %q (listed %v); want %q", id, c, ok, code)
			}
		}
	}
	want(p, map[string]models.Code{
		open.ID:   "",
		honour.ID: models.ErrNotEligible.Code,
		dear.ID:   models.ErrInsufficientPoints.Code,
		scarce.ID: "",
	})

	// Redeeming uses her monthly limit of the one, and the only unit of
	// the other for everyone.
	c := w.clerk("clerk-1", w.shop)
	for i, reward := range []models.Reward{open, scarce} {
		if _, err := w.rs.Scan(ctx, c, w.scanToken(p, reward), idemOf(c, "offer-scan-"+string(rune('a'+i)))); err != nil {
			t.Fatalf("scan %s: %v", reward.Title, err)
		}
	}
	want(p, map[string]models.Code{open.ID: models.ErrLimitReached.Code, scarce.ID: models.ErrSoldOut.Code})
	want(q, map[string]models.Code{open.ID: "", scarce.ID: models.ErrSoldOut.Code})

	// The answer is the redemption's own: the refused ones are refused so.
	_, err := w.rs.Scan(ctx, c, w.scanToken(p, open), idemOf(c, "offer-scan-again"))
	communitytest.WantCode(t, "over the monthly limit", err, models.ErrLimitReached)
	if _, err := w.rs.MyOffers(ctx, models.Principal{CommunityID: p.CommunityID, Roles: []models.Role{models.RoleStaff}}); models.CodeOf(err) != models.ErrForbidden.Code {
		t.Fatalf("offers for a principal without a resident: %v", err)
	}
}

// A parent's plates and coming bookings read back, to the parent and to a
// child whose family link staff verified, with each booking's status as
// its cancel marks decide it; anyone else is refused.
func TestFilialVisitsReadBack(t *testing.T) {
	t.Parallel()
	w := newRewardsWorld(t)
	elder := w.resident("老周", 1944, 0)
	son := w.resident("小周", 1979, 0)
	stranger := w.resident("路人", 1980, 0)
	const saturday, sunday = "2026-11-28", "2026-11-29"
	for _, pl := range []string{"沪C20000", "沪C20001"} {
		if _, err := w.rs.RegisterFilialPlate(ctx, elder, "", pl); err != nil {
			t.Fatal(err)
		}
	}
	sat, err := w.rs.BookFilialVisit(ctx, elder, "沪C20000", saturday)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.rs.BookFilialVisit(ctx, elder, "沪C20001", sunday); err != nil {
		t.Fatal(err)
	}
	if _, err := w.rs.CancelFilialVisit(ctx, elder, sat.ID, idemOf(elder, "cancel-sat")); err != nil {
		t.Fatal(err)
	}

	_, err = w.rs.MyFilialVisits(ctx, son, elder.ResidentID)
	communitytest.WantCode(t, "a child without a family link", err, models.ErrForbidden)
	_, err = w.rs.MyFilialVisits(ctx, stranger, elder.ResidentID)
	communitytest.WantCode(t, "a stranger", err, models.ErrForbidden)
	if _, err := w.cs.AddFamilyLink(ctx, w.staff, elder.ResidentID, son.ResidentID, models.RelationChild); err != nil {
		t.Fatal(err)
	}
	if _, err := w.cs.VerifyFamilyLink(ctx, w.staff, elder.ResidentID, son.ResidentID); err != nil {
		t.Fatal(err)
	}
	for who, p := range map[string]models.Principal{"the parent": elder, "her verified son": son} {
		parent := elder.ResidentID
		if who == "the parent" {
			parent = "" // the caller
		}
		v, err := w.rs.MyFilialVisits(ctx, p, parent)
		if err != nil {
			t.Fatalf("%s: %v", who, err)
		}
		if len(v.Plates) != 2 || len(v.Bookings) != 2 || v.ParentID != elder.ResidentID {
			t.Fatalf("%s sees %d plates and %d bookings of %s; want 2 and 2 of %s", who, len(v.Plates), len(v.Bookings), v.ParentID, elder.ResidentID)
		}
		if b := v.Bookings[0]; b.Day != saturday || !b.Cancelled {
			t.Fatalf("%s: the first booking is %+v; want Saturday's, cancelled", who, b)
		}
		if b := v.Bookings[1]; b.Day != sunday || b.Cancelled || b.Bay == 0 {
			t.Fatalf("%s: the second booking is %+v; want Sunday's, booked, with a bay", who, b)
		}
	}
}
