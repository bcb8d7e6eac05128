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
	"strings"
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
		before, cpu0 := srv.storeCounts(ctx), srv.cpu()
		res := r()
		res.cpu = srv.cpu() - cpu0
		after := srv.storeCounts(ctx)
		res.inserts, res.commands = after.docs-before.docs, after.insertCommands-before.insertCommands
		res.finds = after.commands["find"] - before.commands["find"]
		res.writes = after.writes() - before.writes()
		res.scans = after.scans - before.scans
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
	// The partner reads a list only; data kept by an earlier version of
	// the bench may have no such login (its list is then not read).
	var partner *client
	if selected("list:") {
		if partner, err = loginIf(ctx, srv.base, fx.partnerPhone); err != nil {
			return nil, fmt.Errorf("partner login: %w", err)
		}
	}
	service = append(service, listPhase(ctx, o, clients, fx, listReaders{
		staff:     staff,
		clerk:     clerk,
		partner:   partner,
		residents: residents,
	}, counted)...)
	return service, nil
}

// storeSeries matches the service's store counters in /metrics: the
// inserts, the insert commands, the scans, and the commands by kind.
var storeSeries = regexp.MustCompile(`(?m)^(linli_store_inserts_total|linli_store_insert_commands_total|linli_store_scans_total|linli_store_commands_total\{command="\w+"\}) ([0-9.e+]+)$`)

// storeCounts are the service's store counters at one moment.
type storeCounts struct {
	docs, insertCommands int64            // documents inserted one by one, and the commands that carried them
	commands             map[string]int64 // commands by kind: find, insert, update, delete, other
	scans                int64            // commands that read by anything but one exact _id
}

// writes is the insert, update and delete commands in c.
func (c storeCounts) writes() int64 {
	return c.commands["insert"] + c.commands["update"] + c.commands["delete"]
}

// storeCounts reads the service's store counters so far from /metrics
// (zero where it does not export them).
func (s *server) storeCounts(ctx context.Context) storeCounts {
	c := storeCounts{commands: map[string]int64{}}
	req, err := http.NewRequestWithContext(ctx, "GET", s.base+"/metrics", nil)
	if err != nil {
		return c
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return c
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, m := range storeSeries.FindAllStringSubmatch(string(b), -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		switch name := m[1]; name {
		case "linli_store_inserts_total":
			c.docs = int64(v)
		case "linli_store_insert_commands_total":
			c.insertCommands = int64(v)
		case "linli_store_scans_total":
			c.scans = int64(v)
		default:
			kind := strings.TrimSuffix(strings.TrimPrefix(name, `linli_store_commands_total{command="`), `"}`)
			c.commands[kind] = int64(v)
		}
	}
	return c
}

// loginIf is a client of the server at base logged in as phone, or nil
// when phone is "" (a login the data was generated without).
func loginIf(ctx context.Context, base, phone string) (*client, error) {
	if phone == "" {
		return nil, nil
	}
	cl := &client{base: base}
	if err := cl.login(ctx, phone, benchPassword); err != nil {
		return nil, err
	}
	return cl, nil
}
