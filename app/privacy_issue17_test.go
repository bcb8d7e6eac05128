package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/linli-community/linli/atonce"
	"github.com/linli-community/linli/jobs"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/once"
	"github.com/linli-community/linli/store/storetest"
)

const (
	piplKeyOld = "k0:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	piplKeyNew = "k1:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVpbXF1eX2A="
)

// piplSystem is another replica of w's service, on the same store, with
// cfg and the clock now.
func piplSystem(t *testing.T, w *world, cfg Config, now func() time.Time) *system {
	t.Helper()
	sys, err := build(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), w.sys.store, now)
	if err != nil {
		t.Fatal(err)
	}
	return sys
}

// runJob runs the scheduled job named name of sys now.
func runJob(t *testing.T, sys *system, name string) jobs.Counts {
	t.Helper()
	for _, sj := range sys.schedule() {
		if sj.job.Name == name {
			c, err := sys.runner.Now(context.Background(), sj.job, sj.job.Period(sys.now()))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return c
		}
	}
	t.Fatalf("no %s job in the schedule", name)
	return nil
}

// After a key rotation and `rotate-keys`, every resident signs in and
// reads back whole with only the new key configured.
func TestIssue17_PIPL_RotationKeepsLoginWorking(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.DataKeys, cfg.IndexKey = piplKeyOld, storetest.IndexKey
	w := newWorldConfig(t, cfg)
	w.login(phoneElderA)

	rotated := cfg
	rotated.DataKeys = piplKeyNew + "," + piplKeyOld
	c := runJob(t, piplSystem(t, w, rotated, time.Now), "rotate-keys")
	if c["resealed"] < 9 || c["moved"] < 9 || c["remaining"] != 0 {
		t.Fatalf("rotate-keys: %v, want every demo resident and login sealed again", c)
	}
	if again := runJob(t, piplSystem(t, w, rotated, time.Now), "rotate-keys"); again["resealed"] != 0 || again["moved"] != 0 {
		t.Fatalf("second rotate-keys: %v, want nothing to do", again)
	}

	only := cfg
	only.DataKeys = piplKeyNew
	sys := piplSystem(t, w, only, time.Now)
	w.sys, w.app = sys, sys.httpApp()
	for _, phone := range []string{phoneElderA, phoneStaffA, phoneStaffB, phoneResidentB} {
		w.login(phone)
	}
	r, err := sys.store.Resident(context.Background(), w.ids[phoneElderA])
	if err != nil || r.Phone != phoneElderA {
		t.Fatalf("elder with only the new key: %+v, %v", r, err)
	}
}

