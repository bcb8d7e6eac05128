package qrtoken

import (
	"encoding/base64"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/linli-community/linli/models"
)

var issuedAt = time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)

// goodClaims are the claims of a token issued at issuedAt.
func goodClaims() CounterClaims {
	return CounterClaims{
		ID:        "tok1",
		Resident:  "r1",
		Community: "c1",
		Reward:    "w1",
		Issued:    issuedAt.Unix(),
		Expires:   issuedAt.Add(CounterLifetime).Unix(),
	}
}

func mustCode(t *testing.T, err error, want *models.Error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %s", err, want.Code)
	}
}

// The tokens and short codes are byte for byte what the services issued
// before they moved here (values printed by the old code), so tokens shown
// on phones across an upgrade still scan.
func TestIssue12_QRToken_SameBytesAsBefore(t *testing.T) {
	counter := NewCounter([]byte("golden-secret"))
	const wantCounter = "eyJ2IjoxLCJ0IjoidG9rMSIsInIiOiJyMSIsImMiOiJjMSIsInciOiJ3MSIsImkiOjE3OTUyNDgwMDAsImUiOjE3OTUyNDgzMDB9.2WBZwSuXF2V5c6ZrgwD0o0ARPk1Zbc6PahH4QN-ZnfU"
	if got := counter.Sign(goodClaims()); got != wantCounter {
		t.Errorf("counter token\n got %s\nwant %s", got, wantCounter)
	}
	if a, b := counter.Code("tok1", 0), counter.Code("tok1", 1); a != "WWVPEBWB" || b != "E5AMBVC7" {
		t.Errorf("short codes %s, %s; want WWVPEBWB, E5AMBVC7", a, b)
	}
	checkin := NewCheckin([]byte("golden-secret"), DefaultCheckinSlot).Issue("act1", issuedAt)
	want := CheckinToken{
		Token:   "YWN0MS4zOTg5NDQwMC4xNzk1MjQ4MDkw.4dWNIVrZrURhDzHeX2LWBhZThXOUt3bOzXqy3k4C-qE",
		Slot:    39894400,
		Expires: time.Date(2026, 11, 21, 8, 1, 30, 0, time.UTC),
	}
	if checkin != want {
		t.Errorf("check-in token\n got %+v\nwant %+v", checkin, want)
	}
}

func TestIssue12_QRToken_CounterRoundTrip(t *testing.T) {
	counter := NewCounter([]byte("secret"))
	claims := goodClaims()
	got, err := counter.Parse(counter.Sign(claims))
	if err != nil {
		t.Fatal(err)
	}
	if got != claims {
		t.Fatalf("Parse = %+v, want %+v", got, claims)
	}
}

func TestIssue12_QRToken_CounterRefusals(t *testing.T) {
	counter := NewCounter([]byte("secret"))
	longLived := goodClaims()
	longLived.Expires = longLived.Issued + int64(CounterLifetime/time.Second) + 1
	backwards := goodClaims()
	backwards.Expires = backwards.Issued
	noResident := goodClaims()
	noResident.Resident = ""
	longID := goodClaims()
	longID.Reward = strings.Repeat("w", maxClaimID+1)
	good := counter.Sign(goodClaims())
	payload, _, _ := strings.Cut(good, ".")
	cases := map[string]string{
		"lives too long":            counter.Sign(longLived),
		"expires before it is made": counter.Sign(backwards),
		"no resident":               counter.Sign(noResident),
		"id too long":               counter.Sign(longID),
		"another secret":            NewCounter([]byte("other")).Sign(goodClaims()),
		"signature cut":             good[:len(good)-1],
		"a third part":              good + ".x",
		"no signature":              payload + ".",
		"padding":                   good + "=",
		"unknown field": func() string {
			p := base64.RawURLEncoding.EncodeToString([]byte(`{"v":1,"t":"t1","r":"r1","c":"c1","w":"w1","i":1,"e":2,"x":1}`))
			return p + "." + counter.mac(p)
		}(),
		"version 2": func() string {
			p := base64.RawURLEncoding.EncodeToString([]byte(`{"v":2,"t":"t1","r":"r1","c":"c1","w":"w1","i":1,"e":2}`))
			return p + "." + counter.mac(p)
		}(),
		"two objects": func() string {
			p := base64.RawURLEncoding.EncodeToString([]byte(`{"v":1,"t":"t1","r":"r1","c":"c1","w":"w1","i":1,"e":2}{}`))
			return p + "." + counter.mac(p)
		}(),
		"too long": strings.Repeat("A", MaxCounterToken+1),
	}
	for name, token := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := counter.Parse(token)
			mustCode(t, err, models.ErrTokenInvalid)
		})
	}
	_, err := NewCounter(nil).Parse(NewCounter(nil).Sign(goodClaims()))
	mustCode(t, err, models.ErrTokenInvalid)
}

