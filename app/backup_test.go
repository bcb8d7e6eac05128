package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linli-community/linli/jobs"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/store"
)

// embeddedOf is the embedded server under w's store; tests of the
// embedded store's files skip on MongoDB (MONGODB_URI set).
func embeddedOf(t *testing.T, w *world) *store.Embedded {
	t.Helper()
	emb := w.sys.store.Embedded()
	if emb == nil {
		t.Skip("backup and migrate read the embedded store; the tests run on MONGODB_URI")
	}
	return emb
}

// ackedEntry is a ledger entry whose creation was acknowledged (201).
type ackedEntry struct {
	resident string
	seq      int64
}

// writeLoad is concurrent awards and redemptions over HTTP, recording what
// each acknowledged.
type writeLoad struct {
	mu          sync.Mutex
	entries     []ackedEntry
	redemptions []string
	attempts    chan struct{} // one token per attempt made
	stop        chan struct{}
	wg          sync.WaitGroup
}

// snapshot copies what has been acknowledged so far.
func (l *writeLoad) snapshot() ([]ackedEntry, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]ackedEntry(nil), l.entries...), append([]string(nil), l.redemptions...)
}

// startLoad starts two award writers (staff awarding the elder and the
// son) and two redemption writers (each redeeming a 1-point property-fee
// reward without limits), released together; each goes on until l.stop is closed.
func startLoad(t *testing.T, w *world) *writeLoad {
	t.Helper()
	staff := w.login(phoneStaffA)
	var partners struct {
		Items []struct {
			ID   string `json:"id"`
			Kind string `json:"kind"`
		} `json:"items"`
	}
	w.call("GET", "/api/v1/partners", staff, nil).decode(t, &partners)
	property := ""
	for _, p := range partners.Items {
		if p.Kind == "property" {
			property = p.ID
		}
	}
	r := w.call("POST", "/api/v1/rewards", staff, map[string]any{
		"kind":       "property_fee",
		"title":      "负载测试物业费券",
		"partner_id": property,
		"points":     1,
		"value_fen":  100,
		"bearer":     "community",
	})
	if r.Status != http.StatusCreated {
		t.Fatalf("create reward: %d %s", r.Status, r.Body)
	}
	var reward struct {
		ID string `json:"id"`
	}
	r.decode(t, &reward)
	residents := []string{w.ids[phoneElderA], w.ids[phoneSonA]}
	tokens := []string{w.login(phoneElderA), w.login(phoneSonA)}
	for i, id := range residents {
		if r := w.call("POST", "/api/v1/residents/"+id+"/points/adjustments", staff, award(200, "award"), "Idempotency-Key", fmt.Sprintf("load-fund-%d", i)); r.Status != http.StatusCreated {
			t.Fatalf("fund: %d %s", r.Status, r.Body)
		}
	}
	l := &writeLoad{attempts: make(chan struct{}, 1<<16), stop: make(chan struct{})}
	gate := make(chan struct{})
	writer := func(name string, write func(n int)) {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			<-gate
			for n := 0; ; n++ {
				select {
				case <-l.stop:
					return
				default:
				}
				write(n)
				select {
				case l.attempts <- struct{}{}:
				default:
				}
			}
		}()
	}
	for i, id := range residents {
		writer("award", func(n int) {
			r := w.call("POST", "/api/v1/residents/"+id+"/points/adjustments", staff, award(1, "award"), "Idempotency-Key", fmt.Sprintf("load-award-%d-%06d", i, n))
			if r.Status != http.StatusCreated {
				t.Errorf("award: %d %s", r.Status, r.Body)
				return
			}
			var e struct {
				Seq int64 `json:"seq"`
			}
			r.decode(t, &e)
			l.mu.Lock()
			l.entries = append(l.entries, ackedEntry{id, e.Seq})
			l.mu.Unlock()
		})
		writer("redeem", func(n int) {
			r := w.call("POST", "/api/v1/rewards/"+reward.ID+"/redemptions", tokens[i], nil, "Idempotency-Key", fmt.Sprintf("load-redeem-%d-%06d", i, n))
			if r.Status != http.StatusCreated {
				t.Errorf("redeem: %d %s", r.Status, r.Body)
				return
			}
			var redemption struct {
				ID string `json:"id"`
			}
			r.decode(t, &redemption)
			l.mu.Lock()
			l.redemptions = append(l.redemptions, redemption.ID)
			l.mu.Unlock()
		})
	}
	close(gate)
	return l
}

