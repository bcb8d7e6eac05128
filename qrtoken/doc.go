// Package qrtoken signs and checks the two QR tokens Linli shows: the token
// a resident shows at a merchant's counter (Counter), with the short code a
// clerk can type instead, and the check-in token on an activity organiser's
// screen (Checkin). Both are HMAC-SHA256 over a small payload, URL-safe
// base64, one spelling per token.
//
// It imports only the standard library and models, so its tests and fuzz
// targets build in seconds; which token was used, and when, is the
// services' business (docs/ARCHITECTURE.md).
package qrtoken
