package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
)

// gatedWorld is a world whose consent gate is on, with the notice at
// version.
func gatedWorld(t *testing.T, version string) *world {
	t.Helper()
	cfg := testConfig(t)
	cfg.ConsentGate = true
	cfg.PrivacyNoticeVersion = version
	return newWorldConfig(t, cfg)
}

type meConsent struct {
	Consent struct {
		Version    string     `json:"version"`
		Required   bool       `json:"required"`
		AcceptedAt *time.Time `json:"accepted_at"`
	} `json:"consent"`
}

func (w *world) consentOf(token string) meConsent {
	w.t.Helper()
	r := w.call("GET", "/api/v1/me", token, nil)
	if r.Status != http.StatusOK {
		w.t.Fatalf("GET /me: %d %s", r.Status, r.Body)
	}
	var out meConsent
	r.decode(w.t, &out)
	return out
}

// A resident who has not accepted the notice in force is told so by /me
// and refused CONSENT_REQUIRED elsewhere; accepting it (once) opens the
// app; a new version of the notice asks again.
func TestIssue17_PIPL_ConsentAskedAtFirstLoginAndAgainForANewVersion(t *testing.T) {
	t.Parallel()
	w := gatedWorld(t, "2026-12")
	elder, staff := w.login(phoneElderA), w.login(phoneStaffA)

	if me := w.consentOf(elder); !me.Consent.Required || me.Consent.Version != "2026-12" {
		t.Fatalf("/me before accepting: %+v, want required for 2026-12", me.Consent)
	}
	if r := w.call("GET", "/api/v1/me/balances", elder, nil); r.Status != http.StatusForbidden || r.code() != "CONSENT_REQUIRED" {
		t.Fatalf("balances before accepting: %d %s, want 403 CONSENT_REQUIRED", r.Status, r.Body)
	}
	// The notice, the resident's own data and who looked at it are open.
	for _, path := range []string{"/api/v1/privacy/notice", "/api/v1/me/access-log", "/api/v1/me/export"} {
		if r := w.call("GET", path, elder, nil); r.Status != http.StatusOK {
			t.Errorf("GET %s before accepting: %d %s, want 200", path, r.Status, r.Body)
		}
	}
	// Staff are not asked.
	if r := w.call("GET", "/api/v1/residents", staff, nil); r.Status != http.StatusOK {
		t.Fatalf("staff list: %d %s", r.Status, r.Body)
	}
	if r := w.call("POST", "/api/v1/me/consents", elder, map[string]string{"version": "2025-01"}); r.Status != http.StatusConflict || r.code() != "CONSENT_VERSION_STALE" {
		t.Fatalf("accepting an old version: %d %s, want 409 CONSENT_VERSION_STALE", r.Status, r.Body)
	}
	first := w.call("POST", "/api/v1/me/consents", elder, map[string]string{"version": "2026-12"})
	if first.Status != http.StatusCreated {
		t.Fatalf("accept: %d %s", first.Status, first.Body)
	}
	again := w.call("POST", "/api/v1/me/consents", elder, map[string]string{"version": "2026-12"})
	if again.Status != http.StatusOK || string(again.Body) != string(first.Body) {
		t.Fatalf("accepting again: %d %s, want 200 and the first acceptance %s", again.Status, again.Body, first.Body)
	}
	if r := w.call("GET", "/api/v1/me/balances", elder, nil); r.Status != http.StatusOK {
		t.Fatalf("balances after accepting: %d %s", r.Status, r.Body)
	}
	if me := w.consentOf(elder); me.Consent.Required || me.Consent.AcceptedAt == nil {
		t.Fatalf("/me after accepting: %+v", me.Consent)
	}

	// A new version of the notice: the same store, the next release.
	cfg := w.sys.cfg
	cfg.PrivacyNoticeVersion = "2027-03"
	sys2, err := build(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), w.sys.store, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	w2 := &world{
		t:   t,
		sys: sys2,
		app: sys2.httpApp(),
		ids: w.ids,
	}
	elder2 := w2.login(phoneElderA)
	if me := w2.consentOf(elder2); !me.Consent.Required || me.Consent.Version != "2027-03" {
		t.Fatalf("/me under a new notice: %+v, want required for 2027-03", me.Consent)
	}
	if r := w2.call("GET", "/api/v1/me/balances", elder2, nil); r.code() != "CONSENT_REQUIRED" {
		t.Fatalf("balances under a new notice: %d %s, want CONSENT_REQUIRED", r.Status, r.Body)
	}
	if r := w2.call("POST", "/api/v1/me/consents", elder2, map[string]string{"version": "2027-03", "language": "en"}); r.Status != http.StatusCreated {
		t.Fatalf("accepting the new version: %d %s", r.Status, r.Body)
	}
	if r := w2.call("GET", "/api/v1/me/balances", elder2, nil); r.Status != http.StatusOK {
		t.Fatalf("balances after accepting the new version: %d %s", r.Status, r.Body)
	}
}

