package main

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// metrics are the Prometheus series the service exports at /metrics. The
// packages that produce them know only small observer interfaces.
type metrics struct {
	registry  *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	postings  *prometheus.CounterVec
	replays   prometheus.Counter
	jobRuns   *prometheus.CounterVec
	jobTime   *prometheus.HistogramVec
	storeErrs *prometheus.CounterVec
}

// newMetrics registers the service's Prometheus metrics (requests, latency, ledger
// postings, replays, job runs and durations, store errors) with the Go and process
// collectors on a registry of its own.
func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "linli_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "linli_http_request_duration_seconds",
			Help:    "HTTP request latency by route and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"route", "method"}),
		postings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "linli_ledger_postings_total", Help: "Ledger entries written, by kind.",
		}, []string{"kind"}),
		replays: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "linli_idempotent_replays_total", Help: "Repeated value-moving requests answered with their first result.",
		}),
		jobRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "linli_job_runs_total", Help: "Scheduled and on-demand job runs by job and outcome.",
		}, []string{"job", "outcome"}),
		jobTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "linli_job_duration_seconds",
			Help:    "Job run durations by job.",
			Buckets: prometheus.ExponentialBuckets(0.01, 4, 10),
		}, []string{"job"}),
		storeErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "linli_store_errors_total", Help: "Store operations that failed (not-found and duplicate-key answers excluded).",
		}, []string{"op"}),
	}
	m.registry.MustRegister(m.requests, m.latency, m.postings, m.replays, m.jobRuns, m.jobTime, m.storeErrs,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Request implements handlers.RequestObserver.
func (m *metrics) Request(route, method string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route, method).Observe(d.Seconds())
}

// Posted implements ledger.Observer.
func (m *metrics) Posted(kind models.EntryKind) { m.postings.WithLabelValues(string(kind)).Inc() }

// Replayed implements ledger.Observer and handlers.RequestObserver.
func (m *metrics) Replayed() { m.replays.Inc() }

// JobRun implements jobs.Observer.
func (m *metrics) JobRun(job, outcome string, d time.Duration) {
	m.jobRuns.WithLabelValues(job, outcome).Inc()
	m.jobTime.WithLabelValues(job).Observe(d.Seconds())
}

// countInserts exports the store's single-document inserts, the commands
// that carried them (one each, or one per group-commit batch) and the list
// slots found taken.
func (m *metrics) countInserts(stats func() store.InsertStats) {
	m.registry.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "linli_store_inserts_total", Help: "Documents inserted one by one or in group-commit batches.",
		}, func() float64 { return float64(stats().Documents) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "linli_store_insert_commands_total", Help: "insertOne and insertMany commands that carried them.",
		}, func() float64 { return float64(stats().Batches) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "linli_store_slot_collisions_total", Help: "List slots found taken by another process's append.",
		}, func() float64 { return float64(stats().SlotCollisions) }),
	)
}

// countCommands exports the store's commands by kind (find, insert,
// update, delete, other), and how many of them were scans.
func (m *metrics) countCommands(counts func() store.CommandCounts) {
	kinds := []struct {
		name string
		of   func(store.CommandCounts) int64
	}{
		{"find", func(c store.CommandCounts) int64 { return c.Finds }},
		{"insert", func(c store.CommandCounts) int64 { return c.Inserts }},
		{"update", func(c store.CommandCounts) int64 { return c.Updates }},
		{"delete", func(c store.CommandCounts) int64 { return c.Deletes }},
		{"other", func(c store.CommandCounts) int64 { return c.Other }},
	}
	for _, k := range kinds {
		m.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "linli_store_commands_total",
			Help:        "Commands sent to the store, by kind (find counts getMore too).",
			ConstLabels: prometheus.Labels{"command": k.name},
		}, func() float64 { return float64(k.of(counts())) }))
	}
	m.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "linli_store_scans_total",
		Help: "Store commands that read by anything but one exact _id (a scan of the collection on the embedded store).",
	}, func() float64 { return float64(counts().Scans) }))
}

// storeError counts a failed store operation.
func (m *metrics) storeError(op string) { m.storeErrs.WithLabelValues(op).Inc() }

// handler serves the registry in the Prometheus text format.
func (m *metrics) handler() fiber.Handler {
	h := fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
	return func(c *fiber.Ctx) error {
		h(c.Context())
		return nil
	}
}
