// Package sessions signs residents in and out: it checks the password
// under the login limits, issues an access token with a rotating refresh
// token, and revokes the whole session when a used refresh token comes
// back (reuse).
package sessions
