// Command bench measures the service against the raw embedded store on this
// machine: it builds the binary, generates a community's data at each size
// (ledger entries), drives the API over loopback with concurrent clients,
// measures the raw store doing the minimal inserts and _id reads of the same
// operations, and prints ops/s, p50, p99, errors and the ratio service/raw.
//
//	go run ./scripts/bench                      # 5,000 and 50,000 entries, 8 clients, 10 s per operation
//	go run ./scripts/bench -sizes 5000 -duration 5s
//	go run ./scripts/bench -sizes 5000 -ops award,redeem -settle=false
//	go run ./scripts/bench -sizes 5000 -ops award,redeem,batched -settle=false -clients 8,32 -group-commit on,off
//	go run ./scripts/bench -sizes 5000 -keep -ops award -settle=false   # keeps /tmp/linli-bench-…/5000
//	go run ./scripts/bench -sizes 5000 -data /tmp/linli-bench-…/5000 -ops award -settle=false   # on a copy of it, no generating
//	go run ./scripts/bench -sizes 50000 -moves   # backup, restore, migrate timings instead
//	go run ./scripts/bench -sizes 50000 -moves -data /tmp/linli-bench-…/50000/data
//	go run ./scripts/bench -sizes 50000,1000000 -ops list -settle=false   # the lists only
//	go run ./scripts/bench -sizes 5000 -history=false -fulfilments 50000 -ops settlement   # the settlement of a 50,000-line month only
//
// A size of 1,000,000 is a community-decade: 1,000,000 ledger entries
// (bulk-inserted), 150,000 service records and 50,000 redemptions. Every
// size also has ten years of the rest, written through the services: the
// shop's statements of the 119 months before last month, the honour roll
// (50 residents listed a year) and the 30 building heads' duties (3 a
// month each, confirmed, allowances paid month by month; -history=false
// leaves all three out). The
// generator loads with synchronous=NORMAL; the server it measures runs
// with the default, FULL. The list phase reads the first page of every
// list a screen shows, 8 clients, -list-duration each.
//
// With several -clients or -group-commit settings the service is started
// once per combination on the same data, one after another, so the figures
// come from one invocation on the same machine (each run adds its writes
// to what the next finds). The raw store's batched ceiling (unordered
// insertMany of 8 documents from 8 clients) is printed beside them, with
// each write operation's inserts/s as a fraction of it.
//
// Nothing it generates is kept unless -keep is given.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// benchOptions are the bench's flags.
type benchOptions struct {
	sizes []int
	// clients is each number of concurrent clients the service is driven
	// with; the raw store's per-operation figures use the first.
	clients []int
	// groupCommit is each LINLI_GROUP_COMMIT setting ("on", "off") the
	// service is started with, one after another on the same data.
	groupCommit []string
	duration    time.Duration
	// listDuration is how long each list of the list phase is read.
	listDuration time.Duration
	keep         bool
	settle       bool
	// history is whether the generator writes the ten years of
	// statements, honour roll and duties (history.go).
	history bool
	bin     string
	moves   bool
	reuse   string
}

// main reads the flags and runs the benchmark, exiting 2 on a bad flag and 1 on an error.
func main() {
	var o benchOptions
	sizes := flag.String("sizes", "5000,50000", "ledger entries to generate, one run per size")
	clients := flag.String("clients", "8", "concurrent clients, comma-separated: one service run per number")
	groupCommit := flag.String("group-commit", "on", "LINLI_GROUP_COMMIT settings, comma-separated (on,off): one service run per setting")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "how long each operation is driven")
	flag.DurationVar(&o.listDuration, "list-duration", 5*time.Second, "how long each list of the list phase is read")
	flag.BoolVar(&o.keep, "keep", false, "keep the generated data folders")
	flag.BoolVar(&o.settle, "settle", true, "run the month's settlement after the operations")
	flag.BoolVar(&o.history, "history", true, "generate ten years of statements, honour roll and building heads' duties with their monthly allowance runs")
	flag.BoolVar(&o.moves, "moves", false, "time backup, restore and migrate instead of the operations")
	flag.StringVar(&o.reuse, "data", "", "the folder of one size of an earlier run kept with -keep (…/5000), used instead of generating; with -moves its data folder (…/5000/data)")
	flag.IntVar(&monthFulfilments, "fulfilments", 0, "fulfilments the generator puts in last month, the month settled (default one per redemption: 5,000, or 50,000 at 1,000,000 entries)")
	ops := flag.String("ops", "", "comma-separated words; only operations (service and raw) whose name contains one of them run (default all)")
	flag.Parse()
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			fmt.Fprintln(os.Stderr, "bench: bad -sizes")
			os.Exit(2)
		}
		o.sizes = append(o.sizes, n)
	}
	for _, s := range strings.Split(*clients, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			fmt.Fprintln(os.Stderr, "bench: bad -clients")
			os.Exit(2)
		}
		o.clients = append(o.clients, n)
	}
	for _, s := range strings.Split(*groupCommit, ",") {
		s = strings.TrimSpace(s)
		if s != "on" && s != "off" {
			fmt.Fprintln(os.Stderr, "bench: -group-commit takes on and off")
			os.Exit(2)
		}
		o.groupCommit = append(o.groupCommit, s)
	}
	for _, w := range strings.Split(*ops, ",") {
		if w = strings.TrimSpace(w); w != "" {
			onlyOps = append(onlyOps, w)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Hour)
	defer cancel()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// monthFulfilments is -fulfilments (fulfilmentsFor).
var monthFulfilments int

// onlyOps is -ops: when not empty, only operations whose name contains one
// of its words are driven.
var onlyOps []string

// selected reports whether operation name runs under -ops (every operation without it).
func selected(name string) bool {
	for _, w := range onlyOps {
		if strings.Contains(name, w) {
			return true
		}
	}
	return len(onlyOps) == 0
}
