package main

import (
	"bytes"
	"context"
	"image/png"
	"testing"
	"time"

	"github.com/linli-community/linli/models"
)

// The time bank end to end over HTTP: an activity, a sign-up, QR check-in
// (foreign and forged tokens refused), organiser check-in, check-out,
// approval under the activity's cap, a family gift repeated with one key,
// and the seeded mutual-aid request paid by the community fund.
func TestTimebankOverHTTP(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	staff, son, elder, head := w.login(phoneStaffA), w.login(phoneSonA), w.login(phoneElderA), w.login(phoneHeadA)
	now := time.Now().UTC()
	mk := func(title string) string {
		r := w.call("POST", "/api/v1/activities", staff, map[string]any{
			"title":        title,
			"category":     "助老",
			"place":        "活动室",
			"start":        now.Add(-3 * time.Hour),
			"end":          now.Add(time.Hour),
			"capacity":     2,
			"max_minutes":  120,
			"self_checkin": true,
		})
		if r.Status != 201 {
			t.Fatalf("create activity: %d %s", r.Status, r.Body)
		}
		var a struct{ ID string }
		r.decode(t, &a)
		return a.ID
	}
	a, b := mk("探访"), mk("巡逻")
	if r := w.call("POST", "/api/v1/activities", son, map[string]any{"title": "x"}); r.Status != 403 {
		t.Fatalf("resident creates activity: %d", r.Status)
	}
	// Another community does not see it.
	if r := w.call("GET", "/api/v1/activities/"+a, w.login(phoneResidentB), nil); r.Status != 404 {
		t.Fatalf("community B sees A's activity: %d", r.Status)
	}
	// Sign-up is closed once the activity has started.
	if r := w.call("POST", "/api/v1/activities/"+a+"/signup", son, nil); r.code() != "SIGNUP_CLOSED" {
		t.Fatalf("sign up after start: %d %s", r.Status, r.Body)
	}
	qr := func(id string) string {
		r := w.call("GET", "/api/v1/activities/"+id+"/qr", staff, nil)
		if r.Status != 200 {
			t.Fatalf("qr: %d %s", r.Status, r.Body)
		}
		var q struct{ Token string }
		r.decode(t, &q)
		return q.Token
	}
	if r := w.call("GET", "/api/v1/activities/"+a+"/qr", son, nil); r.Status != 403 {
		t.Fatalf("resident reads the QR token: %d", r.Status)
	}
	r := w.call("GET", "/api/v1/activities/"+a+"/qr.png", staff, nil)
	if r.Status != 200 || r.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("qr.png: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	if _, err := png.Decode(bytes.NewReader(r.Body)); err != nil {
		t.Fatalf("qr.png is not a PNG: %v", err)
	}
	for tok, code := range map[string]string{
		qr(b):       "QR_WRONG_ACTIVITY",
		qr(a) + "A": "QR_INVALID",
		"garbage":   "QR_INVALID",
	} {
		if r := w.call("POST", "/api/v1/activities/"+a+"/checkin", son, map[string]string{"token": tok}); r.code() != code || r.Status != 422 {
			t.Fatalf("check in with %s: %d %s", code, r.Status, r.Body)
		}
	}
	if r := w.call("POST", "/api/v1/activities/"+a+"/checkin", son, map[string]string{"token": qr(a)}); r.Status != 201 {
		t.Fatalf("check in: %d %s", r.Status, r.Body)
	}
	if r := w.call("POST", "/api/v1/activities/"+a+"/checkin", son, map[string]string{"token": qr(a)}); r.code() != "ALREADY_CHECKED_IN" {
		t.Fatalf("second check-in: %d %s", r.Status, r.Body)
	}
	// The organiser records 张阿姨 (no phone with her) from the start.
	r = w.call("POST", "/api/v1/activities/"+a+"/attendance", staff, map[string]any{
		"resident_id": w.ids[phoneHeadA],
		"action":      "checkin",
		"at":          now.Add(-3 * time.Hour),
	})
	if r.Status != 201 {
		t.Fatalf("organiser check-in: %d %s", r.Status, r.Body)
	}
	r = w.call("POST", "/api/v1/activities/"+a+"/checkout", head, map[string]string{"token": qr(a)})
	if r.Status != 201 {
		t.Fatalf("check out: %d %s", r.Status, r.Body)
	}
	var att struct {
		Record struct {
			ID      string
			Minutes int64
			State   string
		}
	}
	r.decode(t, &att)
	if att.Record.Minutes < 179 || att.Record.State != "pending" {
		t.Fatalf("record: %+v", att.Record)
	}
	before, _ := w.sys.ledger.Balance(context.Background(), models.AccountOf(w.ids[phoneHeadA], models.AssetHours))
	if r := w.call("POST", "/api/v1/service-records/"+att.Record.ID+"/approve", son, map[string]any{}, "Idempotency-Key", "approve-0001"); r.Status != 403 {
		t.Fatalf("resident approves: %d", r.Status)
	}
	r = w.call("POST", "/api/v1/service-records/"+att.Record.ID+"/approve", staff, map[string]any{}, "Idempotency-Key", "approve-0001")
	if r.Status != 200 {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
	after, _ := w.sys.ledger.Balance(context.Background(), models.AccountOf(w.ids[phoneHeadA], models.AssetHours))
	if after.Amount-before.Amount != 120 {
		t.Fatalf("credited %d minutes, want the cap 120", after.Amount-before.Amount)
	}
	if r := w.call("GET", "/api/v1/me/service-records", head, nil); r.Status != 200 || !bytes.Contains(r.Body, []byte(`"approved"`)) {
		t.Fatalf("my records: %d %s", r.Status, r.Body)
	}
	// The service started three hours ago: its day (and month) in the
	// community's zone, which is yesterday's shortly after midnight.
	day := now.Add(-3 * time.Hour).In(w.sys.loc).Format("2006-01-02")
	if r := w.call("GET", "/api/v1/me/certificate?from="+day+"&to="+day, head, nil); r.Status != 200 || !bytes.Contains(r.Body, []byte(`"total_minutes":120`)) {
		t.Fatalf("certificate: %d %s", r.Status, r.Body)
	}
	if r := w.call("GET", "/api/v1/rankings/volunteer-hours?period="+day[:7], son, nil); r.Status != 200 || !bytes.Contains(r.Body, []byte(`"minutes":120`)) {
		t.Fatalf("ranking: %d %s", r.Status, r.Body)
	}

	// A gift to the verified, elderly mother, repeated with one key.
	giftBefore, _ := w.sys.ledger.Balance(context.Background(), models.AccountOf(w.ids[phoneElderA], models.AssetHours))
	for i := 0; i < 2; i++ {
		r = w.call("POST", "/api/v1/gifts", son, map[string]any{"to_resident_id": w.ids[phoneElderA], "minutes": 30}, "Idempotency-Key", "gift-000001")
		if r.Status != 201 {
			t.Fatalf("gift: %d %s", r.Status, r.Body)
		}
	}
	giftAfter, _ := w.sys.ledger.Balance(context.Background(), models.AccountOf(w.ids[phoneElderA], models.AssetHours))
	if giftAfter.Amount-giftBefore.Amount != 30 {
		t.Fatalf("gift moved %d", giftAfter.Amount-giftBefore.Amount)
	}
	if r := w.call("POST", "/api/v1/gifts", son, map[string]any{"to_resident_id": w.ids[phoneHeadA], "minutes": 30}, "Idempotency-Key", "gift-000002"); r.code() != "FAMILY_NOT_VERIFIED" {
		t.Fatalf("gift to a stranger: %d %s", r.Status, r.Body)
	}

	// The seeded request of 王奶奶: her son's neighbour helps; the fund pays.
	r = w.call("GET", "/api/v1/mutual-aid?limit=1", head, nil)
	var list struct {
		Posts []struct {
			ID, State string
			PosterID  string `json:"poster_id"`
			Poster    string `json:"poster_name"`
		}
	}
	r.decode(t, &list)
	// A neighbour sees the open request with a masked name and no ids.
	if len(list.Posts) != 1 || list.Posts[0].State != "open" || list.Posts[0].PosterID != "" ||
		!bytes.HasSuffix([]byte(list.Posts[0].Poster), []byte("*")) {
		t.Fatalf("mutual aid: %s", r.Body)
	}
	id := list.Posts[0].ID
	if r := w.call("POST", "/api/v1/mutual-aid/"+id+"/accept", head, nil); r.Status != 200 {
		t.Fatalf("accept: %d %s", r.Status, r.Body)
	}
	if r := w.call("POST", "/api/v1/mutual-aid/"+id+"/accept", son, nil); r.code() != "AID_STATE" {
		t.Fatalf("second accept: %d %s", r.Status, r.Body)
	}
	// Accepted, it is no business of a third resident's.
	if r := w.call("GET", "/api/v1/mutual-aid/"+id, son, nil); r.Status != 404 {
		t.Fatalf("a third resident reads an accepted post: %d %s", r.Status, r.Body)
	}
	r = w.call("POST", "/api/v1/mutual-aid/"+id+"/confirm", elder, nil, "Idempotency-Key", "confirm-0001")
	if r.Status != 200 || !bytes.Contains(r.Body, []byte(`"paid_by_fund":true`)) {
		t.Fatalf("confirm: %d %s", r.Status, r.Body)
	}
	r = w.call("GET", "/api/v1/timebank/fund", staff, nil)
	if r.Status != 200 || !bytes.Contains(r.Body, []byte(`"amount":480`)) {
		t.Fatalf("fund: %d %s", r.Status, r.Body)
	}
	w.mustAudit()
}
