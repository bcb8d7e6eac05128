// Package timebank runs the volunteer time bank: activities and sign-ups,
// rotating QR check-in, service records with their claims, verification
// and corrections, the volunteer certificate and rankings, and mutual-aid
// posts with their gifts of hours. Hours and points move only through
// package ledger.
package timebank