// wait blocks until the writers have made n attempts in all.
func (l *writeLoad) wait(n int) {
	for range n {
		<-l.attempts
	}
}

// halt stops the writers and waits for them.
func (l *writeLoad) halt() {
	close(l.stop)
	l.wg.Wait()
}

// openRestored starts an embedded store on dir (a second server, on its
// own loopback port) and opens database db there.
func openRestored(t *testing.T, dir, db string) *store.Store {
	t.Helper()
	emb, err := store.StartEmbedded(dir, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, emb.URI(), db, emb)
	if err != nil {
		emb.Stop()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = st.Close(context.Background())
		emb.Stop()
	})
	return st
}

// Issue 17.1/17.2: a backup taken while awards and redemptions go on
// restores to a store whose audit is clean and which holds every write
// acknowledged before the backup began.
func TestIssue17_2_BackupUnderWriteLoadRestoresEveryAcknowledgedWrite(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	emb := embeddedOf(t, w)
	ctx := context.Background()
	l := startLoad(t, w)
	l.wait(40)
	entries, redemptions := l.snapshot()
	to := filepath.Join(t.TempDir(), "backup")
	m, err := store.Backup(ctx, store.BackupOptions{
		DataDir:   emb.Dir,
		Databases: []string{w.sys.store.Database()},
		To:        to,
		Taken:     time.Now(),
		Version:   "test",
	})
	afterEntries, afterRedemptions := l.snapshot()
	l.halt()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("acknowledged before the backup: %d entries, %d redemptions; while it ran: %d, %d",
		len(entries), len(redemptions), len(afterEntries)-len(entries), len(afterRedemptions)-len(redemptions))
	if len(entries) == 0 || len(redemptions) == 0 {
		t.Fatalf("the load acknowledged %d awards and %d redemptions before the backup; want both", len(entries), len(redemptions))
	}
	if len(m.Files) != 1 || m.Files[0].Collections["ledger_entries"] == 0 || m.Files[0].SHA256 == "" {
		t.Fatalf("manifest %+v; want the database with its counts and checksum", m)
	}

	data := filepath.Join(t.TempDir(), "data")
	if _, err := store.Restore(ctx, to, data, false); err != nil {
		t.Fatal(err)
	}
	st := openRestored(t, data, w.sys.store.Database())
	r, err := ledger.New(st, time.Now).Audit(ctx)
	if err != nil || !r.OK() {
		t.Fatalf("audit of the restored store: %v %+v", err, r.Problems)
	}
	// The collection also holds the staff adjustments' list slots
	// (docs/ARCHITECTURE.md §9), so it counts more documents than entries.
	if r.Entries < len(entries) || r.Entries > int(m.Files[0].Collections["ledger_entries"]) {
		t.Fatalf("the restored audit read %d entries; %d were acknowledged before the backup, which counted %d documents",
			r.Entries, len(entries), m.Files[0].Collections["ledger_entries"])
	}
	for _, e := range entries {
		if _, err := st.Entry(ctx, models.AccountOf(e.resident, models.AssetPoints), e.seq); err != nil {
			t.Errorf("acknowledged entry %s:%d: %v", e.resident, e.seq, err)
		}
	}
	for _, id := range redemptions {
		if _, _, err := st.Redemption(ctx, id); err != nil {
			t.Errorf("acknowledged redemption %s: %v", id, err)
		}
	}
}

