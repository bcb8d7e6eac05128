package main

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
)

type rewardListJSON struct {
	Rewards []struct {
		ID        string `json:"id"`
		Kind      string `json:"kind"`
		Title     string `json:"title"`
		PartnerID string `json:"partner_id"`
		Points    int64  `json:"points"`
	} `json:"rewards"`
}

func (w *world) rewardOf(token, kind string) (id string, points int64) {
	w.t.Helper()
	r := w.call("GET", "/api/v1/rewards", token, nil)
	if r.Status != 200 {
		w.t.Fatalf("rewards: %d %s", r.Status, r.Body)
	}
	var list rewardListJSON
	r.decode(w.t, &list)
	for _, reward := range list.Rewards {
		if reward.Kind == kind {
			return reward.ID, reward.Points
		}
	}
	w.t.Fatalf("no %s reward in the demo", kind)
	return "", 0
}

// The merchant flow over HTTP: the resident shows a QR code, two clerks
// scan it at once, one redemption results and the reply masks the name.
func TestMerchantScanOverHTTP(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	son := w.login(phoneSonA)
	clerk := w.login(phoneClerkA)
	rewardID, cost := w.rewardOf(son, "merchant")
	before, _ := w.points(w.ids[phoneSonA])

	png := w.call("GET", "/api/v1/rewards/"+rewardID+"/qr.png", son, nil)
	if png.Status != 200 || png.Header.Get("Content-Type") != "image/png" || !bytes.HasPrefix(png.Body, []byte("\x89PNG")) {
		t.Fatalf("qr.png: %d %s", png.Status, png.Header.Get("Content-Type"))
	}
	r := w.call("POST", "/api/v1/rewards/"+rewardID+"/qr", son, nil)
	if r.Status != http.StatusCreated {
		t.Fatalf("qr: %d %s", r.Status, r.Body)
	}
	var qr struct {
		Token   string    `json:"token"`
		Expires time.Time `json:"expires"`
	}
	r.decode(t, &qr)
	if d := time.Until(qr.Expires); d > 5*time.Minute+time.Second || d <= 0 {
		t.Fatalf("token expires in %v", d)
	}

	replies := make([]reply, 4)
	atonce.Run(len(replies), func(i int) {
		replies[i] = w.call("POST", "/api/v1/merchant/scans", clerk, map[string]string{"token": qr.Token},
			"Idempotency-Key", "scan-key-"+string(rune('a'+i))+"-0001")
	})
	ok, again := 0, 0
	for _, r := range replies {
		switch {
		case r.Status == http.StatusCreated:
			ok++
			var out struct {
				Resident string `json:"resident"`
				Title    string `json:"title"`
			}
			r.decode(t, &out)
			if out.Resident != "王**" || out.Title == "" || bytes.Contains(r.Body, []byte(w.ids[phoneSonA])) {
				t.Fatalf("scan reply shows too much or too little: %s", r.Body)
			}
		case r.Status == http.StatusConflict && r.code() == "ALREADY_REDEEMED":
			again++
		default:
			t.Fatalf("scan: %d %s", r.Status, r.Body)
		}
	}
	if ok != 1 || again != 3 {
		t.Fatalf("%d redeemed, %d ALREADY_REDEEMED; want 1 and 3", ok, again)
	}
	if after, _ := w.points(w.ids[phoneSonA]); after != before-cost {
		t.Fatalf("points %d → %d; want one debit of %d", before, after, cost)
	}
	r = w.call("POST", "/api/v1/merchant/scans", clerk, map[string]string{"token": "bm90IGEgdG9rZW4.AAAA"}, "Idempotency-Key", "scan-forged-01")
	if r.Status != http.StatusBadRequest || r.code() != "TOKEN_INVALID" {
		t.Fatalf("forged: %d %s", r.Status, r.Body)
	}
	// A resident may not scan; the clerk lists the day's redemptions.
	r = w.call("POST", "/api/v1/merchant/scans", son, map[string]string{"token": qr.Token}, "Idempotency-Key", "scan-self-0001")
	if r.Status != http.StatusForbidden {
		t.Fatalf("resident scanning: %d %s", r.Status, r.Body)
	}
	r = w.call("GET", "/api/v1/merchant/redemptions", clerk, nil)
	if r.Status != 200 || !bytes.Contains(r.Body, []byte(`"status":"fulfilled"`)) {
		t.Fatalf("clerk's day: %d %s", r.Status, r.Body)
	}
	w.mustAudit()
}