// A resident marked moved away keeps their personal information for the
// retention period (3 years by default); after it, the erasure job
// replaces the name by a pseudonym and removes the phone, birth year and
// login, while the ledger audit stays clean, balances are unchanged and
// every statement still adds up to its total. A second run does nothing.
func TestIssue17_PIPL_ErasureKeepsAuditAndStatements(t *testing.T) {
	t.Parallel()
	w, month, shop, property := settledWorld(t)
	ctx := context.Background()
	elder := w.ids[phoneElderA]
	staff := w.login(phoneStaffA)
	points := func() int64 {
		b, err := w.sys.ledger.Balance(ctx, models.AccountOf(elder, models.AssetPoints))
		if err != nil {
			t.Fatal(err)
		}
		return b.Amount
	}
	before := points()
	// Staff find the resident by name and by the phone's last four digits.
	kept, err := w.sys.store.Resident(ctx, elder)
	if err != nil {
		t.Fatal(err)
	}
	searches := []string{url.QueryEscape(kept.Name), phoneElderA[len(phoneElderA)-4:]}
	found := func(q string) bool {
		r := w.call("GET", "/api/v1/residents?q="+q, staff, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("search %s: %d %s", q, r.Status, r.Body)
		}
		return bytes.Contains(r.Body, []byte(elder))
	}
	for _, q := range searches {
		if !found(q) {
			t.Fatalf("search %s does not find the resident before erasure", q)
		}
	}

	// A resident may not mark anyone; staff mark once, a repeat answers alike.
	if r := w.call("POST", "/api/v1/residents/"+elder+"/moved-away", w.login(phoneSonA), nil, "Idempotency-Key", "moved-0001"); r.Status != http.StatusForbidden {
		t.Fatalf("resident marking: %d %s", r.Status, r.Body)
	}
	signIn := func(phone string) reply {
		return w.call("POST", "/api/v1/auth/login", "", map[string]string{"phone": phone, "password": demoPassword})
	}
	signedIn := signIn(phoneElderA)
	if signedIn.Status != http.StatusOK {
		t.Fatalf("the elder's login before the mark: %d %s", signedIn.Status, signedIn.Body)
	}
	refreshToken := jsonField(t, signedIn, "refresh_token")
	first := w.call("POST", "/api/v1/residents/"+elder+"/moved-away", staff, nil, "Idempotency-Key", "moved-0002")
	second := w.call("POST", "/api/v1/residents/"+elder+"/moved-away", staff, nil, "Idempotency-Key", "moved-0003")
	if first.Status != http.StatusOK || second.Status != http.StatusOK || string(first.Body) != string(second.Body) {
		t.Fatalf("mark moved away: %d %s / %d %s", first.Status, first.Body, second.Status, second.Body)
	}
	// From the mark on, the elder neither signs in nor refreshes, and is
	// told why in words; her son, not marked, still signs in.
	if r := signIn(phoneElderA); r.Status != http.StatusForbidden || r.code() != "RESIDENT_MOVED_AWAY" || !strings.Contains(string(r.Body), "已迁出") {
		t.Fatalf("login after moving away: %d %s", r.Status, r.Body)
	}
	if r := w.call("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": refreshToken}); r.Status != http.StatusForbidden || r.code() != "RESIDENT_MOVED_AWAY" {
		t.Fatalf("refresh after moving away: %d %s", r.Status, r.Body)
	}
	if r := signIn(phoneSonA); r.Status != http.StatusOK {
		t.Fatalf("the son's login: %d %s", r.Status, r.Body)
	}

	// Two years on: still kept.
	later := piplSystem(t, w, w.sys.cfg, func() time.Time { return time.Now().AddDate(2, 0, 0) })
	if c := runJob(t, later, "erasure"); c["erased"] != 0 || c["waiting"] != 1 {
		t.Fatalf("erasure inside the retention period: %v", c)
	}
	if _, err := w.sys.store.LoginByPhone(ctx, phoneElderA); err != nil {
		t.Fatalf("login removed inside the retention period: %v", err)
	}

	// Past three years: erased.
	past := piplSystem(t, w, w.sys.cfg, func() time.Time { return time.Now().AddDate(3, 0, 1) })
	if c := runJob(t, past, "erasure"); c["erased"] != 1 {
		t.Fatalf("erasure after the retention period: %v", c)
	}
	r, err := w.sys.store.Resident(ctx, elder)
	if err != nil {
		t.Fatal(err)
	}
	if r.Phone != "" || r.BirthYear != 0 || r.IDNumber != "" || r.Name != models.ErasePseudonym(elder) || r.Erased.IsZero() {
		t.Fatalf("erased resident: %+v", r)
	}
	if _, err := w.sys.store.LoginByPhone(ctx, phoneElderA); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("login of an erased resident: %v", err)
	}
	if r := w.call("GET", "/api/v1/residents/"+elder+"/residency", staff, nil); r.Status != http.StatusOK || jsonField(t, r, "erased_at") == "" {
		t.Fatalf("residency: %d %s", r.Status, r.Body)
	}
	if c := runJob(t, past, "erasure"); c["erased"] != 0 {
		t.Fatalf("second erasure run: %v", c)
	}
	// The search lists no longer lead from the old name or phone to them.
	for _, q := range searches {
		if found(q) {
			t.Fatalf("search %s still finds the erased resident", q)
		}
	}

	// The ledger and the statements are as they were.
	audit, err := w.sys.ledger.Audit(ctx)
	if err != nil || !audit.OK() {
		t.Fatalf("audit after erasure: %+v %v", audit, err)
	}
	if got := points(); got != before {
		t.Fatalf("points after erasure %d, want %d", got, before)
	}
	for _, p := range []models.Partner{shop, property} {
		st, err := w.sys.store.Statement(ctx, models.StatementID(p.ID, mustMonth(t, month)))
		if err != nil {
			t.Fatal(err)
		}
		var sum models.Fen
		var lines int
		err = w.sys.store.EachStatementLine(ctx, st.ID, func(l models.StatementLine) error {
			if l.Event.ResidentID != elder {
				t.Errorf("line %s lost its resident: %q", l.ID, l.Event.ResidentID)
			}
			sum += l.Event.ValueFen
			lines++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if lines == 0 || sum != st.TotalFen {
			t.Fatalf("statement %s: %d lines adding to %d, total %d", st.ID, lines, sum, st.TotalFen)
		}
	}
}

// Marks made at once are one mark; a run that died after deciding the
// erasure (its mark inserted) and before removing anything is finished by
// the next run.
func TestIssue17_PIPL_ErasureResumesAfterCrash(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	son := w.ids[phoneSonA]
	// Staff at two desks mark the son at once: one mark, one answer.
	staff := w.login(phoneStaffA)
	replies := make([]reply, 8)
	atonce.Run(len(replies), func(i int) {
		replies[i] = w.call("POST", "/api/v1/residents/"+son+"/moved-away", staff, nil, "Idempotency-Key", fmt.Sprintf("moved-%04d", i))
	})
	for _, r := range replies {
		if r.Status != http.StatusOK || string(r.Body) != string(replies[0].Body) {
			t.Fatalf("concurrent marks: %d %s, first %s", r.Status, r.Body, replies[0].Body)
		}
	}
	r, err := w.sys.store.Resident(ctx, son)
	if err != nil {
		t.Fatal(err)
	}
	// The crash state: the erased mark, nothing else.
	if err := w.sys.store.InsertResidencyMark(ctx, once.ResidentErased(son), "erased", r, time.Now().AddDate(3, 0, 1), "system"); err != nil {
		t.Fatal(err)
	}
	if got, _ := w.sys.store.Resident(ctx, son); got.Phone != phoneSonA {
		t.Fatalf("the mark alone changed the resident: %+v", got)
	}
	// The next run finishes it, even before the period (the decision stands).
	if c := runJob(t, w.sys, "erasure"); c["erased"] != 1 {
		t.Fatalf("resumed erasure: %v", c)
	}
	if got, _ := w.sys.store.Resident(ctx, son); got.Phone != "" || got.Name != models.ErasePseudonym(son) {
		t.Fatalf("resumed erasure left %+v", got)
	}
	if _, err := w.sys.store.LoginByPhone(ctx, phoneSonA); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("login after resumed erasure: %v", err)
	}
}

// Staff may record a resident's ID number: a bad one is refused 400, a
// good one is kept (sealed) and never shown by the API.
func TestIssue17_PIPL_IDNumberKeptNeverShown(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	staff := w.login(phoneStaffA)
	body := func(id string) map[string]any {
		return map[string]any{
			"name":             "赵大爷",
			"phone":            "13800000099",
			"id_number":        id,
			"initial_password": demoPassword,
		}
	}
	for _, bad := range []string{"110105194912310021", "11010519491231002", "1101051949123100XX"} {
		if r := w.call("POST", "/api/v1/residents", staff, body(bad)); r.Status != http.StatusBadRequest {
			t.Fatalf("id number %s: %d %s", bad, r.Status, r.Body)
		}
	}
	r := w.call("POST", "/api/v1/residents", staff, body("11010519491231002x"))
	if r.Status != http.StatusCreated || strings.Contains(string(r.Body), "1101051949") {
		t.Fatalf("create with an id number: %d %s", r.Status, r.Body)
	}
	got, err := w.sys.store.Resident(context.Background(), jsonField(t, r, "id"))
	if err != nil || got.IDNumber != "11010519491231002X" {
		t.Fatalf("stored id number: %+v, %v", got, err)
	}
}
