package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/store"
	"github.com/linli-community/linli/store/storetest"
)

func TestConfigDefaultsAndSeedRule(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env  []string
		seed bool
	}{
		{nil, true},
		{[]string{"SEED_DEMO=false"}, false},
		{[]string{"MONGODB_URI=mongodb://127.0.0.1:27017"}, false},
		{[]string{"MONGODB_URI=mongodb://127.0.0.1:27017", "SEED_DEMO=true"}, true},
	} {
		c, err := loadConfig(tc.env)
		if err != nil {
			t.Fatal(err)
		}
		if c.seedDemo() != tc.seed {
			t.Errorf("%v: seed %v; want %v", tc.env, c.seedDemo(), tc.seed)
		}
		if c.Addr != "127.0.0.1:8080" || c.DataDir != "./data" || c.DB != "linli" || c.SQLiteSync != "full" {
			t.Errorf("defaults: %+v", c)
		}
	}
	for _, bad := range [][]string{{"SEED_DEMO=maybe"}, {"LINLI_SQLITE_SYNC=off"}, {"LINLI_ACCESS_TTL=5h"}, {"LINLI_BODY_LIMIT=10"}, {"LINLI_TIME_ZONE=Mars/Olympus"}, {"LINLI_ACCESS_TTL=soon"},
		{"LINLI_CLOCK_START=2027-03-01"}, {"LINLI_CLOCK_START=2027-03-01T02:00:00+08:00"}} {
		if _, err := loadConfig(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestLogsMaskPhonesAndSecrets(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := newLogger(&buf, "info", "json")
	cfg, _ := loadConfig([]string{"MONGODB_URI=mongodb://user:pw@db:27017", "LINLI_JWT_KEYS=k:0123456789abcdef0123456789abcdef"})
	log.Info("login failed for 13812345678", "phone", "13812345678", "err", errors.New("no login for 13912345678"),
		"password", "hunter22", "refresh_token", "abc", "uri", cfg.MongoURI, "keys", cfg.JWTKeys)
	out := buf.String()
	for _, leak := range []string{"13812345678", "13912345678", "hunter22", "abc\"", "user:pw", "0123456789abcdef"} {
		if strings.Contains(out, leak) {
			t.Errorf("log leaks %q: %s", leak, out)
		}
	}
	if !strings.Contains(out, "138****5678") {
		t.Errorf("phone not masked as 138****5678: %s", out)
	}
}

// A value logged whole (a resident, a map) has its phone masked, as a
// string does, and the data keys are never logged.
func TestIssue17_PIPL_LogsMaskPhonesInValues(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := newLogger(&buf, "info", "json")
	cfg, err := loadConfig([]string{"LINLI_DATA_KEYS=k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "LINLI_INDEX_KEY=ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="})
	if err != nil {
		t.Fatal(err)
	}
	log.Info("resident", "resident", models.Resident{
		ID:    "r1",
		Phone: "13812340005",
		Name:  "王",
	},
		"who", map[string]string{"phone": "13912340006"}, "counts", map[string]int{"n": 3},
		"keys", cfg.DataKeys, "index", cfg.IndexKey)
	out := buf.String()
	for _, leak := range []string{"13812340005", "13912340006", "AAECAwQF", "ICEiIyQl"} {
		if strings.Contains(out, leak) {
			t.Errorf("log leaks %q: %s", leak, out)
		}
	}
	if !strings.Contains(out, "138****0005") || !strings.Contains(out, `"counts":{"n":3}`) {
		t.Errorf("want the phone masked as 138****0005 and other values as they were: %s", out)
	}
}

// run serves on the embedded store with the demo loaded, answers, and stops
// cleanly on cancel; the data survives a restart; audit passes, and fails
// once an entry is broken behind its back.
func TestServeSeedAuditAndShutdown(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	env := []string{"LINLI_DATA_DIR=" + dir, "LINLI_ADDR=" + addr, "LINLI_LOG_LEVEL=error"}

	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, env, &out, &out) }()
	waitReady(t, "http://"+addr)
	if !strings.Contains(out.String(), "13800000002") {
		t.Fatalf("demo logins not printed:\n%s", out.String())
	}
	// A request in flight when the signal comes still gets its answer.
	slow := make(chan int, 1)
	go func() {
		resp, err := http.Post("http://"+addr+"/api/v1/auth/login", "application/json",
			strings.NewReader(`{"phone":"13800000002","password":"linli-demo-2026"}`))
		if err != nil {
			slow <- 0
			return
		}
		resp.Body.Close()
		slow <- resp.StatusCode
	}()
	time.Sleep(5 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop")
	}
	if code := <-slow; code != 200 && code != 0 {
		t.Fatalf("in-flight login: %d", code)
	}

	var report, progress bytes.Buffer
	if err := run(context.Background(), []string{"audit"}, append(env, "LINLI_AUDIT_PROGRESS_EVERY=5"), &report, &progress); err != nil {
		t.Fatalf("audit of the demo: %v\n%s", err, report.String())
	}
	if !strings.Contains(report.String(), `"problems": []`) {
		t.Fatalf("audit report: %s", report.String())
	}
	// It says how far it got while it runs, on stderr (the demo has more
	// than five entries).
	if !strings.Contains(progress.String(), "audit: 5 entries of ") {
		t.Fatalf("the audit told no progress every 5 entries: %q", progress.String())
	}
	// A second seed leaves the data alone.
	var again bytes.Buffer
	if err := run(context.Background(), []string{"seed"}, env, &again, &again); err != nil || !strings.Contains(again.String(), "no demo loaded") {
		t.Fatalf("second seed: %v %s", err, again.String())
	}

	breakAnEntry(t, dir)
	report.Reset()
	err = run(context.Background(), []string{"audit"}, env, &report, &report)
	var code exitCode
	if !errors.As(err, &code) || code != 1 || !strings.Contains(report.String(), "balance_after") {
		t.Fatalf("audit of a broken chain: %v\n%s", err, report.String())
	}
}

// TestClockStart: a set clock starts where it is told and runs on; the
// jobs command takes its default period from it.
func TestClockStart(t *testing.T) {
	t.Parallel()
	start := time.Date(2027, 3, 1, 2, 0, 0, 0, time.FixedZone("CST", 8*3600))
	c, err := loadConfig([]string{"LINLI_CLOCK_START=2027-03-01T02:00:00+08:00", "LINLI_SCHEDULER=false"})
	if err != nil {
		t.Fatal(err)
	}
	now := c.clock()
	a := now()
	time.Sleep(10 * time.Millisecond)
	if b := now(); a.Before(start) || a.After(start.Add(time.Minute)) || !b.After(a) {
		t.Fatalf("clock read %v then %v; want from %v on, running", a, b, start)
	}
	env := []string{"LINLI_DATA_DIR=" + t.TempDir(), "LINLI_LOG_LEVEL=error", "SEED_DEMO=false",
		"LINLI_CLOCK_START=2027-03-01T02:00:00+08:00", "LINLI_SCHEDULER=false"}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"seed"}, env, &out, &out); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"jobs", "run", "settlement"}, env, &out, &out); err != nil || !strings.Contains(out.String(), "settlement 2027-02: done") {
		t.Fatalf("jobs run settlement: %v %s", err, out.String())
	}
	out.Reset()
	// March is not over on that clock.
	if err := run(context.Background(), []string{"jobs", "run", "settlement", "--month", "2027-03"}, env, &out, &out); err == nil || !strings.Contains(err.Error(), "not over") {
		t.Fatalf("a month not over: %v %s", err, out.String())
	}
}

