// Package storetest gives tests a real store: a fresh database per test on
// one embedded server per test binary, or on the MongoDB at MONGODB_URI
// when it is set, so the same tests run against both.
//
// The embedded server is a scratch one (store.StartScratch): nothing waits
// for the disk, which is most of what a test's schema used to cost. The
// schema itself is still built per database: FerretDB's SQLite backend
// learns of database files only when it starts, so a template database
// copied under a new name would not be seen by the running server.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/linli-community/linli/store"
)

var (
	once     sync.Once
	embedded *store.Embedded
	dir      string
	startErr error
)

// server returns the address of the store the tests use: MONGODB_URI if
// set, otherwise this binary's scratch embedded server, started once.
func server() (string, *store.Embedded, error) {
	if uri := os.Getenv("MONGODB_URI"); uri != "" {
		return uri, nil, nil
	}
	once.Do(func() {
		dir, startErr = os.MkdirTemp("", "linli-test-")
		if startErr != nil {
			return
		}
		embedded, startErr = store.StartScratch(dir)
	})
	if startErr != nil {
		return "", nil, startErr
	}
	return embedded.URI(), embedded, nil
}

// Main runs the tests of a package and removes the embedded store's files
// afterwards. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if embedded != nil {
		embedded.Stop()
		_ = os.RemoveAll(dir)
	}
	os.Exit(code)
}

// DataKeys and IndexKey seal the personal fields of the stores New
// returns; fixed, so a test may open a second store on the same database.
const (
	DataKeys = "test1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	IndexKey = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
)

// New returns a store on a fresh database with its schema in place, dropped
// when the test ends.
func New(t testing.TB) *store.Store {
	t.Helper()
	uri, emb, err := server()
	if err != nil {
		t.Fatalf("storetest: start store: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := store.Open(ctx, uri, "t"+randomHex(6), emb)
	if err != nil {
		t.Fatalf("storetest: open: %v", err)
	}
	if err := s.EnsureSchema(ctx); err != nil {
		t.Fatalf("storetest: schema: %v", err)
	}
	keys, err := store.ParseDataKeys(DataKeys, IndexKey)
	if err != nil {
		t.Fatalf("storetest: data keys: %v", err)
	}
	s.UseDataKeys(keys)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = s.Drop(ctx)
		_ = s.Close(ctx)
	})
	return s
}

// randomHex returns n random bytes in hex, for database names.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("storetest: random: %v", err))
	}
	return hex.EncodeToString(b)
}
