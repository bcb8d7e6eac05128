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
//	go build -o /tmp/teststore ./scripts/teststore
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/linli-community/linli/store"
)

// main starts the store, prints its address and waits for standard input
// to close.
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
	_, _ = io.Copy(io.Discard, os.Stdin)
	// The tests' clients are gone with their process; their connections
	// closed with it, so Stop does not wait on them.
	emb.Stop()
}
