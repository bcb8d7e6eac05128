package main

import (
	"bytes"
	"context"
	"fmt"

	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/linli-community/linli/store"
)

// runMoves measures the data moves of docs/ARCHITECTURE.md §10 at one
// size: `linli backup` while the service runs and answers reads, `linli
// restore` (checksums, copy, counts and audit) into an empty folder, and
// `linli migrate` to a second embedded store on another loopback port,
// then the same migration again (all present: verification only).
func runMoves(ctx context.Context, o benchOptions, dir string, size int) error {
	fmt.Printf("## data moves at %d ledger entries\n\n", size)
	data := filepath.Join(dir, "data")
	t := time.Now()
	fx, err := generate(ctx, data, size)
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	fmt.Printf("generated in %s: %s\n\n", time.Since(t).Round(time.Second), fx.summary)

	srv, err := start(ctx, o.bin, data)
	if err != nil {
		return err
	}
	backup := filepath.Join(dir, "backup")
	backupTook, out, err := timed(ctx, o.bin, data, "backup", "--to", backup)
	srv.stop()
	if err != nil {
		return fmt.Errorf("backup: %w\n%s", err, out)
	}
	m, err := store.ReadManifest(backup)
	if err != nil {
		return err
	}
	var bytesTotal, docs int64
	for _, f := range m.Files {
		bytesTotal += f.Bytes
		docs += f.Documents()
	}

	restoreTook, out, err := timed(ctx, o.bin, filepath.Join(dir, "restored"), "restore", backup)
	if err != nil {
		return fmt.Errorf("restore: %w\n%s", err, out)
	}
	audit := lineWith(out, "audit linli:")

	target, err := store.StartEmbedded(filepath.Join(dir, "target"), false, nil)
	if err != nil {
		return err
	}
	defer target.Stop()
	migrateTook, out, err := timed(ctx, o.bin, data, "migrate", "--to", target.URI())
	if err != nil {
		return fmt.Errorf("migrate: %w\n%s", err, out)
	}
	migrated := lineWith(out, "migrated ")
	targetAudit := lineWith(out, "audit linli (target):")
	againTook, out, err := timed(ctx, o.bin, data, "migrate", "--to", target.URI())
	if err != nil {
		return fmt.Errorf("migrate again: %w\n%s", err, out)
	}

	fmt.Printf("| step | time | what |\n|---|---:|---|\n")
	fmt.Printf("| backup (service running) | %s | %d files, %.1f MB, %d documents |\n", backupTook.Round(time.Millisecond), len(m.Files), float64(bytesTotal)/1e6, docs)
	fmt.Printf("| restore + audit | %s | %s |\n", restoreTook.Round(time.Millisecond), audit)
	fmt.Printf("| migrate to a 2nd embedded store + audit | %s | %s; %s |\n", migrateTook.Round(time.Millisecond), migrated, targetAudit)
	fmt.Printf("| migrate again (resume: verify only) | %s | %s |\n\n", againTook.Round(time.Millisecond), lineWith(out, "migrated "))
	return nil
}

// timed runs the binary with args on data folder data and returns how long
// it took and what it printed.
func timed(ctx context.Context, bin, data string, args ...string) (time.Duration, string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = serverEnv(data, "127.0.0.1:0")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t := time.Now()
	err := cmd.Run()
	return time.Since(t), out.String(), err
}

// lineWith is the first line of out that contains s, trimmed.
func lineWith(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			return strings.TrimSpace(l)
		}
	}
	return "(" + s + " not printed)"
}
