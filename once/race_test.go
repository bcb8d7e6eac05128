package once_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/linli-community/linli/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// rounds is how many times each race is run: a race a primitive loses
// only now and then still fails one of them.
const rounds = 40

// stamp is the fixed clock of the tests: nothing here depends on time.
func stamp() time.Time { return time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC) }

// testCtx is a context that ends with the test.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// roundKey is a key of its own for round r of a test.
func roundKey(prefix string, r int) string { return fmt.Sprintf("%s%02d", prefix, r) }