func TestIssue12_QRToken_CheckinSlots(t *testing.T) {
	checkin := NewCheckin([]byte("secret"), DefaultCheckinSlot)
	issued := checkin.Issue("act1", issuedAt)
	if err := checkin.Verify(issued.Token, "act1", issuedAt); err != nil {
		t.Fatalf("the current token: %v", err)
	}
	if err := checkin.Verify(issued.Token, "act1", issuedAt.Add(DefaultCheckinSlot)); err != nil {
		t.Fatalf("the previous slot's token: %v", err)
	}
	mustCode(t, checkin.Verify(issued.Token, "act1", issuedAt.Add(2*DefaultCheckinSlot)), models.ErrQRExpired)
	mustCode(t, checkin.Verify(issued.Token, "act2", issuedAt), models.ErrQRWrongActivity)
	forged := NewCheckin([]byte("other"), DefaultCheckinSlot).Issue("act1", issuedAt)
	mustCode(t, checkin.Verify(forged.Token, "act1", issuedAt), models.ErrQRInvalid)
	mustCode(t, checkin.Verify(issued.Token+"x", "act1", issuedAt), models.ErrQRInvalid)
}

// A signed token has one spelling: the same token with a newline or a
// carriage return inside (which Go's base64 decoder would skip) is refused
// by both parsers.
func TestIssue12_QRToken_OneSpelling(t *testing.T) {
	counter := NewCounter([]byte("secret"))
	counterToken := counter.Sign(goodClaims())
	if _, err := counter.Parse(counterToken); err != nil {
		t.Fatalf("the genuine counter token: %v", err)
	}
	checkin := NewCheckin([]byte("secret"), DefaultCheckinSlot)
	checkinToken := checkin.Issue("act1", issuedAt).Token
	if err := checkin.Verify(checkinToken, "act1", issuedAt); err != nil {
		t.Fatalf("the genuine check-in token: %v", err)
	}
	for _, sep := range []string{"\n", "\r"} {
		if _, err := counter.Parse(counterToken[:5] + sep + counterToken[5:]); err == nil {
			t.Errorf("counter token with %q inside accepted", sep)
		}
		if err := checkin.Verify(checkinToken[:5]+sep+checkinToken[5:], "act1", issuedAt); err == nil {
			t.Errorf("check-in token with %q inside accepted", sep)
		}
	}
}

func TestIssue12_QRToken_NormalizeCounterCode(t *testing.T) {
	got, err := NormalizeCounterCode("wwvp-ebwb ")
	if err != nil || got != "WWVPEBWB" {
		t.Fatalf("NormalizeCounterCode = %q, %v", got, err)
	}
	for _, bad := range []string{"", "WWVPEBW", "WWVPEBWB1", "WWVPEBW0", "WWVPEBWI"} {
		_, err := NormalizeCounterCode(bad)
		mustCode(t, err, models.ErrValidation)
	}
}

// The package links nothing but the standard library and models, so its
// fuzz targets build in seconds instead of linking the store.
func TestIssue12_QRToken_ImportsOnlyStdAndModels(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	out, err := exec.Command(gobin, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		switch pkg {
		case "github.com/linli-community/linli/qrtoken", "github.com/linli-community/linli/models":
		default:
			t.Errorf("qrtoken depends on %s", pkg)
		}
	}
}

