package main

import (
	"strings"
	"testing"
	"time"
)

// TestIssue16_5_NotifyConfig: the senders, the webhook's keys and the
// quiet hours are read from the environment and checked.
func TestIssue16_5_NotifyConfig(t *testing.T) {
	cfg, err := loadConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Notify.senderNames(); len(got) != 1 || got[0] != "log" {
		t.Fatalf("default senders %v, want [log]", got)
	}
	for env, want := range map[string]string{
		"LINLI_NOTIFY_SENDERS=log,sms":     "unknown sender",
		"LINLI_NOTIFY_SENDERS=webhook":     "LINLI_WEBHOOK_URL",
		"LINLI_QUIET_HOURS=late":           "LINLI_QUIET_HOURS",
		"LINLI_DELIVERY_MAX_ATTEMPTS=0":    "LINLI_DELIVERY_MAX_ATTEMPTS",
		"LINLI_WEBHOOK_TIMEOUT=5m":         "LINLI_WEBHOOK_TIMEOUT",
		"LINLI_NOTIFY_SENDERS=log,webhook": "LINLI_WEBHOOK_URL",
	} {
		if _, err := loadConfig([]string{env}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error naming %s", env, err, want)
		}
	}
	cfg, err = loadConfig([]string{"LINLI_NOTIFY_SENDERS=log,webhook", "LINLI_WEBHOOK_URL=http://127.0.0.1:9/hook",
		"LINLI_WEBHOOK_KEYS=old:" + strings.Repeat("a", 32) + ",new:" + strings.Repeat("b", 32)})
	if err != nil {
		t.Fatal(err)
	}
	if k, n, err := cfg.Notify.webhookKey(); err != nil || k.ID != "new" || n != 2 {
		t.Fatalf("signing key %q of %d: %v; want the last listed of 2", k.ID, n, err)
	}
	q, _ := parseQuietHours("22:00-08:00")
	sh, _ := time.LoadLocation("Asia/Shanghai")
	for at, held := range map[string]bool{
		"21:59": false,
		"22:00": true,
		"03:00": true,
		"07:59": true,
		"08:00": false,
		"12:00": false,
	} {
		local, _ := time.ParseInLocation("2006-01-02 15:04", "2026-11-20 "+at, sh)
		if q.holds(local.UTC(), sh) != held {
			t.Errorf("%s Shanghai time: held %v, want %v", at, !held, held)
		}
	}
}