func TestJobsCommand(t *testing.T) {
	t.Parallel()
	env := []string{"LINLI_DATA_DIR=" + t.TempDir(), "LINLI_LOG_LEVEL=error", "SEED_DEMO=false"}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"jobs", "list"}, env, &out, &out); err != nil || !strings.Contains(out.String(), "audit") {
		t.Fatalf("jobs list: %v %s", err, out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"jobs", "run", "audit", "--period", "2026-11-01"}, env, &out, &out); err != nil || !strings.Contains(out.String(), "audit 2026-11-01: done") {
		t.Fatalf("jobs run: %v %s", err, out.String())
	}
	if err := run(context.Background(), []string{"jobs", "run", "nope"}, env, &out, &out); err == nil {
		t.Fatal("unknown job accepted")
	}
	if err := run(context.Background(), []string{"jobs", "run", "audit", "--month", "2026-13"}, env, &out, &out); err == nil {
		t.Fatal("bad month accepted")
	}
}

// breakAnEntry writes an entry whose balance_after does not follow from the
// chain, as corrupted data or a bug would.
func breakAnEntry(t *testing.T, dir string) {
	t.Helper()
	emb, err := store.StartEmbedded(dir, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Stop()
	ctx := context.Background()
	st, err := store.Open(ctx, emb.URI(), "linli", emb)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	keys, err := store.LocalDataKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	st.UseDataKeys(keys)
	l, err := st.LoginByPhone(ctx, "13800000005")
	if err != nil {
		t.Fatal(err)
	}
	acct := models.AccountOf(l.ResidentID, models.AssetPoints)
	if err := st.InsertEntry(ctx, models.Entry{
		Account:      acct,
		CommunityID:  "x",
		Seq:          2,
		Delta:        5,
		BalanceAfter: 999,
		Kind:         models.KindAward,
		Actor:        "tamper",
		At:           time.Now(),
	}); err != nil {
		t.Fatal(err)
	}
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("service did not become ready")
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A deployment hashes passwords at Argon2id's OWASP cost (19 MiB, two
// passes): the tests' cheap cost (cheapPasswords) cannot come from the
// environment, since Config.passwordCost is not read from it.
func TestDeploymentHashesPasswordsAtTheOWASPCost(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig([]string{
		"LINLI_JWT_KEYS=" + testKeys,
		"LINLI_JWT_ACTIVE_KID=cur",
		"LINLI_DATA_DIR=" + t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	sys, err := build(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), storetest.New(t), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := sys.passwords.Hash(demoPassword)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(hash, "$m=19456,t=2,p=1$") {
		t.Fatalf("a deployment's password hash is %q; want Argon2id at m=19456,t=2,p=1", hash)
	}
	cheap, err := newWorld(t).sys.passwords.Hash(demoPassword)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cheap, "$m=1024,t=1,p=1$") {
		t.Fatalf("the tests' password hash is %q; want the cheap cost m=1024,t=1,p=1", cheap)
	}
}
