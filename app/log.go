package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"strings"

	"github.com/linli-community/linli/models"
)

// secretKeys are attribute names whose values are never logged.
var secretKeys = []string{"password", "token", "secret", "authorization", "hash"}

// newLogger writes structured logs with phone numbers masked (138****5678)
// and secrets dropped, whatever code logs them.
func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv, ReplaceAttr: maskAttr}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// maskAttr is the loggers' ReplaceAttr: it drops the value of a secret attribute
// (secretKeys) and masks the phone numbers in strings, errors and values logged whole.
func maskAttr(_ []string, a slog.Attr) slog.Attr {
	k := strings.ToLower(a.Key)
	for _, s := range secretKeys {
		if strings.Contains(k, s) {
			return slog.String(a.Key, "****")
		}
	}
	switch a.Value.Kind() {
	case slog.KindString:
		return slog.String(a.Key, maskPhones(a.Value.String()))
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok {
			return slog.String(a.Key, maskPhones(err.Error()))
		}
		// A struct or map logged whole (a resident, say) would be written
		// with its phone in full: such a value is logged as its masked JSON.
		if b, err := json.Marshal(a.Value.Any()); err == nil && models.MaskPhonesIn(string(b)) != string(b) {
			return slog.String(a.Key, models.MaskPhonesIn(string(b)))
		}
	}
	return a
}

// maskPhones returns s with every phone number in it masked (138****5678).
func maskPhones(s string) string { return models.MaskPhonesIn(s) }
