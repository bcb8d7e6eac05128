package main

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"

	"github.com/linli-community/linli/atonce"
)

// The scenarios of issue 11.3 and 11.4 over HTTP: a resident without the
// points shows a code; two clerks' scans are refused for points (not
// ALREADY_REDEEMED), nothing is listed for the merchant or the resident;
// after a top-up the same code is redeemed once; refused redemptions
// retried with new keys leave nothing in the resident's list.
func TestIssue11_3_RefusedScanOverHTTP(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	staff, son, clerk := w.login(phoneStaffA), w.login(phoneSonA), w.login(phoneClerkA)
	sonID := w.ids[phoneSonA]
	rewardID, cost := w.rewardOf(son, "merchant")
	if have, _ := w.points(sonID); have >= cost {
		r := w.call("POST", "/api/v1/residents/"+sonID+"/points/adjustments", staff, award(int(have-cost+1), "deduct"), "Idempotency-Key", "poor-deduct-01")
		if r.Status != http.StatusCreated {
			t.Fatalf("deduct: %d %s", r.Status, r.Body)
		}
	}
	r := w.call("POST", "/api/v1/rewards/"+rewardID+"/qr", son, nil)
	if r.Status != http.StatusCreated {
		t.Fatalf("qr: %d %s", r.Status, r.Body)
	}
	var qr struct {
		Token string `json:"token"`
	}
	r.decode(t, &qr)
	for i := range 2 {
		r := w.call("POST", "/api/v1/merchant/scans", clerk, map[string]string{"token": qr.Token}, "Idempotency-Key", fmt.Sprintf("poor-scan-%04d", i))
		if r.Status != http.StatusConflict || r.code() != "INSUFFICIENT_POINTS" {
			t.Fatalf("scan %d without points: %d %s", i, r.Status, r.Body)
		}
	}
	if r := w.call("GET", "/api/v1/merchant/redemptions", clerk, nil); r.Status != 200 || bytes.Contains(r.Body, []byte(`"status"`)) {
		t.Fatalf("clerk's day after refusals: %d %s", r.Status, r.Body)
	}
	if r := w.call("GET", "/api/v1/me/redemptions", son, nil); r.Status != 200 || bytes.Contains(r.Body, []byte(`"status"`)) {
		t.Fatalf("resident's list after refusals: %d %s", r.Status, r.Body)
	}
	r = w.call("POST", "/api/v1/residents/"+sonID+"/points/adjustments", staff, award(int(cost), "award"), "Idempotency-Key", "poor-topup-01")
	if r.Status != http.StatusCreated {
		t.Fatalf("top-up: %d %s", r.Status, r.Body)
	}
	replies := make([]reply, 2)
	atonce.Run(2, func(i int) {
		replies[i] = w.call("POST", "/api/v1/merchant/scans", clerk, map[string]string{"token": qr.Token}, "Idempotency-Key", fmt.Sprintf("rich-scan-%04d", i))
	})
	ok, again := 0, 0
	for _, r := range replies {
		switch {
		case r.Status == http.StatusCreated:
			ok++
		case r.code() == "ALREADY_REDEEMED":
			again++
		default:
			t.Fatalf("scan after the top-up: %d %s", r.Status, r.Body)
		}
	}
	if ok != 1 || again != 1 {
		t.Fatalf("%d redeemed, %d ALREADY_REDEEMED; want one of each", ok, again)
	}
	if r := w.call("GET", "/api/v1/merchant/redemptions", clerk, nil); r.Status != 200 || bytes.Count(r.Body, []byte(`"status"`)) != 1 {
		t.Fatalf("clerk's day: %d %s", r.Status, r.Body)
	}
	w.mustAudit()
}

// Issue 11.4 over HTTP: refusals retried with new keys add nothing to the
// resident's list.
func TestIssue11_4_RefusedRedemptionsNotListedOverHTTP(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	staff, son := w.login(phoneStaffA), w.login(phoneSonA)
	sonID := w.ids[phoneSonA]
	rewardID, cost := w.rewardOf(son, "property_fee")
	if have, _ := w.points(sonID); have >= cost {
		r := w.call("POST", "/api/v1/residents/"+sonID+"/points/adjustments", staff, award(int(have-cost+1), "deduct"), "Idempotency-Key", "poor-deduct-02")
		if r.Status != http.StatusCreated {
			t.Fatalf("deduct: %d %s", r.Status, r.Body)
		}
	}
	before := w.call("GET", "/api/v1/me/redemptions", son, nil)
	for i := range 10 {
		r := w.call("POST", "/api/v1/rewards/"+rewardID+"/redemptions", son, nil, "Idempotency-Key", fmt.Sprintf("poor-redeem-%04d", i))
		if r.Status/100 == 2 {
			t.Fatalf("redeemed without the points: %s", r.Body)
		}
		if r.code() != "INSUFFICIENT_POINTS" {
			t.Fatalf("refusal %d: %d %s", i, r.Status, r.Body)
		}
	}
	after := w.call("GET", "/api/v1/me/redemptions", son, nil)
	if after.Status != 200 || !bytes.Equal(after.Body, before.Body) {
		t.Fatalf("the list changed after refusals:\nbefore %s\nafter  %s", before.Body, after.Body)
	}
}
