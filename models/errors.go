package models

import (
	"errors"
	"fmt"
)

// Code is a stable, upper-case error code that clients may switch on.
type Code string

// Error is a failure with a stable code. Detail is safe to show a client;
// it must never hold internal error text. DetailZh is the same in Chinese,
// shown instead of Detail to a caller who reads Chinese (the default); a
// refusal without it shows Detail to everyone.
type Error struct {
	Code     Code
	Detail   string
	DetailZh string
}

// Error returns the code and, if there is one, the English detail.
func (e *Error) Error() string {
	if e.Detail == "" {
		return string(e.Code)
	}
	return string(e.Code) + ": " + e.Detail
}

// Is makes errors.Is(err, ErrNotFound) true for any *Error with the same code,
// so a detailed error still matches its sentinel.
func (e *Error) Is(target error) bool {
	var t *Error
	if errors.As(target, &t) {
		return t.Code == e.Code
	}
	return false
}

// Withf returns a new *Error with e's code and a client-safe detail in
// Chinese (zh, shown by default) and English (en); both formats take the
// same args, so use indexed verbs (%[2]s) where the Chinese word order
// differs. This is the one way to say why a request is refused; e, a
// sentinel, is never changed:
//
//	models.ErrSoldOut.Withf("“%[1]s”已兑完。", "reward %[1]q is sold out", name)
func (e *Error) Withf(zh, en string, args ...any) *Error {
	return &Error{
		Code:     e.Code,
		Detail:   fmt.Sprintf(en, args...),
		DetailZh: fmt.Sprintf(zh, args...),
	}
}

// LocalDetail returns the detail of e for a reader of Chinese (zh) or
// English, falling back to whichever language it has.
func (e *Error) LocalDetail(zh bool) string {
	if zh && e.DetailZh != "" {
		return e.DetailZh
	}
	if e.Detail == "" {
		return e.DetailZh
	}
	return e.Detail
}

// CodeOf returns the stable code carried by err, or "" for an internal error.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Sentinel errors. Each maps to exactly one HTTP status in package handlers.
var (
	ErrValidation  = &Error{Code: "VALIDATION_FAILED"}
	ErrInvalidJSON = &Error{Code: "INVALID_JSON"}
	// ErrBadCursor: a list's cursor parameter is not one that list gave out.
	ErrBadCursor           = &Error{Code: "INVALID_CURSOR"}
	ErrNotFound            = &Error{Code: "NOT_FOUND"}
	ErrForbidden           = &Error{Code: "FORBIDDEN"}
	ErrUnauthenticated     = &Error{Code: "UNAUTHENTICATED"}
	ErrInvalidCredentials  = &Error{Code: "INVALID_CREDENTIALS"}
	ErrMovedAway           = &Error{Code: "RESIDENT_MOVED_AWAY"}
	ErrTokenReused         = &Error{Code: "REFRESH_TOKEN_REUSED"}
	ErrRateLimited         = &Error{Code: "RATE_LIMITED"}
	ErrConflict            = &Error{Code: "CONFLICT"}
	ErrAlreadyExists       = &Error{Code: "ALREADY_EXISTS"}
	ErrInsufficientPoints  = &Error{Code: "INSUFFICIENT_POINTS"}
	ErrInsufficientHours   = &Error{Code: "INSUFFICIENT_HOURS"}
	ErrIdempotencyKey      = &Error{Code: "IDEMPOTENCY_KEY_REQUIRED"}
	ErrIdempotencyMismatch = &Error{Code: "IDEMPOTENCY_KEY_REUSED"}
	ErrOutOfBounds         = &Error{Code: "AMOUNT_OUT_OF_BOUNDS"}
	ErrImportRejected      = &Error{Code: "IMPORT_REJECTED"}
	ErrBodyTooLarge        = &Error{Code: "BODY_TOO_LARGE"}
	ErrUnsupportedMedia    = &Error{Code: "UNSUPPORTED_MEDIA_TYPE"}
	ErrAlreadyReversed     = &Error{Code: "ALREADY_REVERSED"}
	ErrUnavailable         = &Error{Code: "UNAVAILABLE"}
)

// Rewards and redemptions.
var (
	ErrNotEligible       = &Error{Code: "NOT_ELIGIBLE"}
	ErrRewardInactive    = &Error{Code: "REWARD_INACTIVE"}
	ErrSoldOut           = &Error{Code: "SOLD_OUT"}
	ErrLimitReached      = &Error{Code: "LIMIT_REACHED"}
	ErrAlreadyRedeemed   = &Error{Code: "ALREADY_REDEEMED"}
	ErrTokenExpired      = &Error{Code: "TOKEN_EXPIRED"}
	ErrTokenInvalid      = &Error{Code: "TOKEN_INVALID"}
	ErrRedemptionClosed  = &Error{Code: "REDEMPTION_CLOSED"}
	ErrRefundWindowEnded = &Error{Code: "REFUND_WINDOW_ENDED"}
	ErrBaysFull          = &Error{Code: "BAYS_FULL"}
	ErrNotFilialDay      = &Error{Code: "NOT_FILIAL_DAY"}
	ErrVisitClosed       = &Error{Code: "VISIT_CLOSED"}
	// Honour roll errors.
	ErrNominationOpen = &Error{Code: "NOMINATION_OPEN"}
	// Time-bank errors.
	ErrActivityFull      = &Error{Code: "ACTIVITY_FULL"}
	ErrSignupClosed      = &Error{Code: "SIGNUP_CLOSED"}
	ErrQRInvalid         = &Error{Code: "QR_INVALID"}
	ErrQRExpired         = &Error{Code: "QR_EXPIRED"}
	ErrQRWrongActivity   = &Error{Code: "QR_WRONG_ACTIVITY"}
	ErrOutsideWindow     = &Error{Code: "OUTSIDE_WINDOW"}
	ErrAlreadyCheckedIn  = &Error{Code: "ALREADY_CHECKED_IN"}
	ErrNotCheckedIn      = &Error{Code: "NOT_CHECKED_IN"}
	ErrAlreadyCheckedOut = &Error{Code: "ALREADY_CHECKED_OUT"}
	ErrRecordOverlap     = &Error{Code: "RECORD_OVERLAP"}
	ErrRecordDecided     = &Error{Code: "RECORD_DECIDED"}
	ErrAidState          = &Error{Code: "AID_STATE"}
	ErrFamilyNotVerified = &Error{Code: "FAMILY_NOT_VERIFIED"}
	ErrGiftAge           = &Error{Code: "GIFT_AGE"}
	ErrGiftYearlyCap     = &Error{Code: "GIFT_YEARLY_CAP"}
	ErrSelfCheckinOff    = &Error{Code: "SELF_CHECKIN_DISABLED"}
)
