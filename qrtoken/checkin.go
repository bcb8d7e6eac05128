package qrtoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/linli-community/linli/models"
)

// DefaultCheckinSlot is how long one check-in token is shown; the current
// and the previous slot's tokens are accepted.
const DefaultCheckinSlot = 45 * time.Second

// MaxCheckinToken bounds what is parsed at all.
const MaxCheckinToken = 256

// Checkin signs and checks activity check-in tokens with one secret. Time
// is cut into slots; a token names its activity and slot, and is accepted
// during its slot and the next.
type Checkin struct {
	secret []byte
	slot   time.Duration
}

// NewCheckin returns a signer for check-in tokens that change every slot.
func NewCheckin(secret []byte, slot time.Duration) Checkin {
	return Checkin{
		secret: secret,
		slot:   slot,
	}
}

// CheckinToken is what the organiser's screen shows: the token, the slot
// it was issued in, and when it stops being accepted.
type CheckinToken struct {
	Token   string
	Slot    int64
	Expires time.Time
}

// slotOf returns the number of the slot at falls in.
func (c Checkin) slotOf(at time.Time) int64 {
	return at.UnixMilli() / c.slot.Milliseconds()
}

// mac returns the base64 HMAC of payload, domain-separated from the
// counter tokens signed with the same kind of secret.
func (c Checkin) mac(payload string) string {
	mac := hmac.New(sha256.New, c.secret)
	mac.Write([]byte("activity-qr\x00" + payload))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// Issue returns the check-in token of activity activityID for the slot at
// falls in: "activity.slot.expiry" in base64, a dot, and its HMAC. It is
// valid through the next slot.
func (c Checkin) Issue(activityID string, at time.Time) CheckinToken {
	slot := c.slotOf(at)
	expires := time.UnixMilli((slot + 2) * c.slot.Milliseconds()).UTC()
	payload := activityID + "." + strconv.FormatInt(slot, 10) + "." + strconv.FormatInt(expires.Unix(), 10)
	return CheckinToken{
		Token:   base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + c.mac(payload),
		Slot:    slot,
		Expires: expires,
	}
}

// Verify checks a scanned token against activity activityID at time at:
// models.ErrQRInvalid for anything malformed or forged,
// models.ErrQRWrongActivity for another activity's token,
// models.ErrQRExpired for one from before the previous slot.
func (c Checkin) Verify(token, activityID string, at time.Time) error {
	if len(token) == 0 || len(token) > MaxCheckinToken || !urlSafe(token) {
		return models.ErrQRInvalid
	}
	parts := strings.Split(token, ".")
	if len(parts) != 2 {
		return models.ErrQRInvalid
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(parts[0]) // one spelling per payload
	if err != nil || len(raw) == 0 {
		return models.ErrQRInvalid
	}
	payload := string(raw)
	if !hmac.Equal([]byte(c.mac(payload)), []byte(parts[1])) {
		return models.ErrQRInvalid
	}
	fields := strings.Split(payload, ".")
	if len(fields) != 3 {
		return models.ErrQRInvalid
	}
	slot, slotErr := strconv.ParseInt(fields[1], 10, 64)
	expires, expiresErr := strconv.ParseInt(fields[2], 10, 64)
	if slotErr != nil || expiresErr != nil {
		return models.ErrQRInvalid
	}
	if fields[0] != activityID {
		return models.ErrQRWrongActivity
	}
	current := c.slotOf(at)
	if slot != current && slot != current-1 || at.Unix() > expires {
		return models.ErrQRExpired
	}
	return nil
}

// CheckinCodeLength is the number of digits of an activity's check-in
// code: what a resident types when her phone cannot scan the QR.
const CheckinCodeLength = 6

// Code returns the check-in code of activity activityID for slot: six
// digits derived from the secret (domain-separated from the tokens), so it
// needs no storage and changes with the token.
func (c Checkin) Code(activityID string, slot int64) string {
	mac := hmac.New(sha256.New, c.secret)
	mac.Write([]byte("activity-code\x00" + activityID + "." + strconv.FormatInt(slot, 10)))
	n := binary.BigEndian.Uint64(mac.Sum(nil)[:8]) % 1_000_000
	return fmt.Sprintf("%06d", n)
}

// CodeAt is the check-in code shown with the token issued at at.
func (c Checkin) CodeAt(activityID string, at time.Time) string {
	return c.Code(activityID, c.slotOf(at))
}

// IsCheckinCode reports whether s has a check-in code's shape (six digits),
// not a token's.
func IsCheckinCode(s string) bool {
	if len(s) != CheckinCodeLength {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// VerifyCode checks a typed check-in code against activity activityID at
// time at: the current slot's code or the previous slot's, as for tokens.
// Anything else is models.ErrQRInvalid (a code names no slot, so a stale
// one cannot be told from a wrong one).
func (c Checkin) VerifyCode(code, activityID string, at time.Time) error {
	if !IsCheckinCode(code) {
		return models.ErrQRInvalid
	}
	current := c.slotOf(at)
	for _, slot := range []int64{current, current - 1} {
		if hmac.Equal([]byte(c.Code(activityID, slot)), []byte(code)) {
			return nil
		}
	}
	return models.ErrQRInvalid
}
