package qrtoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
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
