package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/linli-community/linli/jobs"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
)

// seedCommand is `linli seed`: it opens the store and loads the demo community when the
// store is empty, printing its logins to stdout.
func seedCommand(ctx context.Context, cfg Config, log *slog.Logger, stdout io.Writer) error {
	sys, err := open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer sys.close()
	return sys.seedIfEmpty(ctx, stdout)
}

// auditCommand prints the audit report as JSON and exits 1 if it found any
// seq gap, balance mismatch or negative balance. Every
// LINLI_AUDIT_PROGRESS_EVERY entries it says on stderr how far it got.
func auditCommand(ctx context.Context, cfg Config, log *slog.Logger, stdout, stderr io.Writer) error {
	sys, err := open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer sys.close()
	clock := cfg.clock()
	began := clock()
	r, err := sys.ledger.AuditTelling(ctx, cfg.AuditProgressEvery, func(r ledger.AuditReport) {
		fmt.Fprintf(stderr, "audit: %d entries of %d accounts checked, %d problems so far (%s)\n",
			r.Entries, r.Accounts, len(r.Problems), clock().Sub(began).Round(time.Second))
	})
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return err
	}
	if !r.OK() {
		return exitCode(1)
	}
	return nil
}

// exitSkipped is the exit code of `jobs run` when another process holds
// the job's lease for that period: nothing was run, nothing failed.
const exitSkipped = 3

// jobsCommand lists the jobs or runs one now. A run prints its counts; a
// run skipped because another process is running the same job and period
// says which, by whom and until when, and exits with exitSkipped.
func jobsCommand(ctx context.Context, cfg Config, log *slog.Logger, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "run" && args[0] != "list") {
		return fmt.Errorf("usage: jobs run NAME [--period P | --month YYYY-MM] | jobs list")
	}
	sys, err := open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer sys.close()
	byName := map[string]scheduledJob{}
	var names []string
	for _, sj := range sys.schedule() {
		byName[sj.job.Name] = sj
		names = append(names, sj.job.Name)
	}
	sort.Strings(names)
	if args[0] == "list" {
		for _, n := range names {
			fmt.Fprintf(stdout, "%-12s %s\n", n, byName[n].spec)
		}
		return nil
	}
	if len(args) < 2 {
		return fmt.Errorf("jobs run: name a job: %v", names)
	}
	sj, ok := byName[args[1]]
	if !ok {
		return fmt.Errorf("jobs run: unknown job %q: %v", args[1], names)
	}
	fs := flag.NewFlagSet("jobs run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	period := fs.String("period", "", "the period to run, as the job names it")
	month := fs.String("month", "", "the month to run, YYYY-MM")
	if err := fs.Parse(args[2:]); err != nil {
		return fmt.Errorf("jobs run: %w", err)
	}
	p := sj.job.Period(sys.now())
	switch {
	case *month != "":
		m, err := models.ParseMonth(*month)
		if err != nil {
			return fmt.Errorf("jobs run: %w", err)
		}
		p = m.String()
	case *period != "":
		p = *period
	}
	counts, err := sys.runner.Now(ctx, sj.job, p)
	var skip *jobs.Skip
	if errors.As(err, &skip) {
		fmt.Fprintf(stderr, "linli: %s\n", skip)
		return exitCode(exitSkipped)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s %s: done%s\n", sj.job.Name, p, countsText(counts))
	return nil
}

// countsText is a run's counts as " name=n …", by name.
func countsText(c jobs.Counts) string {
	names := make([]string, 0, len(c))
	for k := range c {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		fmt.Fprintf(&b, " %s=%d", k, c[k])
	}
	return b.String()
}
