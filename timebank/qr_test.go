package timebank

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
	tb := &Service{secret: []byte("fuzz-secret"), slot: DefaultQRSlot}
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

// A signed token has one spelling: the same token with a newline or a
// carriage return inside (which Go's base64 decoder would skip) is refused
// by the check-in token parser (package rewards checks its counter token).
func TestQRTokensHaveOneSpelling(t *testing.T) {
	at := time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)
	tb := &Service{secret: []byte("secret"), slot: DefaultQRSlot}
	checkin := tb.qrAt("act1", at).Token
	if err := tb.verifyQR(checkin, "act1", at); err != nil {
		t.Fatalf("the genuine check-in token: %v", err)
	}
	for _, sep := range []string{"\n", "\r"} {
		if err := tb.verifyQR(checkin[:5]+sep+checkin[5:], "act1", at); err == nil {
			t.Errorf("check-in token with %q inside accepted", sep)
		}
	}
}