// Concurrent acceptances of one version (a double tap, two devices)
// insert one consent and all answer with it.
func TestIssue17_PIPL_ConcurrentAcceptancesInsertOnce(t *testing.T) {
	t.Parallel()
	w := gatedWorld(t, "2026-12")
	son := w.login(phoneSonA)
	before := w.counts()["consents"]
	const n = 16
	replies := make([]reply, n)
	atonce.Run(n, func(i int) {
		hdr := []string{}
		if i%2 == 0 {
			hdr = []string{"Idempotency-Key", fmt.Sprintf("consent-%02d", i)}
		}
		replies[i] = w.call("POST", "/api/v1/me/consents", son, map[string]string{"version": "2026-12"}, hdr...)
	})
	created := 0
	var first consentJSONForTest
	for i, r := range replies {
		switch r.Status {
		case http.StatusCreated:
			created++
		case http.StatusOK:
		default:
			t.Fatalf("reply %d: %d %s", i, r.Status, r.Body)
		}
		var c consentJSONForTest
		r.decode(t, &c)
		if i == 0 {
			first = c
		} else if c != first {
			t.Fatalf("reply %d: %+v, want the one acceptance %+v", i, c, first)
		}
	}
	if created != 1 {
		t.Fatalf("%d replies say created, want 1", created)
	}
	if got := w.counts()["consents"] - before; got != 1 {
		t.Fatalf("%d consents stored, want 1", got)
	}
}

type consentJSONForTest struct {
	Version    string    `json:"version"`
	Language   string    `json:"language"`
	AcceptedAt time.Time `json:"accepted_at"`
}

type accessPage struct {
	Items []struct {
		ID         string   `json:"id"`
		Kind       string   `json:"kind"`
		Detail     string   `json:"detail"`
		ActorName  string   `json:"actor_name"`
		ActorRoles []string `json:"actor_roles"`
	} `json:"items"`
	Next string `json:"next"`
}

// accessLog reads the caller's whole access log, limit items a page.
func (w *world) accessLog(token string, limit int) accessPage {
	w.t.Helper()
	var all accessPage
	cursor := ""
	for {
		r := w.call("GET", fmt.Sprintf("/api/v1/me/access-log?limit=%d&cursor=%s", limit, cursor), token, nil)
		if r.Status != http.StatusOK {
			w.t.Fatalf("access log: %d %s", r.Status, r.Body)
		}
		var p accessPage
		r.decode(w.t, &p)
		all.Items = append(all.Items, p.Items...)
		if p.Next == "" {
			return all
		}
		cursor = p.Next
	}
}

