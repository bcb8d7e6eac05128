package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/FerretDB/FerretDB/ferretdb"
	_ "modernc.org/sqlite" // registers the "sqlite" driver used to add the _id index
)

// Embedded is a FerretDB server running inside this process on loopback,
// keeping its data in SQLite files in Dir.
type Embedded struct {
	Dir     string
	uri     string
	cancel  context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	writers map[string]chan struct{} // per database (SQLite file): see Store.write
}

// writer is the turn that writes to database db take.
func (e *Embedded) writer(db string) chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	w, ok := e.writers[db]
	if !ok {
		w = make(chan struct{}, 1)
		e.writers[db] = w
	}
	return w
}

// starting serialises ferretdb.New, which sets a package-level variable of
// FerretDB's: two servers started at once (a restore check or a migration
// target next to the running store) would race on it.
var starting sync.Mutex

// StartEmbedded starts the embedded store on a free loopback port. With
// syncNormal the SQLite files are opened with synchronous=NORMAL: faster, and
// still safe against a killed process, but a power loss may drop the last
// commits. The default (FULL) is the right one for a ledger.
func StartEmbedded(dir string, syncNormal bool, log *slog.Logger) (*Embedded, error) {
	synchronous := ""
	if syncNormal {
		synchronous = "normal"
	}
	return startEmbedded(dir, synchronous, log)
}

// StartScratch starts an embedded store for data nobody needs after the
// process: tests. Its SQLite files are opened with synchronous=OFF, so no
// write waits for the disk; a killed process loses nothing the operating
// system was given, a power loss may lose everything. Never for real data.
func StartScratch(dir string) (*Embedded, error) {
	return startEmbedded(dir, "off", nil)
}

// startEmbedded starts the embedded store in dir with SQLite's synchronous
// pragma set to synchronous ("" keeps SQLite's default, FULL).
func startEmbedded(dir, synchronous string, log *slog.Logger) (*Embedded, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("store: data dir: %w", err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("store: data dir: %w", err)
	}
	if log == nil {
		// Discarded without being formatted: FerretDB makes a logger with
		// its attributes for every command, and a text handler writing to
		// io.Discard would still format them.
		log = slog.New(slog.DiscardHandler)
	}
	url := "file:" + abs + "/"
	if synchronous != "" {
		url += "?_pragma=synchronous(" + synchronous + ")"
	}
	starting.Lock()
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Handler:   "sqlite",
		SQLiteURL: url,
		// FerretDB logs every error reply (a duplicate key is one) as a
		// warning; only its errors are worth keeping.
		Logger: log,
	})
	starting.Unlock()
	if err != nil {
		return nil, fmt.Errorf("store: embedded: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Embedded{
		Dir:     abs,
		cancel:  cancel,
		done:    make(chan struct{}),
		writers: map[string]chan struct{}{},
	}
	go func() {
		defer close(e.done)
		_ = f.Run(ctx)
	}()
	e.uri = f.MongoDBURI() // waits until it listens
	return e, nil
}

// URI is the mongodb:// address of the embedded server.
func (e *Embedded) URI() string { return e.uri }

// Stop shuts the server down and waits for it. Disconnect clients first, or
// it waits for their idle connections. On a handle from AttachEmbedded it
// does nothing: the process that runs the server stops it.
func (e *Embedded) Stop() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	<-e.done
}

// AttachEmbedded returns a handle on an embedded store that another process
// runs at uri with its files in dir (the tests' store server,
// scripts/teststore): the handle adds the _id indexes to its files and
// gives this process's writes to each database their turns, as for a
// server started here. Only this process may write to the databases it
// opens through the handle.
func AttachEmbedded(dir, uri string) *Embedded {
	return &Embedded{
		Dir:     dir,
		uri:     uri,
		writers: map[string]chan struct{}{},
	}
}

// idIndexExpression is the expression FerretDB's SQLite backend filters by
// for {_id: …}, which indexIDs indexes.
const idIndexExpression = `_ferretdb_sjson->'$._id'`

// indexIDs gives the SQLite table of every collection of db a unique
// expression index on exactly the expression FerretDB's SQLite backend
// filters by for {_id: …}, `<table>_linli_uid`, and removes FerretDB's own
// _id index, which is on a different expression (`->"_id"`: the same
// value, but SQLite matches an index to a query by how its expression is
// written), so a find by _id never used it. Without ours every find by _id
// scans the table; with both, every insert kept two indexes of the same
// values. Ours is unique, so it enforces what FerretDB's did: a second
// document with an _id is refused with the same duplicate-key error
// (docs/ARCHITECTURE.md §9). A table indexed by an earlier version (its
// `<table>_linli_id`, not unique, beside FerretDB's) is given the unique
// one and loses both in the same transaction, so no moment goes without a
// unique index on _id.
func (e *Embedded) indexIDs(ctx context.Context, db string) error {
	path := e.sqliteFile(db)
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("store: sqlite file: %w", err)
	}
	conn, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("store: open sqlite: %w", err)
	}
	defer conn.Close()
	tables, err := collectionTables(ctx, conn)
	if err != nil {
		return err
	}
	// One transaction for all of them: one commit instead of one per table.
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: index ids: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	for _, table := range tables {
		for _, q := range []string{
			fmt.Sprintf(`CREATE UNIQUE INDEX IF NOT EXISTS %q ON %q (%s)`, table+"_linli_uid", table, idIndexExpression),
			fmt.Sprintf(`DROP INDEX IF EXISTS %q`, table+"_linli_id"), // an earlier version's, not unique
			fmt.Sprintf(`DROP INDEX IF EXISTS %q`, table+"__id_"),     // FerretDB's
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("store: index %s: %w", table, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: index ids: %w", err)
	}
	return nil
}

// sqliteFile is the path of database db's SQLite file.
func (e *Embedded) sqliteFile(db string) string { return filepath.Join(e.Dir, db+sqliteExt) }

// collectionTables reads FerretDB's catalogue in an open SQLite file: the
// table of each collection, by the collection's name.
func collectionTables(ctx context.Context, conn *sql.DB) (map[string]string, error) {
	rows, err := conn.QueryContext(ctx, `SELECT name, table_name FROM _ferretdb_collections`)
	if err != nil {
		return nil, fmt.Errorf("store: list collections: %w", err)
	}
	tables := map[string]string{}
	for rows.Next() {
		var name, table string
		if err := rows.Scan(&name, &table); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: list collections: %w", err)
		}
		tables[name] = table
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("store: list collections: %w", err)
	}
	return tables, nil
}
