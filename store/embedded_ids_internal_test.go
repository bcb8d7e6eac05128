package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/linli-community/linli/models"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// idIndexes reads, from the SQLite file of s's database, each collection
// table's indexes on _id: whether it has the unique index on the
// expression FerretDB filters by (ours), an earlier version's index on it
// that is not unique, and FerretDB's own; and which index SQLite plans to
// use for a find by _id in one of them (tb_records').
func idIndexes(t *testing.T, s *Store) (ours, earlier, ferret map[string]bool, plan string) {
	t.Helper()
	conn, err := sql.Open("sqlite", "file:"+s.embedded.sqliteFile(s.db.Name())+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ours, earlier, ferret = map[string]bool{}, map[string]bool{}, map[string]bool{}
	tables, err := collectionTables(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range tables {
		var n int
		err := conn.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ? AND sql LIKE 'CREATE UNIQUE INDEX%'`, table+"_linli_uid").Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		ours[table] = n == 1
		for name, into := range map[string]map[string]bool{table + "_linli_id": earlier, table + "__id_": ferret} {
			if err := conn.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ?`, name).Scan(&n); err != nil {
				t.Fatal(err)
			}
			into[table] = n == 1
		}
	}
	pr, err := conn.Query(fmt.Sprintf(`EXPLAIN QUERY PLAN SELECT _ferretdb_sjson FROM %q WHERE %s = ?`, tables[colRecords], idIndexExpression), `"x"`)
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	for pr.Next() {
		var id, parent, unused int
		var detail string
		if err := pr.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan += detail + "; "
	}
	return ours, earlier, ferret, plan
}

// On the embedded store every collection's table has one index on _id: a
// unique one on the expression FerretDB filters by, which every find by
// _id uses and which refuses a second document with an _id as FerretDB's
// own index did. A database an earlier version indexed (FerretDB's index
// and a second one, not unique, on that expression) is given it at its
// next start and loses both.
func TestEmbeddedStore_OneUniqueIndexOnIDPerCollection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := listsStore(t)
	if s.embedded == nil {
		t.Skip("the embedded store's SQLite indexes; this store is MongoDB")
	}
	check := func(when string) {
		t.Helper()
		ours, earlier, ferret, plan := idIndexes(t, s)
		if len(ours) < len(allCollections) {
			t.Fatalf("%s: %d tables; want one per collection (%d)", when, len(ours), len(allCollections))
		}
		for table := range ours {
			if !ours[table] || earlier[table] || ferret[table] {
				t.Errorf("%s: table %s: unique index on the filtered expression %t, an earlier version's %t, FerretDB's %t; want only the first", when, table, ours[table], earlier[table], ferret[table])
			}
		}
		if !strings.Contains(plan, "USING INDEX") || !strings.Contains(plan, "_linli_uid") {
			t.Errorf("%s: a find by _id is planned as %q; want it to use the unique index", when, plan)
		}
		// Refused twice over: the first insert of an _id wins, the
		// second is the store's duplicate key.
		id := "dup-" + when
		if err := s.insert(ctx, colRecords, bson.D{{Key: "_id", Value: id}}); err != nil {
			t.Fatalf("%s: first insert: %v", when, err)
		}
		if err := s.insert(ctx, colRecords, bson.D{{Key: "_id", Value: id}, {Key: "other", Value: 1}}); !errors.Is(err, models.ErrConflict) {
			t.Fatalf("%s: a second document with _id %s: %v; want models.ErrConflict", when, id, err)
		}
	}
	check("a new database")

	// The database as an earlier version left it: FerretDB's unique index
	// on `->"_id"` and a second index, not unique, on the filtered
	// expression.
	conn, err := sql.Open("sqlite", "file:"+s.embedded.sqliteFile(s.db.Name())+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	names, err := collectionTables(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range names {
		for _, q := range []string{
			fmt.Sprintf(`CREATE UNIQUE INDEX %q ON %q (_ferretdb_sjson->"_id")`, table+"__id_", table),
			fmt.Sprintf(`CREATE INDEX %q ON %q (%s)`, table+"_linli_id", table, idIndexExpression),
			fmt.Sprintf(`DROP INDEX %q`, table+"_linli_uid"),
		} {
			if _, err := conn.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
	if _, earlier, ferret, _ := idIndexes(t, s); !earlier[names[colRecords]] || !ferret[names[colRecords]] {
		t.Fatalf("the earlier version's indexes were not made: %t %t", earlier[names[colRecords]], ferret[names[colRecords]])
	}
	if _, err := s.c(colListHeads).DeleteOne(ctx, bson.D{{Key: "_id", Value: schemaMark()}}); err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureSchema(ctx); err != nil {
		t.Fatal(err)
	}
	check("the next start")
}
