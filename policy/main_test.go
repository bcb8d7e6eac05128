package policy_test

import (
	"context"
	"testing"

	"github.com/linli-community/linli/store/storetest"
)

// TestMain runs the package's tests on one embedded store per test binary.
func TestMain(m *testing.M) { storetest.Main(m) }

var ctx = context.Background()
