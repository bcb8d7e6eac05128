package main

import (
	"context"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// measureService starts the service on the generated data with group
// commit gc ("on" or "off", LINLI_GROUP_COMMIT), drives each operation
// with clients clients, and stops it. Write operations also report the
// documents the service inserted meanwhile and the commands that carried
// them, read from its /metrics.
func measureService(ctx context.Context, o benchOptions, dir string, fx fixture, gc string, clients int) ([]result, error) {
	srv, err := start(ctx, o.bin, filepath.Join(dir, "data"), "LINLI_GROUP_COMMIT="+gc)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	staff := &client{base: srv.base}
	if err := staff.login(ctx, fx.staffPhone, benchPassword); err != nil {
		return nil, fmt.Errorf("staff login: %w", err)
	}
	if clients > len(fx.residentPhones) {
		return nil, fmt.Errorf("%d clients but only %d residents to log in as", clients, len(fx.residentPhones))
	}
	residents := make([]*client, clients)
	for i := range residents {
		residents[i] = &client{base: srv.base}
		if err := residents[i].login(ctx, fx.residentPhones[i], benchPassword); err != nil {
			return nil, fmt.Errorf("resident login: %w", err)
		}
	}
	counted := func(r func() result) result {
		docs0, cmds0 := srv.insertCounts(ctx)
		store0 := srv.storeCommands(ctx)
		cpu0 := srv.cpu()
		res := r()
		res.cpu = srv.cpu() - cpu0
		docs1, cmds1 := srv.insertCounts(ctx)
		store1 := srv.storeCommands(ctx)
		res.inserts, res.commands = docs1-docs0, cmds1-cmds0
		res.finds = store1["find"] - store0["find"]
		res.writes = store1["insert"] + store1["update"] + store1["delete"] - store0["insert"] - store0["update"] - store0["delete"]
		return res
	}
	run := "r" + randomHex(4)
	var service []result
	service = append(service, counted(func() result {
		return drive(ctx, "award points", clients, o.duration, func(ctx context.Context, c, i int) error {
			id := fx.residentIDs[mrand.IntN(len(fx.residentIDs))]
			body := `{"points":5,"direction":"award","category":"好人好事","reason":"bench"}`
			return staff.post(ctx, "/api/v1/residents/"+id+"/points/adjustments", body, fmt.Sprintf("%s-award-%d-%d", run, c, i), 201)
		})
	}))
	service = append(service, counted(func() result {
		return drive(ctx, "my balance", clients, o.duration, func(ctx context.Context, c, i int) error {
			return residents[c].get(ctx, "/api/v1/me/balances")
		})
	}))
	service = append(service, counted(func() result {
		return drive(ctx, "my ledger, first page", clients, o.duration, func(ctx context.Context, c, i int) error {
			return residents[c].get(ctx, "/api/v1/me/ledger/POINTS?limit=20")
		})
	}))
	service = append(service, counted(func() result {
		return drive(ctx, "redeem", clients, o.duration, func(ctx context.Context, c, i int) error {
			return residents[c].post(ctx, "/api/v1/rewards/"+fx.feeRewardID+"/redemptions", "", fmt.Sprintf("%s-redeem-%d-%d", run, c, i), 201)
		})
	}))
	clerk := &client{base: srv.base}
	if err := clerk.login(ctx, fx.clerkPhone, benchPassword); err != nil {
		return nil, fmt.Errorf("clerk login: %w", err)
	}
	// Its CPU per operation includes issuing the token.
	service = append(service, counted(func() result {
		return driveTimed(ctx, "merchant scan", clients, o.duration, func(ctx context.Context, c, i int) (time.Duration, error) {
			// The resident's app gets a token (not timed); the clerk scans it.
			var qr struct {
				Token string `json:"token"`
			}
			if err := residents[c].do(ctx, "POST", "/api/v1/rewards/"+fx.rewardID+"/qr", "", "", 201, &qr); err != nil {
				return 0, err
			}
			t := time.Now()
			err := clerk.post(ctx, "/api/v1/merchant/scans", `{"token":"`+qr.Token+`"}`, fmt.Sprintf("%s-scan-%d-%d", run, c, i), 201)
			return time.Since(t), err
		})
	}))
	service = append(service, drive(ctx, "staff pending records", clients, o.duration, func(ctx context.Context, c, i int) error {
		return staff.get(ctx, "/api/v1/service-records")
	}))
	service = append(service, listPhase(ctx, o, clients, fx, staff, clerk, residents)...)
	return service, nil
}

// insertSeries matches the service's insert counters in /metrics.
var insertSeries = regexp.MustCompile(`(?m)^(linli_store_inserts_total|linli_store_insert_commands_total) ([0-9.e+]+)$`)

// commandSeries matches the service's store commands by kind in /metrics.
var commandSeries = regexp.MustCompile(`(?m)^linli_store_commands_total\{command="(\w+)"\} ([0-9.e+]+)$`)

// storeCommands reads the service's store commands so far by kind (find,
// insert, update, delete, other) from /metrics (empty if it does not
// export them).
func (s *server) storeCommands(ctx context.Context) map[string]int64 {
	out := map[string]int64{}
	req, err := http.NewRequestWithContext(ctx, "GET", s.base+"/metrics", nil)
	if err != nil {
		return out
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, m := range commandSeries.FindAllStringSubmatch(string(b), -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		out[m[1]] = int64(v)
	}
	return out
}

// insertCounts reads the service's documents inserted and insert commands
// so far from /metrics (0, 0 if it does not export them).
func (s *server) insertCounts(ctx context.Context) (docs, commands int64) {
	req, err := http.NewRequestWithContext(ctx, "GET", s.base+"/metrics", nil)
	if err != nil {
		return 0, 0
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, m := range insertSeries.FindAllStringSubmatch(string(b), -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		if m[1] == "linli_store_inserts_total" {
			docs = int64(v)
		} else {
			commands = int64(v)
		}
	}
	return docs, commands
}
