package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

// module is this module's path; every package of ours starts with it.
const module = "github.com/linli-community/linli"

// Prefixes of the libraries that must stay in their own layer.
const (
	driverPkg   = "go.mongodb.org/mongo-driver"
	fiberPkg    = "github.com/gofiber/fiber"
	fasthttpPkg = "github.com/valyala/fasthttp"
)

// capabilities are the use-case packages, one per capability. Each may
// import community (what they share), ledger, auth and models, and none of
// the others: where one needs another's answer, it declares an interface
// that app fills in (settlement's HeldPoints is rewards, rewards'
// Eligibility is honour, directory's HeadTermKeeper is honour, honour's
// HeadAppointer is directory).
var capabilities = []string{"accounts", "directory", "honour", "inbox", "mutualaid", "outbound", "policy", "privacy", "rewards", "sessions", "settlement", "timebank"}

// adapters are the outer packages and libraries no inner package may reach:
// the MongoDB driver lives in store only, Fiber (and the fasthttp under it)
// in handlers and app.
var adapters = []string{driverPkg, fiberPkg, fasthttpPkg, module + "/store", module + "/handlers"}

// without returns adapters, then every capability package but keep, then
// the extra prefixes.
func without(keep string, extra ...string) []string {
	out := append([]string{}, adapters...)
	for _, c := range capabilities {
		if c != keep {
			out = append(out, module+"/"+c)
		}
	}
	return append(out, extra...)
}

// layering is docs/ARCHITECTURE.md §2's "imports point inwards", as a table: for each of
// our packages, the packages (by path prefix) it must not depend on, directly
// or through another package. A prefix of module alone forbids every package
// of ours.
var layering = map[string][]string{
	"models":    {module + "/"},
	"ledger":    without("", module+"/community"),
	"auth":      without("", module+"/community"),
	"jobs":      without("", module+"/community"),
	"community": without(""),
	// The exactly-once primitives: models and the standard library only.
	"once": without("", module+"/community", module+"/ledger", module+"/auth", module+"/jobs"),
	// Each capability: no adapter, no other capability.
	"accounts":   without("accounts"),
	"directory":  without("directory"),
	"honour":     without("honour"),
	"inbox":      without("inbox"),
	"outbound":   without("outbound"),
	"mutualaid":  without("mutualaid"),
	"policy":     without("policy"),
	"privacy":    without("privacy"),
	"rewards":    without("rewards"),
	"sessions":   without("sessions"),
	"settlement": without("settlement"),
	"timebank":   without("timebank"),
	"handlers":   {driverPkg, module + "/store"},
	// Small libraries of our own: cache and ratelimit import nothing of
	// ours; qrtoken only models (its own test also keeps third-party
	// libraries out, so its fuzz targets build in seconds).
	"cache":     {module + "/"},
	"ratelimit": {module + "/"},
	"qrtoken":   without("", module+"/community", module+"/ledger", module+"/auth", module+"/jobs", module+"/cache", module+"/ratelimit"),
	// The tests' way to release goroutines together imports nothing of
	// ours, so every test package, store's internal tests included, can
	// use it.
	"atonce": {module + "/"},
}

// listed is the part of `go list -json` output the test reads.
type listed struct {
	ImportPath string
	Imports    []string // direct
	Deps       []string // transitive, sorted; test imports are not included
}

// ours keeps the paths of this module's packages, to show which direct
// import leads to a forbidden dependency.
func ours(paths []string) []string {
	var out []string
	for _, p := range paths {
		if strings.HasPrefix(p, module+"/") {
			out = append(out, strings.TrimPrefix(p, module+"/"))
		}
	}
	return out
}

// TestLayering fails when a package reaches, even indirectly, a package its
// layer must not know about: a capability package importing store (and
// with it the driver) or another capability, handlers importing store,
// models importing anything of ours.
// It asks the go command, so it sees exactly what the build sees.
func TestLayering(t *testing.T) {
	t.Parallel()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	for _, c := range capabilities {
		if _, ok := layering[c]; !ok {
			t.Errorf("capability package %s has no row in the layering table", c)
		}
	}
	args := []string{"list", "-json=ImportPath,Imports,Deps"}
	for pkg := range layering {
		args = append(args, module+"/"+pkg)
	}
	cmd := exec.Command(gobin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}

	seen := map[string]bool{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		name := strings.TrimPrefix(p.ImportPath, module+"/")
		forbidden, ok := layering[name]
		if !ok {
			t.Errorf("go list returned %s, which the table does not name", p.ImportPath)
			continue
		}
		seen[name] = true
		for _, bad := range forbidden {
			var hits []string
			for _, dep := range p.Deps {
				if strings.HasPrefix(dep, bad) {
					hits = append(hits, dep)
				}
			}
			if len(hits) > 0 {
				t.Errorf("%s must not depend on %s*, but reaches %d such package(s), e.g. %s (imports: %v); docs/ARCHITECTURE.md §2: imports point inwards",
					name, bad, len(hits), hits[0], ours(p.Imports))
			}
		}
	}
	var missing []string
	for name := range layering {
		if !seen[name] {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("go list did not report %v", missing)
	}
}