// A property-fee credit over HTTP: redeem, the property company applies it
// to a bill, voids the bill, and the credit is pending again.
func TestPropertyFeeCreditOverHTTP(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	staff := w.login(phoneStaffA)
	elder := w.ids[phoneElderA]
	r := w.call("POST", "/api/v1/residents/"+elder+"/points/adjustments", staff, award(200, "award"), "Idempotency-Key", "fee-award-01")
	if r.Status != http.StatusCreated {
		t.Fatalf("award: %d %s", r.Status, r.Body)
	}
	granny := w.login(phoneElderA)
	rewardID, _ := w.rewardOf(granny, "property_fee")
	r = w.call("POST", "/api/v1/rewards/"+rewardID+"/redemptions", granny, nil)
	if r.Status != http.StatusBadRequest || r.code() != "IDEMPOTENCY_KEY_REQUIRED" {
		t.Fatalf("without key: %d %s", r.Status, r.Body)
	}
	r = w.call("POST", "/api/v1/rewards/"+rewardID+"/redemptions", granny, nil, "Idempotency-Key", "fee-redeem-01")
	if r.Status != http.StatusCreated {
		t.Fatalf("redeem: %d %s", r.Status, r.Body)
	}
	var redemption struct {
		ID, Code, Status string
	}
	r.decode(t, &redemption)
	again := w.call("POST", "/api/v1/rewards/"+rewardID+"/redemptions", granny, nil, "Idempotency-Key", "fee-redeem-01")
	if again.Status != http.StatusCreated || !bytes.Equal(again.Body, r.Body) {
		t.Fatalf("repeat: %d %s", again.Status, again.Body)
	}
	pm := w.login(phonePartnerA)
	r = w.call("GET", "/api/v1/partner/credits", pm, nil)
	if r.Status != 200 || !bytes.Contains(r.Body, []byte(redemption.ID)) {
		t.Fatalf("pending: %d %s", r.Status, r.Body)
	}
	r = w.call("POST", "/api/v1/partner/credits/"+redemption.ID+"/apply", pm, map[string]string{"bill_no": "WY-2026-11-0301", "bill_date": "2026-11-30"}, "Idempotency-Key", "apply-0001")
	if r.Status != 200 || !bytes.Contains(r.Body, []byte(`"status":"fulfilled"`)) {
		t.Fatalf("apply: %d %s", r.Status, r.Body)
	}
	r = w.call("POST", "/api/v1/partner/credits/"+redemption.ID+"/void", pm, map[string]string{"reason": "账单作废"}, "Idempotency-Key", "void-0001")
	if r.Status != 200 || !bytes.Contains(r.Body, []byte(`"status":"held"`)) || !bytes.Contains(r.Body, []byte(`"generation":2`)) {
		t.Fatalf("void: %d %s", r.Status, r.Body)
	}
	// The resident cannot touch the partner routes; the clerk neither.
	if r := w.call("GET", "/api/v1/partner/credits", granny, nil); r.Status != http.StatusForbidden {
		t.Fatalf("resident on partner route: %d", r.Status)
	}
	// Cancel returns the points.
	before, _ := w.points(elder)
	r = w.call("POST", "/api/v1/redemptions/"+redemption.ID+"/cancel", granny, nil, "Idempotency-Key", "cancel-0001")
	if r.Status != 200 || !bytes.Contains(r.Body, []byte(`"status":"cancelled"`)) {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}
	if after, _ := w.points(elder); after != before+200 {
		t.Fatalf("points %d → %d after cancel", before, after)
	}
	n, err := w.sys.rewards.ExpireHolds(context.Background(), time.Now().AddDate(0, 1, 0))
	if err != nil || n != 0 {
		t.Fatalf("expiry after cancel: %d %v", n, err)
	}
	w.mustAudit()
}

// Staff add an honour-roll-only reward over HTTP; a resident who is not
// listed is refused with 403 NOT_ELIGIBLE naming the rule, and moves nothing.
func TestIneligibleRefusedOverHTTP(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	staff := w.login(phoneStaffA)
	son := w.login(phoneSonA)
	var partners struct {
		Items []struct {
			ID   string `json:"id"`
			Kind string `json:"kind"`
		} `json:"items"`
	}
	r := w.call("GET", "/api/v1/partners", staff, nil)
	if r.Status != 200 {
		t.Fatalf("partners: %d %s", r.Status, r.Body)
	}
	r.decode(t, &partners)
	parking := ""
	for _, p := range partners.Items {
		if p.Kind == "parking" {
			parking = p.ID
		}
	}
	body := map[string]any{
		"kind":        "parking",
		"title":       "红榜停车优惠",
		"partner_id":  parking,
		"points":      10,
		"value_fen":   500,
		"bearer":      "community",
		"honour_only": true,
	}
	if r := w.call("POST", "/api/v1/rewards", son, body); r.Status != http.StatusForbidden {
		t.Fatalf("resident creating a reward: %d %s", r.Status, r.Body)
	}
	r = w.call("POST", "/api/v1/rewards", staff, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("create reward: %d %s", r.Status, r.Body)
	}
	var reward struct {
		ID string `json:"id"`
	}
	r.decode(t, &reward)
	before, _ := w.points(w.ids[phoneSonA])
	r = w.call("POST", "/api/v1/rewards/"+reward.ID+"/redemptions", son, nil, "Idempotency-Key", "honour-only-1")
	if r.Status != http.StatusForbidden || r.code() != "NOT_ELIGIBLE" || !bytes.Contains(r.Body, []byte("honour_roll")) {
		t.Fatalf("not listed: %d %s", r.Status, r.Body)
	}
	if after, _ := w.points(w.ids[phoneSonA]); after != before {
		t.Fatalf("points moved: %d → %d", before, after)
	}
	// Another community's resident does not even see the reward.
	if r := w.call("GET", "/api/v1/rewards/"+reward.ID, w.login(phoneResidentB), nil); r.Status != http.StatusNotFound {
		t.Fatalf("other community: %d %s", r.Status, r.Body)
	}
}
