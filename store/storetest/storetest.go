// Package storetest gives tests a real store: a fresh database per test on
// one embedded server per test binary, or on the MongoDB at MONGODB_URI
// when it is set, so the same tests run against both.
//
// The embedded server is a scratch one (store.StartScratch): nothing waits
// for the disk, which is most of what a test's schema used to cost. The
// schema itself is still built per database: FerretDB's SQLite backend
// learns of database files only when it starts, so a template database
// copied under a new name would not be seen by the running server.
//
// scripts/test.sh runs that server in a process of its own, built without
// the race detector (scripts/teststore, named by LINLI_TEST_STORE_BIN): the
// tests' code still runs under -race, the store's own code at full speed.
// Without the variable the server runs in the test binary.
package storetest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
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
	// child is the store server's process when the store runs in one
	// (LINLI_TEST_STORE_BIN), and childIn its standard input: closing it
	// stops the server.
	child   *exec.Cmd
	childIn io.WriteCloser
	// childOut reads the server's answers; childTurn lets one test at a
	// time ask it for a database.
	childOut  *bufio.Reader
	childTurn sync.Mutex
)

// server returns the address of the store the tests use: MONGODB_URI if
// set, otherwise this binary's scratch embedded server, started once: in
// a process of its own when LINLI_TEST_STORE_BIN names the teststore
// binary (scripts/test.sh builds it), in this process otherwise.
func server() (string, *store.Embedded, error) {
	if uri := os.Getenv("MONGODB_URI"); uri != "" {
		return uri, nil, nil
	}
	once.Do(func() {
		dir, startErr = os.MkdirTemp("", "linli-test-")
		if startErr != nil {
			return
		}
		if bin := os.Getenv("LINLI_TEST_STORE_BIN"); bin != "" {
			embedded, startErr = startChild(bin, dir)
			return
		}
		embedded, startErr = store.StartScratch(dir)
	})
	if startErr != nil {
		return "", nil, startErr
	}
	return embedded.URI(), embedded, nil
}

// startChild runs the store server bin on dir and returns a handle on it,
// once it has printed its address. The server stops when this process
// closes its standard input (Main does; so does the end of this process).
func startChild(bin, dir string) (*store.Embedded, error) {
	cmd := exec.Command(bin, "-dir", dir)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("storetest: store server: %w", err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("storetest: store server: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("storetest: start store server %s: %w", bin, err)
	}
	childOut = bufio.NewReader(out)
	uri, err := childOut.ReadString('\n')
	if err != nil {
		_ = in.Close()
		_ = cmd.Wait()
		return nil, fmt.Errorf("storetest: store server %s gave no address: %w", bin, err)
	}
	child, childIn = cmd, in
	return store.AttachEmbedded(dir, strings.TrimSpace(uri)), nil
}

// Main runs the tests of a package, then each of after, and removes the
// embedded store's files. Call it from TestMain.
func Main(m *testing.M, after ...func()) {
	code := m.Run()
	for _, f := range after {
		f()
	}
	if embedded != nil {
		embedded.Stop()
		if child != nil {
			_ = childIn.Close()
			_ = child.Wait()
		}
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
	name, err := database()
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	s, err := store.Open(ctx, uri, name, emb)
	if err != nil {
		t.Fatalf("storetest: open: %v", err)
	}
	// A database the store server built its schema for costs this only a
	// look-up of the schema's mark (store.EnsureSchema).
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

// Database returns the embedded store server the tests share and the name
// of a fresh database on it with its schema in place, for tests that open
// the store themselves: store's internal tests, which cannot import this
// package. The server is nil when the tests use MONGODB_URI.
func Database() (*store.Embedded, string, error) {
	_, emb, err := server()
	if err != nil || emb == nil {
		return nil, "", err
	}
	name, err := database()
	return emb, name, err
}

// database returns the name of a fresh database: one the store server
// built the schema of ahead of time (scripts/teststore), when the store
// runs in a process of its own, or a new random name.
func database() (string, error) {
	if child == nil {
		return "t" + randomHex(6), nil
	}
	childTurn.Lock()
	defer childTurn.Unlock()
	if _, err := io.WriteString(childIn, "database\n"); err != nil {
		return "", fmt.Errorf("ask the store server for a database: %w", err)
	}
	// A server built from an older version never answers: the wait is
	// bounded, and the failure says what to rebuild.
	type answer struct {
		line string
		err  error
	}
	answered := make(chan answer, 1)
	go func() {
		line, err := childOut.ReadString('\n')
		answered <- answer{line, err}
	}()
	var a answer
	select {
	case a = <-answered:
	case <-time.After(2 * time.Minute):
		a.err = fmt.Errorf("no answer in 2 minutes (is LINLI_TEST_STORE_BIN built from this version? go build ./scripts/teststore)")
	}
	if a.err != nil {
		return "", fmt.Errorf("the store server gave no database: %w", a.err)
	}
	name := strings.TrimSpace(a.line)
	if msg, failed := strings.CutPrefix(name, "error: "); failed {
		return "", fmt.Errorf("the store server could not build a database: %s", msg)
	}
	return name, nil
}

// randomHex returns n random bytes in hex, for database names.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("storetest: random: %v", err))
	}
	return hex.EncodeToString(b)
}