// Every read of a resident's personal data by staff is on the resident's
// access log (who, what), newest first; the resident's own reads are not.
func TestIssue17_PIPL_StaffReadsAreOnTheResidentsAccessLog(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	elderID := w.ids[phoneElderA]
	elder, staff := w.login(phoneElderA), w.login(phoneStaffA)
	v1 := "/api/v1"
	// The resident's own reads.
	for _, path := range []string{"/residents/" + elderID, "/me/balances", "/residents/" + elderID + "/ledger/POINTS"} {
		if r := w.call("GET", v1+path, elder, nil); r.Status != http.StatusOK {
			t.Fatalf("own read %s: %d %s", path, r.Status, r.Body)
		}
	}
	if got := w.accessLog(elder, 50); len(got.Items) != 0 {
		t.Fatalf("own reads recorded: %+v", got.Items)
	}
	staffReads := []struct{ path, kind, detail string }{
		{"/residents/" + elderID, "resident_detail", ""},
		{"/residents?limit=200", "resident_list", ""},
		{"/residents?q=" + phoneElderA[len(phoneElderA)-4:], "resident_list", ""},
		{"/residents/" + elderID + "/balances", "balances", ""},
		{"/residents/" + elderID + "/ledger/POINTS", "ledger", "POINTS"},
		{"/residents/" + elderID + "/certificate", "certificate", ""},
	}
	for _, sr := range staffReads {
		if r := w.call("GET", v1+sr.path, staff, nil); r.Status != http.StatusOK {
			t.Fatalf("staff read %s: %d %s", sr.path, r.Status, r.Body)
		}
	}
	// A page of two at a time, so the cursor is used.
	got := w.accessLog(elder, 2)
	if len(got.Items) != len(staffReads) {
		t.Fatalf("access log has %d items, want %d: %+v", len(got.Items), len(staffReads), got.Items)
	}
	seen := map[string]bool{}
	for i, it := range got.Items {
		want := staffReads[len(staffReads)-1-i] // newest first
		if it.Kind != want.kind || it.Detail != want.detail {
			t.Errorf("item %d: %s/%s, want %s/%s", i, it.Kind, it.Detail, want.kind, want.detail)
		}
		if it.ActorName == "" || !strings.Contains(it.ActorName, "*") {
			t.Errorf("item %d: actor name %q is not masked", i, it.ActorName)
		}
		if len(it.ActorRoles) == 0 || it.ActorRoles[0] != "staff" {
			t.Errorf("item %d: actor roles %v, want staff", i, it.ActorRoles)
		}
		if seen[it.ID] {
			t.Errorf("item %s listed twice", it.ID)
		}
		seen[it.ID] = true
	}
	// The residents list put every resident shown on their own log.
	if got := w.accessLog(w.login(phoneSonA), 50); len(got.Items) != 1 || got.Items[0].Kind != "resident_list" {
		t.Fatalf("son's log after the list: %+v, want one resident_list", got.Items)
	}
}

// exportDoc is the part of an export the tests read.
type exportDoc struct {
	Format     string `json:"format"`
	ResidentID string `json:"resident_id"`
	Profile    struct {
		ID    string `json:"id"`
		Name  string `json:"name"`
		Phone string `json:"phone"`
	} `json:"profile"`
	Household      *struct{ ID string } `json:"household"`
	ServiceRecords []json.RawMessage    `json:"service_records"`
	HoursEntries   []json.RawMessage    `json:"hours_entries"`
	PointsEntries  []struct {
		Seq   int64 `json:"seq"`
		Delta int64 `json:"delta"`
	} `json:"points_entries"`
	Redemptions   []json.RawMessage `json:"redemptions"`
	HonourEntries []json.RawMessage `json:"honour_entries"`
	Notifications []json.RawMessage `json:"notifications"`
	AccessLog     []struct {
		Kind string `json:"kind"`
	} `json:"access_log"`
	Complete bool `json:"complete"`
}

