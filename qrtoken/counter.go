package qrtoken

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/linli-community/linli/models"
)

// CounterLifetime is how long a merchant QR token is valid.
const CounterLifetime = 5 * time.Minute

// MaxCounterToken bounds what a scanner may post; a real token is ~250
// bytes.
const MaxCounterToken = 1024

// maxClaimID bounds each id a counter token carries.
const maxClaimID = 64

// counterVersion is the version every counter token carries ("v").
const counterVersion = 1

// CounterClaims is what a merchant QR token carries: which token it is,
// for which resident of which community, for which reward, and when it was
// issued and expires (Unix seconds).
type CounterClaims struct {
	ID        string
	Resident  string
	Community string
	Reward    string
	Issued    int64
	Expires   int64
}

// counterWire is CounterClaims as encoded in the token. Short names keep the
// QR code small; the field order is the token's byte order.
type counterWire struct {
	V         int    `json:"v"`
	ID        string `json:"t"`
	Resident  string `json:"r"`
	Community string `json:"c"`
	Reward    string `json:"w"`
	Issued    int64  `json:"i"`
	Expires   int64  `json:"e"`
}

// Counter signs and reads merchant QR tokens with one secret.
type Counter struct {
	secret []byte
}

// NewCounter returns a signer for merchant QR tokens; an empty secret signs
// nothing that Parse accepts.
func NewCounter(secret []byte) Counter {
	return Counter{secret: secret}
}

// CanSign reports whether the signer has a secret: without one no token is
// issued, and none is accepted.
func (c Counter) CanSign() bool {
	return len(c.secret) > 0
}

// Sign returns the token for claims: the base64 of their JSON, a dot, and
// the base64 of its HMAC.
func (c Counter) Sign(claims CounterClaims) string {
	body, _ := json.Marshal(counterWire{
		V:         counterVersion,
		ID:        claims.ID,
		Resident:  claims.Resident,
		Community: claims.Community,
		Reward:    claims.Reward,
		Issued:    claims.Issued,
		Expires:   claims.Expires,
	})
	payload := base64.RawURLEncoding.EncodeToString(body)
	return payload + "." + c.mac(payload)
}

// mac returns the base64 HMAC of payload.
func (c Counter) mac(payload string) string {
	mac := hmac.New(sha256.New, c.secret)
	mac.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// Parse checks a token's shape and signature and returns its claims, or
// models.ErrTokenInvalid. It never panics on hostile input: every part is
// bounded and checked before it is used. Whether the token has expired, or
// was used, is the caller's to check.
func (c Counter) Parse(token string) (CounterClaims, error) {
	invalid := models.ErrTokenInvalid.Withf("这不是邻里的兑换码。", "the QR code is not a Linli code")
	if len(token) == 0 || len(token) > MaxCounterToken || len(c.secret) == 0 || !urlSafe(token) {
		return CounterClaims{}, invalid
	}
	payload, signature, ok := strings.Cut(token, ".")
	if !ok || payload == "" || strings.Contains(signature, ".") {
		return CounterClaims{}, invalid
	}
	gotMAC, err := base64.RawURLEncoding.Strict().DecodeString(signature)
	if err != nil || len(gotMAC) != sha256.Size {
		return CounterClaims{}, invalid
	}
	mac := hmac.New(sha256.New, c.secret)
	mac.Write([]byte(payload))
	if !hmac.Equal(gotMAC, mac.Sum(nil)) {
		return CounterClaims{}, invalid
	}
	body, err := base64.RawURLEncoding.Strict().DecodeString(payload)
	if err != nil {
		return CounterClaims{}, invalid
	}
	var wire counterWire
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&wire); err != nil {
		return CounterClaims{}, invalid
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return CounterClaims{}, invalid
	}
	claims := CounterClaims{
		ID:        wire.ID,
		Resident:  wire.Resident,
		Community: wire.Community,
		Reward:    wire.Reward,
		Issued:    wire.Issued,
		Expires:   wire.Expires,
	}
	if wire.V != counterVersion || !claims.wellFormed() {
		return CounterClaims{}, invalid
	}
	return claims, nil
}

// wellFormed reports whether every id is present and bounded, and the
// token lives no longer than CounterLifetime.
func (claims CounterClaims) wellFormed() bool {
	for _, id := range []string{claims.ID, claims.Resident, claims.Community, claims.Reward} {
		if id == "" || len(id) > maxClaimID {
			return false
		}
	}
	lifetime := claims.Expires - claims.Issued
	return lifetime > 0 && lifetime <= int64(CounterLifetime/time.Second)
}

// CounterCodeLength is the length of a merchant QR's short code, and
// counterCodeAlphabet its letters: no 0/O, 1/I/L, so it reads aloud and
// types without doubt.
const (
	CounterCodeLength   = 8
	counterCodeAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
)

// Code derives the short code of token tokenID from the secret; try picks
// another code when one is taken (a code is never reused, even after its
// token expired).
func (c Counter) Code(tokenID string, try int) string {
	mac := hmac.New(sha256.New, c.secret)
	fmt.Fprintf(mac, "counter-code:%s:%d", tokenID, try)
	sum := mac.Sum(nil)
	code := make([]byte, CounterCodeLength)
	for i := range code {
		code[i] = counterCodeAlphabet[int(sum[i])%len(counterCodeAlphabet)]
	}
	return string(code)
}

// NormalizeCounterCode returns code as stored (upper case, without the
// spaces or dashes a clerk may type), or a validation error naming what is
// wrong.
func NormalizeCounterCode(code string) (string, error) {
	normal := strings.ToUpper(strings.NewReplacer(" ", "", "-", "").Replace(code))
	if len(normal) != CounterCodeLength || strings.Trim(normal, counterCodeAlphabet) != "" {
		return "", models.ErrValidation.Withf("兑换码应为居民手机上显示的%d位字母和数字。", "code must be the %d letters and digits shown on the resident's phone", CounterCodeLength)
	}
	return normal, nil
}

// urlSafe reports whether token holds only the URL-safe base64 alphabet and
// dots, so a token has one spelling: Go's base64 decoder skips newlines and
// carriage returns, which would otherwise give a signed token a second one.
func urlSafe(token string) bool {
	for i := 0; i < len(token); i++ {
		c := token[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
