package main

import (
	"runtime/debug"
	"testing"
)

// The stack is pinned (README, issue 2); a `go get` of something else must
// not move these silently, as a downgrade of x/crypto once did to the driver.
func TestPinnedDependencies(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		"github.com/gofiber/fiber/v2":    "v2.52.15",
		"go.mongodb.org/mongo-driver/v2": "v2.9.3",
		"github.com/golang-jwt/jwt/v5":   "v5.3.1",
		"github.com/robfig/cron/v3":      "v3.0.1",
		"github.com/FerretDB/FerretDB":   "v1.24.2",
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		t.Fatal("no build info")
	}
	got := map[string]string{}
	for _, d := range info.Deps {
		got[d.Path] = d.Version
	}
	for path, v := range want {
		if got[path] != v {
			t.Errorf("%s is %q; pinned %s", path, got[path], v)
		}
	}
}
