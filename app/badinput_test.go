package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/outbound"

	"github.com/gofiber/fiber/v2"
)

// Invariant 8 (docs/ARCHITECTURE.md §8) for every endpoint, and issue 11.13: malformed JSON, wrong
// types, numbers past int64, negative and zero amounts, odd unicode, a body
// on a route that takes none and missing headers get a 4xx with a stable
// code, never a 5xx, and write nothing; so do 1 MB bodies. Every write
// route is sent them with real ids, as a caller it admits, so only the
// body can refuse; the routes are walked, so an endpoint added later
// fails here until it has its real ids.
func TestEveryEndpointRefusesBadInput(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	targets := realTargets(w)
	elderID, sonID := w.ids[phoneElderA], w.ids[phoneSonA]
	before := w.counts()
	elderPts, _ := w.points(elderID)
	sonPts, _ := w.points(sonID)
	bodies := []string{
		`{`, `{not json`, `not json`, `[]`, `null`, `"str"`, `{"a":1} trailing`, `{} {}`,
		`{"points": 99999999999999999999999}`, `{"amount": -1}`, `{"points": 0}`, `{"minutes": -30}`,
		`{"points": "ten"}`, `{"phone": {"$gt": ""}}`, `{"name": "\u0000"}`, `{"reason": "\u202e\ufeff"}`,
		`{"` + strings.Repeat("k", 300) + `": 1}`,
	}
	type probe struct {
		method string
		target
	}
	var routes []probe
	probes := 0
	for _, rt := range writeRoutes(w) {
		tg, ok := targets[rt.Method+" "+rt.Path]
		if !ok {
			t.Errorf("%s %s has no real ids in realTargets: add them", rt.Method, rt.Path)
			continue
		}
		routes = append(routes, probe{rt.Method, tg})
		for _, b := range bodies {
			r := w.call(rt.Method, tg.path, tg.token, b, "Idempotency-Key", "bad-input-key-1")
			probes++
			if r.Status < 400 || r.Status >= 500 || r.code() == "" {
				t.Errorf("%s %s %q → %d %s", rt.Method, tg.path, b, r.Status, truncate(r.Body))
			}
		}
		// no content type, and no idempotency key
		r := w.call(rt.Method, tg.path, tg.token, `{}`, "Content-Type", "")
		if r.Status < 400 || r.Status >= 500 || r.code() == "" {
			t.Errorf("%s %s without Content-Type → %d %s", rt.Method, tg.path, r.Status, truncate(r.Body))
		}
	}
	if probes < 1000 {
		t.Fatalf("only %d probes: the route walk found too little", probes)
	}
	// 1 MB bodies: just under the limit (LINLI_BODY_LIMIT, 1 MiB) the
	// handlers refuse them; past it the server does, before any handler,
	// which needs a real socket (app.Test reports it as a transport error).
	underLimit := `{"reason": "` + strings.Repeat("x", 1_000_000) + `", "points": 1}`
	overLimit := `{"reason": "` + strings.Repeat("x", 1<<20) + `"}`
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = w.app.Listener(ln) }()
	for _, rt := range routes {
		if r := w.call(rt.method, rt.path, rt.token, underLimit, "Idempotency-Key", "bad-input-key-2"); r.Status < 400 || r.Status >= 500 || r.code() == "" {
			t.Errorf("%s %s, 1 MB body → %d %s", rt.method, rt.path, r.Status, truncate(r.Body))
		}
		if r := sendPastLimit(t, ln.Addr().String(), rt.method, rt.path, rt.token, overLimit); r.Status != http.StatusRequestEntityTooLarge || r.code() != "BODY_TOO_LARGE" {
			t.Errorf("%s %s, body past the limit → %d %s", rt.method, rt.path, r.Status, truncate(r.Body))
		}
	}
	_ = w.app.Shutdown()
	if after := w.counts(); !equalCounts(before, after) {
		t.Fatalf("bad input wrote something:\nbefore %v\nafter  %v", before, after)
	}
	if e, _ := w.points(elderID); e != elderPts {
		t.Fatalf("the elder's points moved on bad input: %d → %d", elderPts, e)
	}
	if s, _ := w.points(sonID); s != sonPts {
		t.Fatalf("the son's points moved on bad input: %d → %d", sonPts, s)
	}
	// Headers past the server's buffer are refused by the server itself.
	big := overSocketHeader(t, w, "GET", "/api/v1/me", strings.Repeat("x", 8000))
	if big.Status != http.StatusRequestHeaderFieldsTooLarge && big.Status != http.StatusBadRequest {
		t.Fatalf("huge header: %d %s", big.Status, big.Body)
	}
}