// Issue 17.2: restore checks every file against the manifest, refuses a
// data folder that is not empty unless forced, and the command audits the
// result and says what it restored.
func TestIssue17_2_RestoreCommand(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root := t.TempDir()
	data := filepath.Join(root, "data")
	env := []string{"LINLI_DATA_DIR=" + data, "LINLI_LOG_LEVEL=error", "LINLI_BACKUP_DIR=" + filepath.Join(root, "backups")}
	var out bytes.Buffer
	if err := run(ctx, []string{"seed"}, env, &out, &out); err != nil {
		t.Fatalf("seed: %v %s", err, out.String())
	}
	out.Reset()
	backup := filepath.Join(root, "b1")
	if err := run(ctx, []string{"backup", "--to", backup}, env, &out, &out); err != nil || !strings.Contains(out.String(), "backup in "+backup) ||
		!strings.Contains(out.String(), "database linli: ") || !strings.Contains(out.String(), " collections, ") {
		t.Fatalf("backup: %v %s", err, out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"backup", "--to", backup}, env, &out, &out); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("backup over a backup: %v %s", err, out.String())
	}
	restored := []string{"LINLI_DATA_DIR=" + filepath.Join(root, "restored"), "LINLI_LOG_LEVEL=error"}
	out.Reset()
	if err := run(ctx, []string{"restore", backup}, restored, &out, &out); err != nil ||
		!strings.Contains(out.String(), "checksums verified") || !strings.Contains(out.String(), "ledger_entries") ||
		!strings.Contains(out.String(), "audit linli: ok (") {
		t.Fatalf("restore: %v %s", err, out.String())
	}
	// The restored folder is not empty now: refused, then forced.
	out.Reset()
	if err := run(ctx, []string{"restore", backup}, restored, &out, &out); !errors.Is(err, store.ErrDataDirNotEmpty) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("restore over a store: %v %s", err, out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"restore", "--force", backup}, restored, &out, &out); err != nil || !strings.Contains(out.String(), "audit linli: ok (") {
		t.Fatalf("restore --force: %v %s", err, out.String())
	}
	// A damaged file is named, and nothing is restored.
	if err := os.WriteFile(filepath.Join(backup, "jwt-keys"), []byte("tampered\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(root, "fresh")
	out.Reset()
	err := run(ctx, []string{"restore", backup}, []string{"LINLI_DATA_DIR=" + fresh, "LINLI_LOG_LEVEL=error"}, &out, &out)
	if !errors.Is(err, store.ErrBackupDamaged) || !strings.Contains(err.Error(), "jwt-keys") {
		t.Fatalf("damaged backup: %v %s", err, out.String())
	}
	if _, err := os.Stat(fresh); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a damaged backup made the data folder: %v", err)
	}
}

// Issue 17.1: with MONGODB_URI set, backup and restore say to use
// MongoDB's tools and exit 2; migrate refuses too.
func TestIssue17_1_BackupOnMongoDBSaysMongodump(t *testing.T) {
	t.Parallel()
	env := []string{"MONGODB_URI=mongodb://127.0.0.1:1/", "LINLI_JWT_KEYS=" + testKeys, "LINLI_LOG_LEVEL=error"}
	for _, tc := range []struct {
		args []string
		tool string
	}{
		{[]string{"backup"}, "mongodump"},
		{[]string{"restore", "somewhere"}, "mongorestore"},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), tc.args, env, &out, &errOut)
		var ec exitCode
		if !errors.As(err, &ec) || ec != exitNotEmbedded || !strings.Contains(errOut.String(), tc.tool) || !strings.Contains(errOut.String(), "MONGODB_URI") {
			t.Fatalf("%v: %v; stderr %q; want exit 2 naming %s", tc.args, err, errOut.String(), tc.tool)
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"migrate", "--to", "mongodb://127.0.0.1:2/"}, env, &out, &out); err == nil || !strings.Contains(err.Error(), "MONGODB_URI is set") {
		t.Fatalf("migrate on MongoDB: %v", err)
	}
}

