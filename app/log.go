package main

import (
	"io"
	"log/slog"
	"regexp"
	"strings"
)

var phoneInText = regexp.MustCompile(`1[3-9][0-9]{9}`)

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
	}
	return a
}

func maskPhones(s string) string {
	return phoneInText.ReplaceAllStringFunc(s, func(p string) string { return p[:3] + "****" + p[7:] })
}