// Issue 11.13, the reproduction: a route that takes no body, sent one it
// cannot read as JSON, refuses it and moves nothing; with no body, or {},
// it acts.
func TestIssue11_13_NoBodyRoutesRefuseABodyOverHTTP(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	staff, son := w.login(phoneStaffA), w.login(phoneSonA)
	sonID := w.ids[phoneSonA]
	if r := w.call("POST", "/api/v1/residents/"+sonID+"/points/adjustments", staff, award(200, "award"), "Idempotency-Key", "no-body-award"); r.Status != http.StatusCreated {
		t.Fatalf("award: %d %s", r.Status, r.Body)
	}
	property, cost := w.rewardOf(son, "property_fee")
	redeem := "/api/v1/rewards/" + property + "/redemptions"
	pts, _ := w.points(sonID)
	before := w.counts()
	for i, b := range []string{`{not json`, `{"reward_id":"other"}`, `[]`, `null`} {
		r := w.call("POST", redeem, son, b, "Idempotency-Key", fmt.Sprintf("no-body-%04d", i))
		if r.Status != http.StatusBadRequest || r.code() != "INVALID_JSON" {
			t.Errorf("redeem with %q: %d %s", b, r.Status, truncate(r.Body))
		}
	}
	if r := w.call("POST", redeem, son, `{}`, "Idempotency-Key", "no-body-0010", "Content-Type", "text/plain"); r.Status != http.StatusUnsupportedMediaType {
		t.Errorf("redeem with a text body: %d %s", r.Status, truncate(r.Body))
	}
	if after := w.counts(); !equalCounts(before, after) {
		t.Fatalf("a refused body wrote something:\nbefore %v\nafter  %v", before, after)
	}
	if after, _ := w.points(sonID); after != pts {
		t.Fatalf("points %d → %d after refused bodies", pts, after)
	}
	r := w.call("POST", redeem, son, `{}`, "Idempotency-Key", "no-body-0011")
	if r.Status != http.StatusCreated {
		t.Fatalf("redeem with {}: %d %s", r.Status, truncate(r.Body))
	}
	if after, _ := w.points(sonID); pts-after != cost {
		t.Fatalf("points %d → %d; want one redemption of %d", pts, after, cost)
	}
}