// Issue 17.1: the nightly backup job takes the day's backup once, and
// keeps the configured number of days.
func TestIssue17_1_NightlyBackupKeepsNDays(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "data")
	var out bytes.Buffer
	if err := run(ctx, []string{"seed"}, []string{"LINLI_DATA_DIR=" + data, "LINLI_LOG_LEVEL=error"}, &out, &out); err != nil {
		t.Fatalf("seed: %v %s", err, out.String())
	}
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	// Backups of days gone, and a partial folder a killed run left.
	for _, name := range []string{"nightly-2026-11-28", "nightly-2026-11-29", "nightly-2026-11-30", ".nightly-2026-11-30.partial-123", "linli-20261101T000000Z"} {
		if err := os.MkdirAll(filepath.Join(root, name), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	nightly := store.Nightly{
		Root:    root,
		DataDir: data,
		Version: "test",
		Now:     time.Now,
	}
	job := jobs.NightlyBackup(nightly, loc, 2)
	counts, err := job.Run(ctx, "2026-12-01")
	// Three files: the database, the signing keys and the data keys.
	if err != nil || counts["taken"] != 1 || counts["removed"] != 2 || counts["files"] != 3 {
		t.Fatalf("first run: %v %v; want taken=1 removed=2 files=3", counts, err)
	}
	m, err := store.VerifyBackup(filepath.Join(root, "nightly-2026-12-01"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Files[0].Database != "linli" || m.Files[0].Collections["residents"] == 0 {
		t.Fatalf("the nightly backup misses the database: %+v", m.Files)
	}
	again, err := job.Run(ctx, "2026-12-01")
	if err != nil || again["taken"] != 0 || again["removed"] != 0 {
		t.Fatalf("second run: %v %v; want the day's backup kept as it is", again, err)
	}
	var names []string
	ents, _ := os.ReadDir(root)
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "linli-20261101T000000Z nightly-2026-11-30 nightly-2026-12-01" {
		t.Fatalf("left %v; want yesterday's and today's nightly backups, and the manual one", names)
	}
	// The job is scheduled on the embedded store only, and not when no
	// days are kept.
	for _, tc := range []struct {
		cfg  Config
		want bool
	}{
		{Config{BackupKeepDays: 7}, true},
		{Config{BackupKeepDays: 0}, false},
		{Config{BackupKeepDays: 7, MongoURI: "mongodb://127.0.0.1:1/"}, false},
	} {
		s := &system{
			cfg: tc.cfg,
			loc: loc,
			now: time.Now,
		}
		found := false
		for _, sj := range s.schedule() {
			found = found || sj.job.Name == "backup"
		}
		if found != tc.want {
			t.Errorf("%+v: backup scheduled %v; want %v", tc.cfg, found, tc.want)
		}
	}
}

// startTarget starts a second embedded store on its own loopback port, a
// MongoDB-compatible server to migrate to, and returns its address.
func startTarget(t *testing.T) string {
	t.Helper()
	emb, err := store.StartEmbedded(t.TempDir(), true, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Stop) // after the stores opened on it are closed
	return emb.URI()
}

// openTarget opens database db on the server at uri as the service would
// with MONGODB_URI.
func openTarget(t *testing.T, uri, db string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), uri, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	return st
}

// Issue 17.3: a migration that died part way is resumed by the next run,
// which inserts only what is missing; a third run inserts nothing; counts
// and checksums agree, the target's audit is clean, and a document that
// differs in the target is refused, not overwritten.
func TestIssue17_3_MigrateResumesNeverDuplicatesAndAudits(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	staff := w.login(phoneStaffA)
	for i := range 5 {
		if r := w.call("POST", "/api/v1/residents/"+w.ids[phoneElderA]+"/points/adjustments", staff, award(3, "award"), "Idempotency-Key", fmt.Sprintf("migrate-award-%d", i)); r.Status != http.StatusCreated {
			t.Fatalf("award: %d %s", r.Status, r.Body)
		}
	}
	source := w.sys.store
	target := openTarget(t, startTarget(t), "linli")
	// The service on the target uses the source's data keys (§11).
	keys, err := store.LocalDataKeys(w.sys.cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	target.UseDataKeys(keys)

	// A run that dies after its first batch.
	ctx, cancel := context.WithCancel(context.Background())
	_, err = store.Migrate(ctx, source, target, func(string, int64) { cancel() })
	cancel()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v; want context.Canceled", err)
	}
	partial := totalDocuments(t, target)

	ctx = context.Background()
	copies, err := store.Migrate(ctx, source, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	var present, inserted int64
	for _, c := range copies {
		if c.Inserted+c.Present != c.Documents {
			t.Errorf("%s: %d inserted + %d present; the source holds %d", c.Name, c.Inserted, c.Present, c.Documents)
		}
		sum, n, err := store.Checksum(ctx, source, c.Name)
		if err != nil || sum != c.Checksum || n != c.Documents {
			t.Errorf("%s: source checksum %s (%d) %v; the migration reports %s (%d)", c.Name, sum, n, err, c.Checksum, c.Documents)
		}
		present += c.Present
		inserted += c.Inserted
	}
	// Opening the target for the second run may add documents the source
	// holds too (list heads, marks of work done once at start): they are
	// present, identical, and not inserted again.
	if partial == 0 || present < partial || inserted == 0 {
		t.Fatalf("resumed run: %d present, %d inserted; the interrupted run had copied %d", present, inserted, partial)
	}
	again, err := store.Migrate(ctx, source, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range again {
		if c.Inserted != 0 || c.Present != copies[i].Documents || c.Checksum != copies[i].Checksum {
			t.Errorf("third run, %s: %+v; want nothing inserted, all %d present", c.Name, c, copies[i].Documents)
		}
	}
	if n := totalDocuments(t, target); n != totalDocuments(t, source) {
		t.Fatalf("target holds %d documents; the source %d", n, totalDocuments(t, source))
	}
	want, err := w.sys.ledger.Audit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ledger.New(target, time.Now).Audit(ctx)
	if err != nil || !got.OK() || got.Entries != want.Entries || got.Accounts != want.Accounts {
		t.Fatalf("target audit %+v %v; the source's %+v", got, err, want)
	}

	// A document changed in the target since is not overwritten. (The
	// birth year, not the name: a new name would also add search slots,
	// and dir_lists would differ first.)
	elder, err := target.Resident(ctx, w.ids[phoneElderA])
	if err != nil {
		t.Fatal(err)
	}
	if err := target.SetResidentProfile(ctx, elder.ID, elder.Name, elder.BirthYear+1, elder.HouseholdID); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Migrate(ctx, source, target, nil); !errors.Is(err, store.ErrMigrationMismatch) || !strings.Contains(err.Error(), "residents") {
		t.Fatalf("a differing document: %v; want ErrMigrationMismatch naming residents", err)
	}
}

// totalDocuments counts the documents of every collection of st.
func totalDocuments(t *testing.T, st *store.Store) int64 {
	t.Helper()
	var n int64
	for _, name := range []string{"communities", "buildings", "households", "residents", "logins", "ledger_entries", "ledger_ops", "rewards", "audit_log", "keyed_requests"} {
		c, err := st.CountDocuments(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		n += c
	}
	return n
}

// Issue 17.3: `linli migrate --to URI` copies the embedded store in
// LINLI_DATA_DIR, audits the target, and the service then runs on the
// target (MONGODB_URI) with a clean audit; running it again inserts
// nothing.
func TestIssue17_3_MigrateCommandThenServiceOnTarget(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := []string{"LINLI_DATA_DIR=" + filepath.Join(t.TempDir(), "data"), "LINLI_LOG_LEVEL=error"}
	var out bytes.Buffer
	if err := run(ctx, []string{"seed"}, env, &out, &out); err != nil {
		t.Fatalf("seed: %v %s", err, out.String())
	}
	uri := startTarget(t)
	out.Reset()
	if err := run(ctx, []string{"migrate", "--to", uri}, env, &out, &out); err != nil ||
		!strings.Contains(out.String(), "counts and checksums equal") || !strings.Contains(out.String(), "audit linli (target): ok (") {
		t.Fatalf("migrate: %v %s", err, out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"migrate", "--to", uri}, env, &out, &out); err != nil || !strings.Contains(out.String(), "(0 inserted by this run)") {
		t.Fatalf("migrate again: %v %s", err, out.String())
	}
	out.Reset()
	// The service on the target takes the data keys the embedded store
	// kept in its data folder (docs/ARCHITECTURE.md §11).
	keyFile, err := os.ReadFile(filepath.Join(strings.TrimPrefix(env[0], "LINLI_DATA_DIR="), store.DataKeysFile))
	if err != nil {
		t.Fatal(err)
	}
	onTarget := append([]string{"MONGODB_URI=" + uri, "LINLI_JWT_KEYS=" + testKeys, "LINLI_LOG_LEVEL=error"}, strings.Fields(string(keyFile))...)
	if err := run(ctx, []string{"audit"}, onTarget, &out, &out); err != nil || !strings.Contains(out.String(), `"problems": []`) {
		t.Fatalf("audit on the target: %v %s", err, out.String())
	}
	if err := run(ctx, []string{"migrate"}, env, &out, &out); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Fatalf("migrate without --to: %v", err)
	}
	empty := []string{"LINLI_DATA_DIR=" + t.TempDir(), "LINLI_LOG_LEVEL=error"}
	if err := run(ctx, []string{"migrate", "--to", uri}, empty, &out, &out); err == nil || !strings.Contains(err.Error(), "no database linli") {
		t.Fatalf("migrate from an empty data folder: %v", err)
	}
}
