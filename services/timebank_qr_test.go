package services

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/linli-community/linli/models"
)

// FuzzVerifyQR: whatever is scanned, verifyQR answers with one of the QR
// codes (or nil for a genuine current token) and never panics; only a
// token it signed itself is ever accepted.
func FuzzVerifyQR(f *testing.F) {
	at := time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)
	tb := &Timebank{secret: []byte("fuzz-secret"), slot: DefaultQRSlot}
	good := tb.qrAt("act1", at).Token
	for _, s := range []string{good, "", ".", "..", good + ".", "YWN0MS4x.AAAA", strings.Repeat("a", 300), "%%%.%%%", good[:10]} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		err := tb.verifyQR(token, "act1", at)
		if err == nil {
			if token != good {
				t.Fatalf("accepted a token it did not issue: %q", token)
			}
			return
		}
		for _, want := range []*models.Error{models.ErrQRInvalid, models.ErrQRExpired, models.ErrQRWrongActivity} {
			if errors.Is(err, want) {
				return
			}
		}
		t.Fatalf("unexpected error %v", err)
	})
}
