// Command app is the Linli service: the HTTP API, the scheduled jobs and the
// operator commands, in one binary.
//
//	app                 serve the API (the default)
//	app serve           the same
//	app seed            load the demo community into an empty store
//	app audit           recompute every account; exit 1 on any problem
//	app jobs run NAME [--period P | --month YYYY-MM]
//	                    run one job now and print its counts; exit 3 if
//	                    another process is running that job and period
//	app jobs list       the jobs there are
//	app backup [--to DIR]
//	                    copy the embedded store, while it runs, into a new
//	                    backup folder with a manifest (exit 2 on MongoDB)
//	app restore FROM [--force]
//	                    restore a backup into an empty LINLI_DATA_DIR, then
//	                    audit it; exit 1 on any problem
//	app migrate --to MONGODB_URI [--db NAME]
//	                    copy the embedded store to a MongoDB, verify and
//	                    audit it; run again to resume
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"syscall"

	_ "time/tzdata" // Asia/Shanghai must resolve on a machine without tzdata
)

// main runs linli with the process's arguments and environment until SIGINT or SIGTERM,
// and exits with run's exit code (1 with the error printed for any other error).
func main() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(defaultGCPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr); err != nil {
		var ec exitCode
		if errors.As(err, &ec) {
			os.Exit(int(ec))
		}
		fmt.Fprintln(os.Stderr, "linli:", err)
		os.Exit(1)
	}
}

// defaultGCPercent is the garbage collector's target when GOGC is not
// set: a quarter as many collections as Go's default of 100. The service's
// live heap is small and most of what it allocates is the embedded store's
// short-lived decoding, so at 100 the collector took about a tenth of its
// CPU; at 400 a 43,200-line month settles in 10.6 s instead of 12.9 s, in
// 160 MiB instead of 87. The price is memory where the live heap is big:
// `linli audit` over a million entries peaks at 538 MiB instead of 243
// (set GOGC=100 for it on a small machine; docs/PERFORMANCE.md, "The
// embedded store's loggers, and the collector" and "The community-decade
// again").
const defaultGCPercent = 400

// exitCode ends the process with a code and no further message.
type exitCode int

// Error says which exit code e is.
func (e exitCode) Error() string { return fmt.Sprintf("exit %d", int(e)) }

// run is main without the process: arguments, environment and output are
// passed in so tests can call it.
func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(environ)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	if cfg.CPUProfile != "" {
		f, err := os.Create(cfg.CPUProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, cfg, log, stdout)
	case "seed":
		return seedCommand(ctx, cfg, log, stdout)
	case "audit":
		return auditCommand(ctx, cfg, log, stdout, stderr)
	case "jobs":
		return jobsCommand(ctx, cfg, log, args, stdout, stderr)
	case "rotate-keys":
		// Seals everything under the first of LINLI_DATA_KEYS now
		// (docs/ARCHITECTURE.md §11): the rotate-keys job, run at once.
		return jobsCommand(ctx, cfg, log, []string{"run", "rotate-keys"}, stdout, stderr)
	case "backup":
		return backupCommand(ctx, cfg, args, stdout, stderr)
	case "restore":
		return restoreCommand(ctx, cfg, args, stdout, stderr)
	case "migrate":
		return migrateCommand(ctx, cfg, log, args, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, "usage: app [serve | seed | audit | jobs run NAME [--period P | --month YYYY-MM] | jobs list |\n"+
			"           backup [--to DIR] | restore FROM [--force] | migrate --to MONGODB_URI [--db NAME] | rotate-keys]")
		return nil
	}
	return fmt.Errorf("unknown command %q (try: serve, seed, audit, jobs, backup, restore, migrate, rotate-keys)", cmd)
}