// FuzzCounterParse feeds the merchant-token parser hostile input: it must
// never panic, and whatever it accepts must carry a valid signature over
// exactly the payload it read, and well-formed claims.
func FuzzCounterParse(f *testing.F) {
	counter := NewCounter([]byte("fuzz-secret"))
	valid := counter.Sign(goodClaims())
	payload, signature, _ := strings.Cut(valid, ".")
	seeds := []string{
		valid,
		"",
		".",
		"a.b",
		valid + "=",
		payload + ".",
		"." + signature,
		strings.Repeat("A", 2000),
		valid + ".x",
		base64.RawURLEncoding.EncodeToString([]byte(`{"v":1,"t":"t1","r":"r1","c":"A","w":"w1","i":1,"e":999999}`)),
	}
	for _, seed := range seeds {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		claims, err := counter.Parse(token)
		if err != nil {
			if !errors.Is(err, models.ErrTokenInvalid) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		p, sig, _ := strings.Cut(token, ".")
		if counter.mac(p) != sig {
			t.Fatalf("accepted a token whose signature does not match: %q", token)
		}
		if !claims.wellFormed() {
			t.Fatalf("accepted bad claims %+v", claims)
		}
	})
}

// FuzzCheckinVerify: whatever is scanned, Verify answers with one of the QR
// codes (or nil for a genuine current token) and never panics; only a
// token it signed itself is ever accepted.
func FuzzCheckinVerify(f *testing.F) {
	checkin := NewCheckin([]byte("fuzz-secret"), DefaultCheckinSlot)
	good := checkin.Issue("act1", issuedAt).Token
	seeds := []string{
		good,
		"",
		".",
		"..",
		good + ".",
		"YWN0MS4x.AAAA",
		strings.Repeat("a", 300),
		"%%%.%%%",
		good[:10],
	}
	for _, seed := range seeds {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		err := checkin.Verify(token, "act1", issuedAt)
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

// Issue 13 (check in by typing the code): the six digits shown with a
// slot's token are accepted through the next slot, like the token, and
// never for another activity, another secret or a later slot.
func TestIssue13_QRToken_CheckinCode(t *testing.T) {
	checkin := NewCheckin([]byte("secret"), DefaultCheckinSlot)
	issued := checkin.Issue("act1", issuedAt)
	code := checkin.Code("act1", issued.Slot)
	if !IsCheckinCode(code) || code != checkin.CodeAt("act1", issuedAt) {
		t.Fatalf("code %q: want six digits, the slot's", code)
	}
	if err := checkin.VerifyCode(code, "act1", issuedAt); err != nil {
		t.Fatalf("the current code: %v", err)
	}
	if err := checkin.VerifyCode(code, "act1", issuedAt.Add(DefaultCheckinSlot)); err != nil {
		t.Fatalf("the previous slot's code: %v", err)
	}
	later := issuedAt.Add(2 * DefaultCheckinSlot)
	if checkin.CodeAt("act1", later) != code && checkin.CodeAt("act1", later.Add(-DefaultCheckinSlot)) != code {
		mustCode(t, checkin.VerifyCode(code, "act1", later), models.ErrQRInvalid)
	}
	if checkin.Code("act2", issued.Slot) != code {
		mustCode(t, checkin.VerifyCode(code, "act2", issuedAt), models.ErrQRInvalid)
	}
	if other := NewCheckin([]byte("other"), DefaultCheckinSlot).Code("act1", issued.Slot); other != code {
		mustCode(t, checkin.VerifyCode(other, "act1", issuedAt), models.ErrQRInvalid)
	}
	for _, bad := range []string{"", "12345", "1234567", "12345a", "１２３４５６", issued.Token} {
		if IsCheckinCode(bad) {
			t.Errorf("%q taken for a code", bad)
		}
		mustCode(t, checkin.VerifyCode(bad, "act1", issuedAt), models.ErrQRInvalid)
	}
	// The codes of many slots spread over the digits (a fixed code would
	// be no code).
	seen := map[string]bool{}
	for slot := int64(0); slot < 200; slot++ {
		seen[checkin.Code("act1", slot)] = true
	}
	if len(seen) < 190 {
		t.Fatalf("200 slots gave %d distinct codes", len(seen))
	}
}
