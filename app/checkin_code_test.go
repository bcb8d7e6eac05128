package main

import (
	"fmt"
	"strconv"
	"testing"
	"time"
)

// Issue 13 (activities: typing the short code as a fallback). The
// organiser's QR carries six digits (in /qr's JSON and the PNG's X-QR-Code
// header); a resident whose phone cannot scan types them and is checked
// in. Six digits are few, so each resident may try only 10 a minute: the
// 11th try is refused even with the right code, and nothing is recorded.
func TestIssue13_CheckinByTypedCode(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	staff, son, elder := w.login(phoneStaffA), w.login(phoneSonA), w.login(phoneElderA)
	now := time.Now().UTC()
	r := w.call("POST", "/api/v1/activities", staff, map[string]any{
		"title":        "探访",
		"category":     "助老",
		"place":        "活动室",
		"start":        now.Add(-time.Hour),
		"end":          now.Add(time.Hour),
		"capacity":     5,
		"max_minutes":  120,
		"self_checkin": true,
	})
	if r.Status != 201 {
		t.Fatalf("create activity: %d %s", r.Status, r.Body)
	}
	var a struct{ ID string }
	r.decode(t, &a)
	code := func() string {
		r := w.call("GET", "/api/v1/activities/"+a.ID+"/qr", staff, nil)
		var q struct{ Code string }
		r.decode(t, &q)
		if r.Status != 200 || len(q.Code) != 6 {
			t.Fatalf("qr: %d %s; want a six-digit code", r.Status, r.Body)
		}
		return q.Code
	}
	if png := w.call("GET", "/api/v1/activities/"+a.ID+"/qr.png", staff, nil); len(png.Header.Get("X-QR-Code")) != 6 {
		t.Fatalf("qr.png's X-QR-Code %q; want six digits", png.Header.Get("X-QR-Code"))
	}
	if r := w.call("POST", "/api/v1/activities/"+a.ID+"/checkin", son, map[string]string{"token": code()}, "Idempotency-Key", "typed-1"); r.Status != 201 {
		t.Fatalf("check in with the typed code: %d %s", r.Status, r.Body)
	}

	// Her guesses: ten wrong codes are each QR_INVALID, then even the
	// right one is RATE_LIMITED.
	right := code()
	n, _ := strconv.Atoi(right)
	for i := 1; i <= 10; i++ {
		wrong := fmt.Sprintf("%06d", (n+i*7919)%1_000_000)
		if r := w.call("POST", "/api/v1/activities/"+a.ID+"/checkin", elder, map[string]string{"token": wrong}, "Idempotency-Key", fmt.Sprint("guess-", i)); r.code() != "QR_INVALID" {
			t.Fatalf("guess %d: %d %s", i, r.Status, r.Body)
		}
	}
	if r := w.call("POST", "/api/v1/activities/"+a.ID+"/checkin", elder, map[string]string{"token": code()}, "Idempotency-Key", "guess-right"); r.code() != "RATE_LIMITED" || r.Status != 429 {
		t.Fatalf("the 11th try: %d %s; want 429 RATE_LIMITED", r.Status, r.Body)
	}
	// She is not checked in: checking her out is refused.
	if r := w.call("POST", "/api/v1/activities/"+a.ID+"/attendance", staff, map[string]any{"resident_id": w.ids[phoneElderA], "action": "checkout"}); r.code() == "" {
		t.Fatalf("she was checked in by a guess: %d %s", r.Status, r.Body)
	}
}
