package once_test

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// notCapabilities are the top-level directories whose Go files are not
// use cases: the layers around them, which have their own keys (the
// ledger's entries, keyed requests) or none, and this package.
var notCapabilities = map[string]bool{
	"app":      true,
	"auth":     true,
	"docs":     true,
	"handlers": true,
	"jobs":     true,
	"ledger":   true,
	"models":   true,
	"once":     true,
	"scripts":  true,
	"store":    true,
	"web":      true,
}

// keyPrefixes are the prefixes of the insert-once keys once's builders
// make (keys.go).
const keyPrefixes = `final|void|refund|refused|redeem|release|scan|fulfil|reverse|take|back|gave|slot|lim|hh|stockm|stock|bay|` +
	`visit-cancel|visit-book|visit-used|su|cancel|in|out|att|claim|decision|corr|corr-decision|service|correct|approve|reject|` +
	`day|quota|carry|lref|gift|aid|aidhold|aidrelease|aidpay|needy|expiry|nomination|honour|honour-withdraw|building|term|duty|` +
	`allowance|allowance-closed|allowance-duty|star|star-cut|r|h`

// inlineKey matches a key built inline: a known prefix joined to an id,
// a Sprintf of one, or two ids joined with a colon.
var inlineKey = regexp.MustCompile(`"(` + keyPrefixes + `):"\s*\+|Sprintf\("(` + keyPrefixes + `):%|Sprintf\("%s:[^ ]|\+\s*":"\s*\+|\+=\s*":"`)

// TestIssue12_NoInlineKeys fails when a capability package builds an
// insert-once key inline instead of with a builder of package once: a
// key spelled twice is a key that can drift (docs/ARCHITECTURE.md §4.1).
func TestIssue12_NoInlineKeys(t *testing.T) {
	t.Parallel()
	dirs, err := os.ReadDir("..")
	if err != nil {
		t.Fatal(err)
	}
	scanned := 0
	for _, d := range dirs {
		if !d.IsDir() || notCapabilities[d.Name()] || strings.HasPrefix(d.Name(), ".") {
			continue
		}
		files, err := filepath.Glob(filepath.Join("..", d.Name(), "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			scanned++
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			lines := bufio.NewScanner(f)
			lines.Buffer(make([]byte, 1<<20), 1<<20)
			for n := 1; lines.Scan(); n++ {
				line := lines.Text()
				if strings.HasPrefix(strings.TrimSpace(line), "//") {
					continue
				}
				if m := inlineKey.FindString(line); m != "" {
					t.Errorf("%s:%d builds a key inline (%s); use a builder of package once: %s", path, n, m, strings.TrimSpace(line))
				}
			}
			if err := lines.Err(); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
	}
	if scanned == 0 {
		t.Fatal("no capability package found to scan")
	}
}
