// Package auth signs in Linli's residents, staff, clerks and partners:
// Argon2id password hashes, short-lived JWT access tokens with rotating
// signing keys, opaque refresh tokens stored only as hashes, and an
// in-process limiter for login attempts.
//
// It knows nothing of HTTP or the database: the little it needs from the
// store (is this session still live?) is the SessionChecker interface, and
// the refresh-token rotation itself is a use case in package sessions.
package auth
