// Package timebank runs the volunteer time bank: activities and sign-ups,
// rotating QR check-in, service records with their claims, verification
// and corrections, the volunteer certificate and rankings, and gifts of
// hours to relatives. Hours and points move only through package ledger.
package timebank
