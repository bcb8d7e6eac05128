package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/linli-community/linli/jobs"
	"github.com/robfig/cron/v3"
)

// serve runs the API and the scheduler until ctx ends (SIGINT/SIGTERM), then
// stops accepting, lets requests in flight finish, stops the scheduler after
// its running jobs, and closes the store.
func serve(ctx context.Context, cfg Config, log *slog.Logger, stdout io.Writer) error {
	sys, err := open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer sys.close()
	if cfg.seedDemo() {
		if err := sys.seedIfEmpty(ctx, stdout); err != nil {
			return err
		}
	}

	// The liability report reads a summary per community: sum those that
	// have none (a store's first start), in the background.
	summed := make(chan struct{})
	defer func() { <-summed }() // before the store closes
	go func() {
		defer close(summed)
		if n, err := sys.settlement.FirstLiabilitySummaries(ctx, sys.now()); err != nil && ctx.Err() == nil {
			log.Error("first liability summaries", "err", err)
		} else if n > 0 {
			log.Info("first liability summaries", "communities", n)
		}
		// The rankings likewise (docs/PERFORMANCE.md, "Rankings summary (issue 15)").
		if n, err := sys.honour.FirstRankingSummaries(ctx, sys.now()); err != nil && ctx.Err() == nil {
			log.Error("first rankings summaries", "err", err)
		} else if n > 0 {
			log.Info("first rankings summaries", "communities", n)
		}
	}()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	app := sys.httpApp()
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()
	log.Info("linli listening", "addr", ln.Addr().String(), "embedded_store", cfg.embedded(), "db", cfg.DB)
	fmt.Fprintf(stdout, "Linli is listening on http://%[1]s: the residents' app at http://%[1]s/, the clerk's page at http://%[1]s/merchant/, the API under /api/v1\n", ln.Addr())

	var sched *cron.Cron
	if cfg.Scheduler {
		sched = sys.scheduler()
		sched.Start()
	}
	// Every replica delivers: each attempt is claimed by an insert, so two
	// never send the same message to a sender at once.
	deliveryCtx, stopDelivery := context.WithCancel(context.WithoutCancel(ctx))
	defer stopDelivery()
	delivered := make(chan struct{})
	go func() {
		defer close(delivered)
		sys.deliverer.Run(deliveryCtx, cfg.Notify.Interval)
	}()

	select {
	case err := <-served:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	if err := app.ShutdownWithTimeout(20 * time.Second); err != nil {
		log.Error("http shutdown", "err", err)
	}
	if sched != nil {
		<-sched.Stop().Done() // waits for running jobs
	}
	// An attempt cut short here has no outcome and is sent again after
	// its lease, under the same message id.
	stopDelivery()
	<-delivered
	return nil
}

// scheduler runs every job on its schedule in the configured time zone.
// SkipIfStillRunning is outside Recover: the other order would leave a job
// marked running forever after one panic.
func (s *system) scheduler() *cron.Cron {
	logger := cron.VerbosePrintfLogger(slogPrintf{s.log})
	c := cron.New(
		cron.WithLocation(s.loc),
		cron.WithChain(cron.SkipIfStillRunning(logger), cron.Recover(logger)),
	)
	for _, sj := range s.schedule() {
		job := sj.job
		_, err := c.AddFunc(sj.spec, func() {
			ctx, cancel := context.WithTimeout(context.Background(), s.cfg.LeaseTTL)
			defer cancel()
			period := job.Period(s.now())
			if err := s.runner.Scheduled(ctx, job); err != nil && !errors.Is(err, jobs.ErrSkipped) {
				s.log.Error("scheduled job", "job", job.Name, "err", err)
				s.notifyJobFailed(context.WithoutCancel(ctx), job.Name, period)
			}
		})
		if err != nil {
			panic(fmt.Sprintf("bad schedule %q for %s: %v", sj.spec, job.Name, err)) // a programming error
		}
	}
	return c
}

// slogPrintf is the scheduler's Printf logger, writing to slog at debug level.
type slogPrintf struct{ log *slog.Logger }

// Printf logs the formatted message at debug level.
func (l slogPrintf) Printf(format string, args ...any) { l.log.Debug(fmt.Sprintf(format, args...)) }
