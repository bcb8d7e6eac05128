package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sort"

	"github.com/linli-community/linli/models"
)

func seedCommand(ctx context.Context, cfg Config, log *slog.Logger, stdout io.Writer) error {
	sys, err := open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer sys.close()
	return sys.seedIfEmpty(ctx, stdout)
}

// auditCommand prints the audit report as JSON and exits 1 if it found any
// seq gap, balance mismatch or negative balance.
func auditCommand(ctx context.Context, cfg Config, log *slog.Logger, stdout io.Writer) error {
	sys, err := open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer sys.close()
	r, err := sys.ledger.Audit(ctx)
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

func jobsCommand(ctx context.Context, cfg Config, log *slog.Logger, args []string, stdout io.Writer) error {
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
	if err := sys.runner.Now(ctx, sj.job, p); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s %s: done\n", sj.job.Name, p)
	return nil
}