// GET /me/export holds everything kept about the caller: the profile with
// the phone in full, the household, every ledger entry (more than one
// export page of them), the notifications; and it is complete.
func TestIssue17_PIPL_ExportHoldsEverythingKeptAboutMe(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	sonID := w.ids[phoneSonA]
	son, staff := w.login(phoneSonA), w.login(phoneStaffA)
	// More entries than one page of the export (100).
	for i := range 120 {
		r := w.call("POST", "/api/v1/residents/"+sonID+"/points/adjustments", staff, award(1, "award"), "Idempotency-Key", fmt.Sprintf("export-award-%03d", i))
		if r.Status != http.StatusCreated && r.Status != http.StatusOK {
			t.Fatalf("award %d: %d %s", i, r.Status, r.Body)
		}
	}
	_, seq := w.points(sonID)
	// The awards queued their notices; one delivery pass writes them.
	if _, err := w.sys.deliverer.Pass(context.Background()); err != nil {
		t.Fatalf("delivery pass: %v", err)
	}
	r := w.call("GET", "/api/v1/me/export", son, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("export: %d %s", r.Status, r.Body)
	}
	if cd := r.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") {
		t.Errorf("Content-Disposition = %q, want an attachment", cd)
	}
	var doc exportDoc
	r.decode(t, &doc)
	if !doc.Complete || doc.Format != "linli-export/1" || doc.ResidentID != sonID {
		t.Fatalf("export header: complete=%v format=%q resident=%q", doc.Complete, doc.Format, doc.ResidentID)
	}
	if doc.Profile.Phone != phoneSonA {
		t.Errorf("profile phone %q, want the full %q", doc.Profile.Phone, phoneSonA)
	}
	if doc.Household == nil {
		t.Errorf("no household in the export")
	}
	if int64(len(doc.PointsEntries)) != seq {
		t.Fatalf("export has %d points entries, the ledger %d", len(doc.PointsEntries), seq)
	}
	for i, e := range doc.PointsEntries {
		if want := seq - int64(i); e.Seq != want {
			t.Fatalf("points entry %d has seq %d, want %d (newest first, none twice)", i, e.Seq, want)
		}
	}
	if len(doc.Notifications) == 0 {
		t.Errorf("no notifications in the export (each award tells the resident)")
	}
	// Staff awarding wrote nothing on the access log; the export of
	// one's own data is not recorded either.
	if len(doc.AccessLog) != 0 {
		t.Errorf("access log in the export: %+v, want none", doc.AccessLog)
	}
}

// Staff produce the export for a resident at the counter: only for their
// own community (a real id of another community is 404), only staff, and
// the export is on the resident's access log.
func TestIssue17_PIPL_CounterExportIsForStaffOfTheResidentsCommunity(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	staffA, staffB, elder := w.login(phoneStaffA), w.login(phoneStaffB), w.login(phoneElderA)
	path := "/api/v1/residents/" + w.b.resident + "/export"
	if r := w.call("GET", path, staffA, nil); r.Status != http.StatusNotFound {
		t.Fatalf("staff of A exporting a resident of B: %d %s, want 404", r.Status, r.Body)
	}
	if r := w.call("GET", "/api/v1/residents/"+w.ids[phoneSonA]+"/export", elder, nil); r.Status != http.StatusForbidden {
		t.Fatalf("a resident exporting another: %d %s, want 403", r.Status, r.Body)
	}
	r := w.call("GET", path, staffB, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("staff of B: %d %s", r.Status, r.Body)
	}
	var doc exportDoc
	r.decode(t, &doc)
	if !doc.Complete || doc.ResidentID != w.b.resident || doc.Profile.Phone != phoneResidentB {
		t.Fatalf("counter export: complete=%v resident=%q phone=%q", doc.Complete, doc.ResidentID, doc.Profile.Phone)
	}
	// The export itself is the newest entry of the log it carries.
	if len(doc.AccessLog) != 1 || doc.AccessLog[0].Kind != "export" {
		t.Fatalf("access log in the counter export: %+v, want the export", doc.AccessLog)
	}
	got := w.accessLog(w.login(phoneResidentB), 50)
	if len(got.Items) != 1 || got.Items[0].Kind != "export" {
		t.Fatalf("resident B's log: %+v, want the export only (staff A's refused try is not a read)", got.Items)
	}
	ctx := context.Background()
	if rec, _, err := w.sys.store.AccessLog(ctx, w.b.resident, "", 10); err != nil || rec[0].ActorID != w.b.staff {
		t.Fatalf("stored access record: %+v %v, want staff B as the reader", rec, err)
	}
}
