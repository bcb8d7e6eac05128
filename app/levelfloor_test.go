package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

// countingHandler counts the WithAttrs calls that reach it.
type countingHandler struct {
	slog.Handler
	withAttrs *int
}

// WithAttrs counts the call and passes it on.
func (h countingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	*h.withAttrs++
	return countingHandler{h.Handler.WithAttrs(as), h.withAttrs}
}

// WithGroup passes the call on, still counting.
func (h countingHandler) WithGroup(name string) slog.Handler {
	return countingHandler{h.Handler.WithGroup(name), h.withAttrs}
}

// The embedded store's logger keeps its errors only, and the attributes
// the store adds for each command it serves are formatted only for a
// record that is written: a logger made per command and then dropped
// costs the JSON handler nothing.
func TestEmbeddedStoreLoggerFormatsAttributesOnlyForRecordsItWrites(t *testing.T) {
	var out bytes.Buffer
	withAttrs := 0
	inner := countingHandler{
		Handler:   newLogger(&out, "debug", "json").Handler(),
		withAttrs: &withAttrs,
	}
	quiet := slog.New(levelFloor{handler: inner, min: slog.LevelError})

	for i := range 1000 {
		per := quiet.With("request_id", i, "peer", "13800000005").WithGroup("cmd").With("name", "find")
		per.Warn("duplicate key", "phone", "13800000005")
		per.Info("ok")
	}
	if withAttrs != 0 {
		t.Errorf("the wrapped handler formatted attributes %d times for 2,000 dropped records", withAttrs)
	}
	if out.Len() != 0 {
		t.Fatalf("records below the floor were written: %s", out.String())
	}

	per := quiet.With("request_id", 7, "peer", "13800000005").WithGroup("cmd").With("name", "insert")
	per.Error("write failed", "phone", "13800000005")
	if withAttrs != 2 {
		t.Errorf("the written record applied %d attribute sets, want 2", withAttrs)
	}
	var rec map[string]any
	if err := json.Unmarshal(out.Bytes(), &rec); err != nil {
		t.Fatalf("one JSON record: %v\n%s", err, out.String())
	}
	if rec["msg"] != "write failed" || rec["level"] != "ERROR" || rec["request_id"] != float64(7) {
		t.Errorf("record = %v", rec)
	}
	if rec["peer"] != "138****0005" {
		t.Errorf("peer = %v, want the phone masked", rec["peer"])
	}
	cmd, _ := rec["cmd"].(map[string]any)
	if cmd["name"] != "insert" || cmd["phone"] != "138****0005" {
		t.Errorf("the group's attributes = %v, want name insert and the record's phone masked", rec["cmd"])
	}
	if strings.Contains(out.String(), "13800000005") {
		t.Errorf("a phone in full was written: %s", out.String())
	}
	if !quiet.Enabled(context.Background(), slog.LevelError) || quiet.Enabled(context.Background(), slog.LevelWarn) {
		t.Error("the floor is not at errors")
	}
}
