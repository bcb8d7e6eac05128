package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/linli-community/linli/atonce"
)

// The scaffolding the tests of lists and their start-up backfills share:
// their store and its replicas, the walk over a list's pages, the ids a
// read gives, the counts of commands sent around a call, and the steps of
// "stored before the list existed, listed once at the next start".

// listsServer is one embedded server for these tests when the test
// binary's TestMain gave them none (sharedDatabase); each test has a
// database of its own.
var listsServer = sync.OnceValues(func() (*Embedded, error) {
	dir, err := os.MkdirTemp("", "linli-lists-")
	if err != nil {
		return nil, err
	}
	return StartScratch(dir)
})

// listsStore is a store on a fresh database: on the test binary's store
// server (sharedDatabase), or else on listsServer.
func listsStore(t testing.TB) *Store {
	t.Helper()
	emb, name, err := listsDatabase()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := Open(ctx, emb.URI(), name, emb)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Drop(context.Background()); _ = s.Close(context.Background()) })
	if err := s.EnsureSchema(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// listsDatabase returns the server and name of a fresh database for
// listsStore.
func listsDatabase() (*Embedded, string, error) {
	if sharedDatabase != nil {
		emb, name, err := sharedDatabase()
		if err != nil || emb != nil {
			return emb, name, err
		}
	}
	emb, err := listsServer()
	return emb, fmt.Sprintf("lists%d", listsDB.Add(1)), err
}

// listsDB numbers the databases listsStore opens on listsServer.
var listsDB atomic.Int64

// openReplica is another store on s's database and embedded server, as a
// second replica of the service (or a process that never saw what s
// holds in memory) opens it; it is closed when the test ends.
func openReplica(t testing.TB, s *Store) *Store {
	t.Helper()
	other, err := Open(context.Background(), s.embedded.URI(), s.db.Name(), s.embedded)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close(context.Background()) })
	return other
}

// inTurn is the store goroutine i of a race uses: stores[0], stores[1], …
// and round again.
func inTurn(i int, stores ...*Store) *Store {
	return stores[i%len(stores)]
}

// commandWatch counts the commands some stores send from its start on
// (CommandCounts, summed over the stores).
type commandWatch struct {
	stores     []*Store
	startScans int64
	startFinds int64
}

// watchCommands starts a commandWatch over stores.
func watchCommands(stores ...*Store) commandWatch {
	w := commandWatch{stores: stores}
	w.startScans, w.startFinds = w.totals()
	return w
}

// totals are the scans and finds the watched stores have sent in all.
func (w commandWatch) totals() (scans, finds int64) {
	for _, s := range w.stores {
		counts := s.CommandCounts()
		scans += counts.Scans
		finds += counts.Finds
	}
	return scans, finds
}

// scans is how many scans the watched stores sent since the start.
func (w commandWatch) scans() int64 {
	scans, _ := w.totals()
	return scans - w.startScans
}

// finds is how many finds the watched stores sent since the start.
func (w commandWatch) finds() int64 {
	_, finds := w.totals()
	return finds - w.startFinds
}

// wantNoScans fails the test if the watched stores sent a scan since the
// start; what names the work watched ("reading the lists").
func (w commandWatch) wantNoScans(t *testing.T, what string) {
	t.Helper()
	if scans := w.scans(); scans != 0 {
		t.Fatalf("%s sent %d scans; want none", what, scans)
	}
}

// storeEach runs store(0), store(1), … store(n-1) in order, as a test
// stores its n documents, and fails the test at the first error.
func storeEach(t testing.TB, n int, store func(i int) error) {
	t.Helper()
	for i := range n {
		if err := store(i); err != nil {
			t.Fatal(err)
		}
	}
}

// forgetBackfills deletes the done marks of the named one-off start-up
// steps (`done:<step>` in list_heads), as on a store an older version
// left before the lists existed, so that the next start runs them again.
func forgetBackfills(t *testing.T, s *Store, steps ...string) {
	t.Helper()
	for _, step := range steps {
		if err := s.deleteByID(context.Background(), colListHeads, "done:"+step); err != nil {
			t.Fatal(err)
		}
	}
}

// startTwice runs start (EnsureSchema, or the backfills it runs) twice in
// a row, failing the test if either fails: the first start does the work,
// the second must find it done and list nothing again.
func startTwice(t *testing.T, start func(context.Context) error) {
	t.Helper()
	for range 2 {
		if err := start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// startAtOnce has n replicas run start at once, goroutine i on the stores
// in turn (inTurn), as replicas starting together do, and fails the test
// if any of them fails.
func startAtOnce(t *testing.T, n int, start func(*Store, context.Context) error, stores ...*Store) {
	t.Helper()
	errs := atonce.Errors(n, func(i int) error {
		return start(inTurn(i, stores...), context.Background())
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("starting at once: %v", err)
	}
}

// idsOf is the id of each of items, in order.
func idsOf[T any](items []T, id func(T) string) []string {
	out := make([]string, len(items))
	for i, item := range items {
		out[i] = id(item)
	}
	return out
}

// walkPages reads every page of a list by cursor, from the first (an empty
// cursor) until a page says there is no next, and returns the items in the
// order read. A read that fails, or pages that never end, fail the test.
func walkPages[T any](t *testing.T, page func(cursor string) ([]T, string, error)) []T {
	t.Helper()
	var items []T
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("the pages never end")
		}
		got, next, err := page(cursor)
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, got...)
		if next == "" {
			return items
		}
		cursor = next
	}
}

// walkIDs is walkPages giving the id of each item read, in the order
// read; id may fail the test on an item that does not belong.
func walkIDs[T any](t *testing.T, id func(T) string, page func(cursor string) ([]T, string, error)) []string {
	t.Helper()
	return idsOf(walkPages(t, page), id)
}
