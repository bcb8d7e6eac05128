package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/store"
)

// The backup, restore and migrate commands (docs/ARCHITECTURE.md §10).

// commandTimeout is the deadline of each store operation of restore and
// migrate, which read whole collections.
const commandTimeout = 30 * time.Minute

// exitNotEmbedded is the exit code of backup, restore and migrate when the
// service uses a MongoDB (MONGODB_URI) rather than the embedded store.
const exitNotEmbedded = 2

// buildVersion names the build: the module version and, when the binary
// was built from a git checkout, the commit.
func buildVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" {
			v += "+" + s.Value
		}
	}
	return v
}

// parseArgs parses flags given before, between or after the positional
// arguments, which it returns.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// notEmbedded tells the operator of a MongoDB deployment which tool does
// the job instead, and returns the exit code for it.
func notEmbedded(stderr io.Writer, command, tool string) error {
	fmt.Fprintf(stderr, "linli: %s works on the embedded store (LINLI_DATA_DIR); this service uses MongoDB (MONGODB_URI is set).\n"+
		"Use MongoDB's own tool instead, e.g.:\n  %s\n", command, tool)
	return exitCode(exitNotEmbedded)
}

// backupCommand copies the embedded store's database files, while the
// service runs, into a new backup folder, and prints the manifest.
func backupCommand(ctx context.Context, cfg Config, args []string, stdout, stderr io.Writer) error {
	if !cfg.embedded() {
		return notEmbedded(stderr, "backup", `mongodump --uri "$MONGODB_URI" --db `+cfg.DB+` --gzip --archive=linli-$(date +%F).archive`)
	}
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	to := fs.String("to", "", "the backup folder to create (must not exist, or be empty)")
	rest, err := parseArgs(fs, args)
	if err != nil || len(rest) > 0 {
		return fmt.Errorf("usage: backup [--to DIR]")
	}
	now := cfg.clock()()
	if *to == "" {
		*to = filepath.Join(cfg.BackupDir, "linli-"+now.UTC().Format("20060102T150405Z"))
	}
	start := time.Now()
	m, err := store.Backup(ctx, store.BackupOptions{
		DataDir: cfg.DataDir,
		To:      *to,
		Taken:   now,
		Version: buildVersion(),
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup in %s (taken %s, version %s, %s)\n", *to, m.Taken.Format(time.RFC3339), m.Version, time.Since(start).Round(time.Millisecond))
	printFiles(stdout, m)
	return nil
}

// printFiles lists the files of a backup with their sizes, checksums and,
// for a database, its collections' document counts.
func printFiles(w io.Writer, m store.Manifest) {
	for _, f := range m.Files {
		fmt.Fprintf(w, "  %-24s %12d bytes  sha256 %s\n", f.Name, f.Bytes, f.SHA256)
		if f.Database == "" {
			continue
		}
		fmt.Fprintf(w, "    database %s: %d collections, %d documents\n", f.Database, len(f.Collections), f.Documents())
		for _, name := range sortedKeys(f.Collections) {
			if n := f.Collections[name]; n > 0 {
				fmt.Fprintf(w, "      %-22s %d\n", name, n)
			}
		}
	}
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// restoreCommand restores a backup into LINLI_DATA_DIR, which must be
// empty unless --force, then audits every restored database and says what
// it restored. It exits 1 if an audit finds a problem.
func restoreCommand(ctx context.Context, cfg Config, args []string, stdout, stderr io.Writer) error {
	if !cfg.embedded() {
		return notEmbedded(stderr, "restore", `mongorestore --uri "$MONGODB_URI" --gzip --archive=linli-YYYY-MM-DD.archive`)
	}
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	force := fs.Bool("force", false, "restore into a data folder that is not empty, replacing the files the backup holds")
	rest, err := parseArgs(fs, args)
	if err != nil || len(rest) != 1 {
		return fmt.Errorf("usage: restore FROM [--force]")
	}
	start := time.Now()
	m, err := store.Restore(ctx, rest[0], cfg.DataDir, *force)
	if errors.Is(err, store.ErrDataDirNotEmpty) {
		return fmt.Errorf("%w; stop the service and pass --force to replace its files", err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %s (taken %s, version %s) into %s; checksums verified (%s)\n",
		rest[0], m.Taken.Format(time.RFC3339), m.Version, cfg.DataDir, time.Since(start).Round(time.Millisecond))
	printFiles(stdout, m)
	ok, err := auditRestored(ctx, cfg, m, stdout)
	if err != nil {
		return err
	}
	if !ok {
		return exitCode(1)
	}
	return nil
}

// auditRestored checks that each restored database holds the documents
// the manifest counted, then starts the embedded store on the restored
// data folder and audits each ledger; it reports whether every audit
// passed.
func auditRestored(ctx context.Context, cfg Config, m store.Manifest, stdout io.Writer) (bool, error) {
	for _, f := range m.Files {
		if f.Database == "" {
			continue
		}
		// Counted in SQLite: FerretDB counts by reading every document.
		counts, err := store.CountCollections(ctx, filepath.Join(cfg.DataDir, f.Name))
		if err != nil {
			return false, fmt.Errorf("restore: count %s: %w", f.Database, err)
		}
		for _, name := range sortedKeys(f.Collections) {
			if counts[name] != f.Collections[name] {
				return false, fmt.Errorf("restore: %s.%s holds %d documents; the backup counted %d", f.Database, name, counts[name], f.Collections[name])
			}
		}
	}
	emb, err := store.StartEmbedded(cfg.DataDir, cfg.SQLiteSync == "normal", nil)
	if err != nil {
		return false, err
	}
	defer emb.Stop()
	allOK := true
	for _, f := range m.Files {
		if f.Database == "" {
			continue
		}
		ok, err := auditDatabase(ctx, cfg, emb, f, stdout)
		if err != nil {
			return false, err
		}
		allOK = allOK && ok
	}
	return allOK, nil
}

// auditDatabase runs the ledger audit on one restored database.
func auditDatabase(ctx context.Context, cfg Config, emb *store.Embedded, f store.BackupFile, stdout io.Writer) (bool, error) {
	st, err := store.OpenWithTimeout(ctx, emb.URI(), f.Database, emb, commandTimeout)
	if err != nil {
		return false, err
	}
	defer st.Close(context.Background())
	if _, ok := f.Collections["ledger_entries"]; !ok {
		fmt.Fprintf(stdout, "audit %s: no ledger\n", f.Database)
		return true, nil
	}
	return printAudit(ctx, st, cfg, f.Database, stdout)
}

// printAudit runs the ledger audit on st and prints its outcome, with the
// first problems when there are any; it reports whether it passed.
func printAudit(ctx context.Context, st *store.Store, cfg Config, db string, stdout io.Writer) (bool, error) {
	r, err := ledger.New(st, cfg.clock()).Audit(ctx)
	if err != nil {
		return false, err
	}
	if r.OK() {
		fmt.Fprintf(stdout, "audit %s: ok (%d accounts, %d entries)\n", db, r.Accounts, r.Entries)
		return true, nil
	}
	fmt.Fprintf(stdout, "audit %s: %d problems (%d accounts, %d entries)\n", db, len(r.Problems), r.Accounts, r.Entries)
	for i, p := range r.Problems {
		if i == 10 {
			fmt.Fprintf(stdout, "  … and %d more (run `linli audit`)\n", len(r.Problems)-i)
			break
		}
		fmt.Fprintf(stdout, "  %+v\n", p)
	}
	return false, nil
}

// migrateCommand copies the embedded store's database LINLI_DB to the
// MongoDB at --to, verifies it, and audits the copy there. The service
// must be stopped first.
func migrateCommand(ctx context.Context, cfg Config, log *slog.Logger, args []string, stdout, stderr io.Writer) error {
	if !cfg.embedded() {
		return fmt.Errorf("migrate copies the embedded store in LINLI_DATA_DIR to a MongoDB; MONGODB_URI is set, so this service already uses one (unset it to migrate)")
	}
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	to := fs.String("to", "", "the MongoDB connection string to copy to")
	db := fs.String("db", cfg.DB, "the database name in the target")
	rest, err := parseArgs(fs, args)
	if err != nil || len(rest) > 0 || *to == "" || *db == "" {
		return fmt.Errorf("usage: migrate --to MONGODB_URI [--db NAME]")
	}
	if !strings.HasPrefix(*to, "mongodb://") && !strings.HasPrefix(*to, "mongodb+srv://") {
		return fmt.Errorf("migrate: --to must be a mongodb:// or mongodb+srv:// connection string")
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, cfg.DB+".sqlite")); err != nil {
		return fmt.Errorf("migrate: no database %s in LINLI_DATA_DIR %s: %w", cfg.DB, cfg.DataDir, err)
	}
	emb, err := store.StartEmbedded(cfg.DataDir, cfg.SQLiteSync == "normal", nil)
	if err != nil {
		return err
	}
	defer emb.Stop()
	from, err := store.OpenWithTimeout(ctx, emb.URI(), cfg.DB, emb, commandTimeout)
	if err != nil {
		return err
	}
	defer from.Close(context.Background())
	target, err := store.OpenWithTimeout(ctx, *to, *db, nil, commandTimeout)
	if err != nil {
		return fmt.Errorf("migrate: target: %w", err)
	}
	defer target.Close(context.Background())
	start := time.Now()
	copies, err := store.Migrate(ctx, from, target, func(col string, done int64) {
		log.Debug("migrate", "collection", col, "done", done)
	})
	if err != nil {
		return err
	}
	var docs, inserted int64
	for _, c := range copies {
		docs += c.Documents
		inserted += c.Inserted
		if c.Documents > 0 {
			fmt.Fprintf(stdout, "  %-22s %8d documents (%d inserted now, %d already there)  sha256 %s\n", c.Name, c.Documents, c.Inserted, c.Present, c.Checksum)
		}
	}
	fmt.Fprintf(stdout, "migrated %s: %d collections, %d documents (%d inserted by this run), counts and checksums equal on both sides (%s)\n",
		cfg.DB, len(copies), docs, inserted, time.Since(start).Round(time.Millisecond))
	ok, err := printAudit(ctx, target, cfg, *db+" (target)", stdout)
	if err != nil {
		return err
	}
	if !ok {
		return exitCode(1)
	}
	fmt.Fprintf(stdout, "next: start the service with MONGODB_URI set to the target (and LINLI_DB=%s)\n", *db)
	return nil
}