// Issue 11.15: a body past the limit, refused by the server before any
// middleware, still carries a request id in the envelope and the header.
func TestIssue11_15_TooLargeCarriesARequestID(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	staff := w.login(phoneStaffA)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = w.app.Listener(ln) }()
	defer func() { _ = w.app.Shutdown() }()
	overLimit := `{"reason": "` + strings.Repeat("x", 1<<20) + `"}`
	r := sendPastLimit(t, ln.Addr().String(), "POST", "/api/v1/residents/"+w.ids[phoneSonA]+"/points/adjustments", staff, overLimit)
	var e struct {
		Error struct {
			Code      string `json:"code"`
			RequestID string `json:"request_id"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e)
	if r.Status != http.StatusRequestEntityTooLarge || e.Error.Code != "BODY_TOO_LARGE" || e.Error.RequestID == "" {
		t.Fatalf("body past the limit: %d %s; want 413 with a request id", r.Status, r.Body)
	}
	if h := r.Header.Get("X-Request-ID"); h != e.Error.RequestID {
		t.Fatalf("X-Request-ID %q, envelope %q", h, e.Error.RequestID)
	}
}

// encodeURIComponent encodes s as a browser's encodeURIComponent does, for
// the characters an id may hold.
func encodeURIComponent(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// Issue 11.22: every kind of record id, colons and all, reaches its record
// whether sent as is or percent-encoded.
func TestIssue11_22_EncodedIDsFindTheirRecords(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	targets := realTargets(w)
	staff, son := w.login(phoneStaffA), w.login(phoneSonA)
	// Attendance recorded at an activity ends in a record "att:…".
	tok := targets["POST /api/v1/activities/:id/checkin"]
	activity := strings.TrimSuffix(strings.TrimPrefix(tok.path, "/api/v1/activities/"), "/checkin")
	attend := "/api/v1/activities/" + activity + "/attendance"
	now := time.Now()
	if r := w.call("POST", attend, staff, map[string]any{
		"resident_id": w.ids[phoneSonA],
		"action":      "checkin",
		"at":          now.Add(-50 * time.Minute),
	}); r.Status != http.StatusCreated {
		t.Fatalf("check-in: %d %s", r.Status, r.Body)
	}
	r := w.call("POST", attend, staff, map[string]any{
		"resident_id": w.ids[phoneSonA],
		"action":      "checkout",
		"at":          now.Add(-time.Minute),
	})
	if r.Status != http.StatusCreated {
		t.Fatalf("check-out: %d %s", r.Status, r.Body)
	}
	var att struct {
		Record struct{ ID string } `json:"record"`
	}
	r.decode(t, &att)
	idOf := func(key, prefix, suffix string) string {
		p := targets[key].path
		return strings.TrimSuffix(strings.TrimPrefix(p, "/api/v1/"+prefix+"/"), suffix)
	}
	claim := idOf("POST /api/v1/service-records/:id/approve", "service-records", "/approve")
	gets := []struct {
		kind, prefix, id, token string
	}{
		{"claimed record", "/api/v1/service-records/", claim, son},
		{"attendance record", "/api/v1/service-records/", att.Record.ID, son},
		{"activity", "/api/v1/activities/", activity, son},
		{"redemption", "/api/v1/redemptions/", idOf("POST /api/v1/redemptions/:id/cancel", "redemptions", "/cancel"), staff},
		{"honour entry", "/api/v1/honour/entries/", idOf("POST /api/v1/honour/entries/:id/revocation", "honour/entries", "/revocation"), staff},
		{"mutual-aid post", "/api/v1/mutual-aid/", idOf("POST /api/v1/mutual-aid/:id/resolve", "mutual-aid", "/resolve"), staff},
		{"resident", "/api/v1/residents/", w.ids[phoneElderA], staff},
		{"reward", "/api/v1/rewards/", idOf("PUT /api/v1/rewards/:id", "rewards", ""), son},
		{"statement", "/api/v1/statements/", idOf("POST /api/v1/statements/:id/paid", "statements", "/paid"), staff},
	}
	colons := 0
	for _, g := range gets {
		if strings.Contains(g.id, ":") {
			colons++
		}
		raw := w.call("GET", g.prefix+g.id, g.token, nil)
		enc := w.call("GET", g.prefix+encodeURIComponent(g.id), g.token, nil)
		if raw.Status != http.StatusOK || enc.Status != http.StatusOK || !bytes.Equal(raw.Body, enc.Body) {
			t.Errorf("%s %q: as is %d, encoded %d %s", g.kind, g.id, raw.Status, enc.Status, truncate(enc.Body))
		}
	}
	if colons < 2 {
		t.Fatalf("only %d ids with a colon: the test checks too little", colons)
	}
	// A write route too: the correction's decision, on an encoded record id.
	path := "/api/v1/service-records/" + encodeURIComponent(idOf("POST /api/v1/service-records/:id/corrections", "service-records", "/corrections")) + "/corrections/1/decision"
	if r := w.call("POST", path, staff, map[string]any{"accept": true, "answer": "已核实"}, "Idempotency-Key", "encoded-0001"); r.Status != http.StatusOK {
		t.Fatalf("decision on an encoded id: %d %s", r.Status, truncate(r.Body))
	}
}

// writeRoutes are the routes that may take a body. Logout is left out:
// probing it would sign the probing tokens out and leave the other routes
// tested only for a 401.
func writeRoutes(w *world) []fiber.Route {
	var out []fiber.Route
	for _, rt := range w.app.GetRoutes(true) {
		if (rt.Method == "POST" || rt.Method == "PUT" || rt.Method == "PATCH") && rt.Path != "/api/v1/auth/logout" {
			out = append(out, rt)
		}
	}
	return out
}

// sendPastLimit sends body over a plain connection and reads the answer
// even when the server answers, and closes, before the body is written
// (which an http.Client reports as a failed write instead).
func sendPastLimit(t *testing.T, addr, method, path, token, body string) reply {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nAuthorization: Bearer %s\r\n"+
		"Idempotency-Key: bad-input-key-3\r\nContent-Length: %d\r\n\r\n", method, path, addr, token, len(body))
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.WriteString(conn, body) }() // may be cut off by the answer
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, b, resp.Header}
}

func equalCounts(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// target is a write route filled with real ids and the token of a caller
// the route admits, so that only the body can refuse a request.
type target struct {
	path, token string
}

// runningActivity is the id of the activity in list r (GET /activities)
// that runs now: the seed's one with self check-in. Today's list may also
// hold others, and more of them when the world was seeded just before the
// community's midnight and read just after it, when today is the day the
// seed called tomorrow.
func runningActivity(t *testing.T, r reply) string {
	t.Helper()
	var list struct {
		Activities []struct {
			ID    string    `json:"id"`
			Start time.Time `json:"start"`
			End   time.Time `json:"end"`
		} `json:"activities"`
	}
	r.decode(t, &list)
	now := time.Now()
	for _, a := range list.Activities {
		if !now.Before(a.Start) && now.Before(a.End) {
			return a.ID
		}
	}
	t.Fatalf("no activity running now in %s", truncate(r.Body))
	return ""
}

// jsonField returns the string field name of a JSON object reply, or of
// the first element of its list field list when list is given.
func jsonField(t *testing.T, r reply, name string, list ...string) string {
	t.Helper()
	var obj map[string]any
	r.decode(t, &obj)
	if len(list) > 0 {
		items, _ := obj[list[0]].([]any)
		if len(items) == 0 {
			t.Fatalf("no %s in %s", list[0], truncate(r.Body))
		}
		obj, _ = items[0].(map[string]any)
	}
	v, _ := obj[name].(string)
	if v == "" {
		t.Fatalf("no %s in %s", name, truncate(r.Body))
	}
	return v
}

// realTargets creates a record of every kind a write route acts on and
// returns each write route with those ids and an admitted caller.
func realTargets(w *world) map[string]target {
	t := w.t
	t.Helper()
	ctx := context.Background()
	staff, admin, head := w.login(phoneStaffA), w.login(phoneAdminA), w.login(phoneHeadA)
	elder, son, clerk, pm := w.login(phoneElderA), w.login(phoneSonA), w.login(phoneClerkA), w.login(phonePartnerA)
	elderID, sonID := w.ids[phoneElderA], w.ids[phoneSonA]
	must := func(r reply, what string) reply {
		t.Helper()
		if r.Status/100 != 2 {
			t.Fatalf("%s: %d %s", what, r.Status, truncate(r.Body))
		}
		return r
	}
	key := 0
	keyed := func(method, path, token string, body any) reply {
		t.Helper()
		key++
		return must(w.call(method, path, token, body, "Idempotency-Key", fmt.Sprintf("fixture-key-%04d", key)), path)
	}
	// Points to spend, an entry to reverse.
	keyed("POST", "/api/v1/residents/"+elderID+"/points/adjustments", staff, award(200, "award"))
	_, seq := w.points(elderID)
	// A held property-fee redemption: a credit for the partner, a
	// redemption for its resident to cancel.
	property, _ := w.rewardOf(elder, "property_fee")
	credit := jsonField(t, keyed("POST", "/api/v1/rewards/"+property+"/redemptions", elder, nil), "id")
	// A breakfast scanned at the counter, for the clerk to refund.
	merchant, _ := w.rewardOf(son, "merchant")
	token := jsonField(t, must(w.call("POST", "/api/v1/rewards/"+merchant+"/qr", son, nil), "qr"), "token")
	scanned := jsonField(t, keyed("POST", "/api/v1/merchant/scans", clerk, map[string]string{"token": token}), "redemption_id")
	// Last month's statement of the breakfast shop.
	resident := func(id string) models.Resident {
		t.Helper()
		r, err := w.sys.store.Resident(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	shopID := resident(w.ids[phoneClerkA]).MerchantID
	prev := models.MonthOf(time.Now(), w.sys.loc).Previous()
	if err := w.sys.store.RecordSettlementEvent(ctx, models.SettlementEvent{
		ID:           "fulfil:fixture",
		CommunityID:  w.communityA(),
		PartnerID:    shopID,
		Kind:         models.EventFulfilled,
		RedemptionID: "fixture",
		ResidentID:   sonID,
		Description:  "早餐套餐",
		ValueFen:     800,
		Bearer:       models.BearerPartner,
		At:           prev.Start(w.sys.loc).Add(36 * time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.sys.settlement.SettleMonth(ctx, prev); err != nil {
		t.Fatal(err)
	}
	statement := jsonField(t, must(w.call("GET", "/api/v1/statements?month="+prev.String(), clerk, nil), "statements"), "id", "statements")
	// An activity, two claimed service records (one approved, with a
	// correction asked for), a mutual-aid post.
	activity := runningActivity(t, must(w.call("GET", "/api/v1/activities", son, nil), "activities"))
	start := time.Now().Add(-6 * time.Hour).Truncate(time.Minute)
	claim := func(from time.Time) string {
		return jsonField(t, keyed("POST", "/api/v1/service-records", son, map[string]any{
			"category":     "助老",
			"organisation": "居委会",
			"description":  "陪老人就医",
			"start":        from,
			"end":          from.Add(time.Hour),
		}), "id")
	}
	pending, approved := claim(start), claim(start.Add(2*time.Hour))
	keyed("POST", "/api/v1/service-records/"+approved+"/approve", staff, map[string]any{})
	must(w.call("POST", "/api/v1/service-records/"+approved+"/corrections", son, map[string]any{"minutes": 70, "reason": "签退晚了"}), "correction")
	aid := jsonField(t, must(w.call("GET", "/api/v1/mutual-aid", elder, nil), "aid"), "id", "posts")
	// Honour: an entry in notice with an objection, a listed entry, a head
	// term and a duty to rule.
	notice := jsonField(t, must(w.call("GET", "/api/v1/honour/entries?status=notice", staff, nil), "notice"), "id", "entries")
	listed := jsonField(t, must(w.call("GET", "/api/v1/honour/entries?status=listed", staff, nil), "listed"), "id", "entries")
	objection := jsonField(t, must(w.call("POST", "/api/v1/honour/entries/"+notice+"/objections", son, map[string]string{"reason": "需要核实"}), "objection"), "id")
	term := jsonField(t, must(w.call("GET", "/api/v1/head-terms", staff, nil), "terms"), "id", "terms")
	var duties struct {
		Duties []struct{ ID, Status string } `json:"duties"`
	}
	must(w.call("GET", "/api/v1/duties", staff, nil), "duties").decode(t, &duties)
	duty := ""
	for _, d := range duties.Duties {
		if d.Status != "confirmed" {
			duty = d.ID
		}
	}
	if duty == "" {
		t.Fatalf("no duty to rule in %+v", duties)
	}
	// A filial-visit booking for the demo's plate on the next Saturday (the
	// default visiting day), for its booker to cancel.
	saturday := time.Now().In(w.sys.loc).AddDate(0, 0, 1)
	for saturday.Weekday() != time.Saturday {
		saturday = saturday.AddDate(0, 0, 1)
	}
	booking := jsonField(t, must(w.call("POST", "/api/v1/filial/bookings", elder, map[string]string{"plate": "沪B66688",
		"day": saturday.Format("2006-01-02")}), "filial booking"), "id")
	building := jsonField(t, must(w.call("GET", "/api/v1/buildings", staff, nil), "buildings"), "id", "items")
	household := resident(elderID).HouseholdID
	year := strconv.Itoa(time.Now().Year())
	// A notification for the elder to read, a dead letter for staff to retry.
	note, err := w.sys.inbox.Notify(ctx, models.Notice{
		Kind:        models.NoticePointsAwarded,
		EventID:     "fixture",
		Recipient:   elderID,
		CommunityID: w.communityA(),
	})
	if err != nil {
		t.Fatal(err)
	}
	dead := outbound.DeadLetter{
		ID:          outbound.DeadLetterID("webhook", note.ID, 1),
		Sender:      "webhook",
		MessageID:   note.ID,
		CommunityID: w.communityA(),
		Recipient:   elderID,
		Kind:        string(note.Kind),
		Generation:  1,
		Attempts:    8,
		At:          time.Now(),
	}
	if err := w.sys.store.InsertDeadLetter(ctx, dead); err != nil {
		t.Fatal(err)
	}

	v1 := "/api/v1"
	return map[string]target{
		"POST /api/v1/auth/login":                                        {v1 + "/auth/login", ""},
		"POST /api/v1/auth/refresh":                                      {v1 + "/auth/refresh", ""},
		"POST /api/v1/auth/logout":                                       {v1 + "/auth/logout", elder},
		"POST /api/v1/communities":                                       {v1 + "/communities", admin},
		"POST /api/v1/buildings":                                         {v1 + "/buildings", staff},
		"PATCH /api/v1/buildings/:id":                                    {v1 + "/buildings/" + building, staff},
		"PUT /api/v1/buildings/:id/head":                                 {v1 + "/buildings/" + building + "/head", staff},
		"POST /api/v1/households":                                        {v1 + "/households", staff},
		"PATCH /api/v1/households/:id":                                   {v1 + "/households/" + household, staff},
		"POST /api/v1/residents":                                         {v1 + "/residents", staff},
		"PATCH /api/v1/residents/:id":                                    {v1 + "/residents/" + elderID, staff},
		"POST /api/v1/residents/:id/family":                              {v1 + "/residents/" + sonID + "/family", staff},
		"POST /api/v1/residents/:id/family/:relative/verify":             {v1 + "/residents/" + sonID + "/family/" + elderID + "/verify", staff},
		"POST /api/v1/residents/:id/moved-away":                          {v1 + "/residents/" + sonID + "/moved-away", staff},
		"POST /api/v1/partners":                                          {v1 + "/partners", staff},
		"POST /api/v1/imports/households":                                {v1 + "/imports/households", staff},
		"POST /api/v1/imports/residents":                                 {v1 + "/imports/residents", staff},
		"POST /api/v1/imports/households/preview":                        {v1 + "/imports/households/preview", staff},
		"POST /api/v1/imports/residents/preview":                         {v1 + "/imports/residents/preview", staff},
		"POST /api/v1/jobs/:name/runs":                                   {v1 + "/jobs/honour-listing/runs", admin},
		"POST /api/v1/residents/:id/points/adjustments":                  {v1 + "/residents/" + elderID + "/points/adjustments", staff},
		"POST /api/v1/residents/:id/ledger/:asset/entries/:seq/reversal": {v1 + "/residents/" + elderID + "/ledger/POINTS/entries/" + strconv.FormatInt(seq, 10) + "/reversal", staff},
		"POST /api/v1/policy/versions":                                   {v1 + "/policy/versions", staff},
		"POST /api/v1/statements/:id/confirm":                            {v1 + "/statements/" + statement + "/confirm", clerk},
		"POST /api/v1/statements/:id/paid":                               {v1 + "/statements/" + statement + "/paid", staff},
		"POST /api/v1/rewards":                                           {v1 + "/rewards", staff},
		"PUT /api/v1/rewards/:id":                                        {v1 + "/rewards/" + merchant, staff},
		"POST /api/v1/rewards/:id/redemptions":                           {v1 + "/rewards/" + property + "/redemptions", elder},
		"POST /api/v1/rewards/:id/qr":                                    {v1 + "/rewards/" + merchant + "/qr", son},
		"POST /api/v1/redemptions/:id/cancel":                            {v1 + "/redemptions/" + credit + "/cancel", elder},
		"POST /api/v1/partner/credits/:id/apply":                         {v1 + "/partner/credits/" + credit + "/apply", pm},
		"POST /api/v1/partner/credits/:id/void":                          {v1 + "/partner/credits/" + credit + "/void", pm},
		"POST /api/v1/merchant/scans":                                    {v1 + "/merchant/scans", clerk},
		"POST /api/v1/merchant/redemptions/:id/refund":                   {v1 + "/merchant/redemptions/" + scanned + "/refund", clerk},
		"POST /api/v1/filial/plates":                                     {v1 + "/filial/plates", elder},
		"POST /api/v1/filial/bookings":                                   {v1 + "/filial/bookings", elder},
		"POST /api/v1/filial/bookings/:id/cancel":                        {v1 + "/filial/bookings/" + booking + "/cancel", elder},
		"POST /api/v1/parking/gate-events":                               {v1 + "/parking/gate-events", w.login("13800000009")},
		"POST /api/v1/honour/nominations":                                {v1 + "/honour/nominations", staff},
		"POST /api/v1/honour/entries/:id/objections":                     {v1 + "/honour/entries/" + notice + "/objections", elder},
		"POST /api/v1/honour/objections/:id/ruling":                      {v1 + "/honour/objections/" + objection + "/ruling", staff},
		"POST /api/v1/honour/entries/:id/revocation":                     {v1 + "/honour/entries/" + listed + "/revocation", staff},
		"POST /api/v1/honour/entries/:id/appeal":                         {v1 + "/honour/entries/" + listed + "/appeal", son},
		"POST /api/v1/honour/entries/:id/appeal/decision":                {v1 + "/honour/entries/" + listed + "/appeal/decision", staff},
		"PUT /api/v1/honour/entries/:id/visibility":                      {v1 + "/honour/entries/" + listed + "/visibility", staff},
		"POST /api/v1/head-terms":                                        {v1 + "/head-terms", staff},
		"POST /api/v1/head-terms/:id/end":                                {v1 + "/head-terms/" + term + "/end", staff},
		"POST /api/v1/duties":                                            {v1 + "/duties", head},
		"POST /api/v1/duties/:id/ruling":                                 {v1 + "/duties/" + duty + "/ruling", staff},
		"POST /api/v1/households/:id/star/:year/lowering":                {v1 + "/households/" + household + "/star/" + year + "/lowering", staff},
		"POST /api/v1/activities":                                        {v1 + "/activities", staff},
		"POST /api/v1/activities/:id/signup":                             {v1 + "/activities/" + activity + "/signup", son},
		"POST /api/v1/activities/:id/signup/cancel":                      {v1 + "/activities/" + activity + "/signup/cancel", son},
		"POST /api/v1/activities/:id/checkin":                            {v1 + "/activities/" + activity + "/checkin", son},
		"POST /api/v1/activities/:id/checkout":                           {v1 + "/activities/" + activity + "/checkout", son},
		"POST /api/v1/activities/:id/attendance":                         {v1 + "/activities/" + activity + "/attendance", staff},
		"POST /api/v1/service-records":                                   {v1 + "/service-records", son},
		"POST /api/v1/service-records/:id/approve":                       {v1 + "/service-records/" + pending + "/approve", staff},
		"POST /api/v1/service-records/:id/reject":                        {v1 + "/service-records/" + pending + "/reject", staff},
		"POST /api/v1/service-records/:id/corrections":                   {v1 + "/service-records/" + approved + "/corrections", son},
		"POST /api/v1/service-records/:id/corrections/:n/decision":       {v1 + "/service-records/" + approved + "/corrections/1/decision", staff},
		"POST /api/v1/mutual-aid":                                        {v1 + "/mutual-aid", son},
		"POST /api/v1/mutual-aid/:id/accept":                             {v1 + "/mutual-aid/" + aid + "/accept", son},
		"POST /api/v1/mutual-aid/:id/done":                               {v1 + "/mutual-aid/" + aid + "/done", son},
		"POST /api/v1/mutual-aid/:id/confirm":                            {v1 + "/mutual-aid/" + aid + "/confirm", elder},
		"POST /api/v1/mutual-aid/:id/cancel":                             {v1 + "/mutual-aid/" + aid + "/cancel", elder},
		"POST /api/v1/mutual-aid/:id/dispute":                            {v1 + "/mutual-aid/" + aid + "/dispute", elder},
		"POST /api/v1/mutual-aid/:id/resolve":                            {v1 + "/mutual-aid/" + aid + "/resolve", staff},
		"POST /api/v1/residents/:id/needy":                               {v1 + "/residents/" + elderID + "/needy", staff},
		"POST /api/v1/timebank/fund/credits":                             {v1 + "/timebank/fund/credits", staff},
		"POST /api/v1/gifts":                                             {v1 + "/gifts", son},
		"POST /api/v1/me/notifications/read-all":                         {v1 + "/me/notifications/read-all", elder},
		"POST /api/v1/me/notifications/:id/read":                         {v1 + "/me/notifications/" + url.PathEscape(note.ID) + "/read", elder},
		"PUT /api/v1/me/notification-preferences":                        {v1 + "/me/notification-preferences", elder},
		"POST /api/v1/deliveries/dead-letters/:id/retry":                 {v1 + "/deliveries/dead-letters/" + dead.ID + "/retry", staff},
		"POST /api/v1/me/consents":                                       {v1 + "/me/consents", elder},
	}
}
