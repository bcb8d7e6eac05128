// Package jobs holds Linli's scheduled work as plain functions that are safe
// to repeat, and the Runner that gives each run a lease (so one replica runs
// it) and a record (job, period, started, finished, counts, error). The
// schedule itself, its time zone, panic recovery and overlap skipping are
// set up in package app.
package jobs
