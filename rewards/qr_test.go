package rewards

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

// FuzzParseQR feeds the merchant-token parser hostile input: it must never
// panic, and whatever it accepts must carry a valid signature over exactly
// the payload it read.
func FuzzParseQR(f *testing.F) {
	s := &Service{qrSecret: []byte("fuzz-secret"), now: time.Now, newID: func() string { return "t1" }}
	good := `{"v":1,"t":"t1","r":"r1","c":"A","w":"w1","i":1700000000,"e":1700000300}`
	payload := base64.RawURLEncoding.EncodeToString([]byte(good))
	valid := payload + "." + s.sign(payload)
	for _, seed := range []string{valid, "", ".", "a.b", valid + "=", payload + ".", "." + s.sign(payload),
		strings.Repeat("A", 2000), payload + "." + s.sign(payload) + ".x",
		base64.RawURLEncoding.EncodeToString([]byte(`{"v":1,"t":"t1","r":"r1","c":"A","w":"w1","i":1,"e":999999}`))} {
		f.Add(seed)
	}
	if _, err := s.parseQR(valid); err != nil {
		f.Fatalf("a valid token is refused: %v", err)
	}
	f.Fuzz(func(t *testing.T, token string) {
		c, err := s.parseQR(token)
		if err != nil {
			return
		}
		p, sig, _ := strings.Cut(token, ".")
		if s.sign(p) != sig {
			t.Fatalf("accepted a token whose signature does not match: %q", token)
		}
		if c.ID == "" || c.Expires-c.Issued > int64(QRLifetime/time.Second) {
			t.Fatalf("accepted bad claims %+v", c)
		}
	})
}

// A signed token has one spelling: the same token with a newline or a
// carriage return inside (which Go's base64 decoder would skip) is refused
// by the counter-token parser (package timebank checks its check-in token).
func TestQRTokensHaveOneSpelling(t *testing.T) {
	rw := &Service{qrSecret: []byte("secret"), now: time.Now, newID: func() string { return "t1" }}
	payload := base64.RawURLEncoding.EncodeToString([]byte(`{"v":1,"t":"t1","r":"r1","c":"A","w":"w1","i":1700000000,"e":1700000300}`))
	counter := payload + "." + rw.sign(payload)
	if _, err := rw.parseQR(counter); err != nil {
		t.Fatalf("the genuine counter token: %v", err)
	}
	for _, sep := range []string{"\n", "\r"} {
		if _, err := rw.parseQR(counter[:5] + sep + counter[5:]); err == nil {
			t.Errorf("counter token with %q inside accepted", sep)
		}
	}
}
