package store

import (
	"context"
	"sync/atomic"

	"go.mongodb.org/mongo-driver/v2/event"
)

// CommandCounts is how many commands of each kind the store has sent since
// it was opened: a figure per operation that, unlike a time, does not
// depend on what else the machine is doing (the benchmark prints it).
type CommandCounts struct {
	Finds   int64 // find and getMore
	Inserts int64
	Updates int64
	Deletes int64
	Other   int64 // counts, aggregations, indexes, pings …
}

// commandCounters are the running totals behind CommandCounts.
type commandCounters struct {
	finds, inserts, updates, deletes, other atomic.Int64
}

// monitor returns the driver's command monitor that counts into c.
func (c *commandCounters) monitor() *event.CommandMonitor {
	return &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		switch e.CommandName {
		case "find", "getMore":
			c.finds.Add(1)
		case "insert":
			c.inserts.Add(1)
		case "update", "findAndModify":
			c.updates.Add(1)
		case "delete":
			c.deletes.Add(1)
		default:
			c.other.Add(1)
		}
	}}
}

// CommandCounts reports the commands sent so far, for metrics and the
// benchmark.
func (s *Store) CommandCounts() CommandCounts {
	c := s.commands
	return CommandCounts{
		Finds:   c.finds.Load(),
		Inserts: c.inserts.Load(),
		Updates: c.updates.Load(),
		Deletes: c.deletes.Load(),
		Other:   c.other.Load(),
	}
}
