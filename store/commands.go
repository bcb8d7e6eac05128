package store

import (
	"context"
	"sync/atomic"

	"go.mongodb.org/mongo-driver/v2/bson"
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
	// Scans is how many of them read by anything but one exact _id: a
	// find, count, distinct, update or delete whose filter is not
	// {_id: value}, and every aggregation. The embedded store pushes down
	// only that one filter (docs/ARCHITECTURE.md §9), so each scan reads
	// the whole collection; a path whose cost must not grow with history
	// sends none.
	Scans int64
}

// commandCounters are the running totals behind CommandCounts.
type commandCounters struct {
	finds, inserts, updates, deletes, other, scans atomic.Int64
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
		if scans(e.CommandName, e.Command) {
			c.scans.Add(1)
		}
	}}
}

// scans reports whether command name (its document cmd) reads by anything
// but one exact _id (CommandCounts.Scans).
func scans(name string, cmd bson.Raw) bool {
	switch name {
	case "find":
		return !byExactID(cmd.Lookup("filter"))
	case "count", "distinct":
		return !byExactID(cmd.Lookup("query"))
	case "aggregate":
		return true
	case "update", "delete":
		field, key := "updates", "q"
		if name == "delete" {
			field = "deletes"
		}
		stmts, ok := cmd.Lookup(field).ArrayOK()
		if !ok {
			return false
		}
		values, err := stmts.Values()
		if err != nil {
			return true
		}
		for _, v := range values {
			if d, ok := v.DocumentOK(); ok && !byExactID(d.Lookup(key)) {
				return true
			}
		}
	}
	return false
}

// byExactID reports whether filter is exactly {_id: v} with v not a
// document (an operator such as $in or $gt is a scan).
func byExactID(filter bson.RawValue) bool {
	d, ok := filter.DocumentOK()
	if !ok {
		return false
	}
	elems, err := d.Elements()
	if err != nil || len(elems) != 1 || elems[0].Key() != "_id" {
		return false
	}
	_, isDoc := elems[0].Value().DocumentOK()
	return !isDoc
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
		Scans:   c.scans.Load(),
	}
}
