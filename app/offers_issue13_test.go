package main

import (
	"strings"
	"testing"
)

// Issue 13 (rewards with the reason I can't have one yet). A parking
// reduction is for the household's registered car: /me/rewards says so
// for a household without a plate (the refusal the redemption meets, not
// a 兑换 button that then fails), and offers it once staff register one.
func TestIssue13_MyRewardsSaysParkingNeedsAPlate(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	elder := w.ids[phoneElderA]
	staff := w.login(phoneStaffA)
	if r := w.call("POST", "/api/v1/residents/"+elder+"/points/adjustments", staff, map[string]any{
		"points":    100,
		"direction": "award",
		"category":  "好人好事",
		"reason":    "楼道清扫",
	}, "Idempotency-Key", "award-plate-1"); r.Status != 201 && r.Status != 200 {
		t.Fatalf("award: %d %s", r.Status, r.Body)
	}
	type offer struct {
		ID, Kind  string
		Available bool
		Refusal   *struct{ Code, Detail string }
	}
	parking := func() offer {
		var cat struct{ Rewards []offer }
		w.call("GET", "/api/v1/me/rewards", w.login(phoneElderA), nil).decode(t, &cat)
		for _, o := range cat.Rewards {
			if o.Kind == "parking" {
				return o
			}
		}
		t.Fatal("no parking reward in the catalogue")
		return offer{}
	}
	o := parking()
	if o.Available || o.Refusal == nil || o.Refusal.Code != "NOT_ELIGIBLE" || !strings.Contains(o.Refusal.Detail, "车牌") {
		t.Fatalf("parking without a plate: %+v; want NOT_ELIGIBLE saying 车牌", o)
	}
	r := w.call("POST", "/api/v1/rewards/"+o.ID+"/redemptions", w.login(phoneElderA), nil, "Idempotency-Key", "plate-redeem-1")
	if r.code() != o.Refusal.Code {
		t.Fatalf("the redemption meets %s; /me/rewards said %s", r.code(), o.Refusal.Code)
	}
	var res struct {
		HouseholdID string `json:"household_id"`
	}
	w.call("GET", "/api/v1/residents/"+elder, staff, nil).decode(t, &res)
	if r := w.call("PATCH", "/api/v1/households/"+res.HouseholdID, staff, map[string]any{"plates": []string{"沪A12345"}}); r.Status != 200 {
		t.Fatalf("register the plate: %d %s", r.Status, r.Body)
	}
	if o := parking(); !o.Available || o.Refusal != nil {
		t.Fatalf("parking with a plate: %+v; want available", o)
	}
}
