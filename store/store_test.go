package store_test

import (
	"context"
	"database/sql"
	_ "modernc.org/sqlite"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linli-community/linli/store"
)

// The embedded store gets, on every collection's table, the index on the
// expression FerretDB filters _id by, and SQLite uses it for that lookup;
// without it every find by _id scans the table (docs/ARCHITECTURE.md §9).
func TestEmbeddedIDIndexIsUsed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	emb, err := store.StartEmbedded(dir, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, emb.URI(), "linli", emb)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // a second start finds everything in place
		if err := st.EnsureSchema(ctx); err != nil {
			t.Fatal(err)
		}
	}
	_ = st.Close(ctx)
	emb.Stop()

	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "linli.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name, table_name FROM _ferretdb_collections`)
	if err != nil {
		t.Fatal(err)
	}
	tables := map[string]string{}
	for rows.Next() {
		var n, tb string
		if err := rows.Scan(&n, &tb); err != nil {
			t.Fatal(err)
		}
		tables[n] = tb
	}
	rows.Close()
	for _, want := range []string{"ledger_entries", "ledger_ops", "ledger_heads", "residents", "logins", "sessions"} {
		tb, ok := tables[want]
		if !ok {
			t.Fatalf("collection %s was not created at start", want)
		}
		var plan strings.Builder
		r, err := db.Query(`EXPLAIN QUERY PLAN SELECT _ferretdb_sjson FROM "`+tb+`" WHERE _ferretdb_sjson->'$._id' = ?`, "x")
		if err != nil {
			t.Fatal(err)
		}
		for r.Next() {
			var id, parent, notused int
			var detail string
			_ = r.Scan(&id, &parent, &notused, &detail)
			plan.WriteString(detail)
		}
		r.Close()
		if !strings.Contains(plan.String(), "USING INDEX") {
			t.Errorf("%s: _id lookup plan %q does not use an index", want, plan.String())
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "linli.sqlite")); err != nil {
		t.Fatal(err)
	}
}
