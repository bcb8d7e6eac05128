package rewards_test

import (
	"context"
	"testing"

	"github.com/linli-community/linli/store/storetest"
)

var ctx = context.Background()

// TestMain runs the package's tests on one embedded store per test binary.
func TestMain(m *testing.M) { storetest.Main(m) }
