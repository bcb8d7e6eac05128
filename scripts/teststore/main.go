// Command teststore runs the tests' scratch embedded store in a process of
// its own, built without the race detector: the tests (store/storetest)
// start it when LINLI_TEST_STORE_BIN names its binary, as scripts/test.sh
// does. The store's own code (FerretDB and its SQLite) then runs at full
// speed while the tests' code still runs under -race; it is the same
// server the tests would otherwise start in their own process.
//
// It starts the store in -dir (synchronous=OFF: data nobody needs after
// the tests), prints its mongodb:// address on one line, and stops the
// store when its standard input closes, which it does when the test
// process ends, however it ends.
//
// Meanwhile it keeps a few databases ready with their schema built
// (store.EnsureSchema, here at full speed and ahead of need): each line
// "database" on its standard input is answered with one line, the name
// of a ready database, or "error: " and why. A test then opens that
// database instead of building a schema of its own under -race.
//
//	go build -o /tmp/teststore ./scripts/teststore
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"

	"github.com/linli-community/linli/store"
)

// ready is how many databases are kept ready beyond the one being built.
const ready = 2

// main starts the store, prints its address, answers requests for
// databases and waits for standard input to close.
func main() {
	dir := flag.String("dir", "", "directory of the store's files")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "teststore: -dir is required")
		os.Exit(2)
	}
	emb, err := store.StartScratch(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "teststore:", err)
		os.Exit(1)
	}
	fmt.Println(emb.URI())
	ctx, cancel := context.WithCancel(context.Background())
	databases := make(chan string, ready)
	go buildDatabases(ctx, emb, databases)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if in.Text() == "database" {
			fmt.Println(<-databases)
		}
	}
	cancel()
	// The tests' clients are gone with their process; their connections
	// closed with it, so Stop does not wait on them.
	emb.Stop()
}

// buildDatabases builds databases with their schema, one at a time, and
// hands each name to out (or "error: " and why), until ctx ends.
func buildDatabases(ctx context.Context, emb *store.Embedded, out chan<- string) {
	for {
		name, err := buildDatabase(ctx, emb)
		if err != nil {
			name = "error: " + err.Error()
		}
		select {
		case out <- name:
		case <-ctx.Done():
			return
		}
	}
}

// buildDatabase creates a database with a random name and its schema, and
// returns the name.
func buildDatabase(ctx context.Context, emb *store.Embedded) (string, error) {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	name := "t" + hex.EncodeToString(b)
	s, err := store.Open(ctx, emb.URI(), name, emb)
	if err != nil {
		return "", err
	}
	defer func() { _ = s.Close(context.Background()) }()
	if err := s.EnsureSchema(ctx); err != nil {
		return "", err
	}
	return name, nil
}
