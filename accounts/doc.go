// Package accounts shows residents their hours and points balances and
// history, lets staff award, deduct and reverse points (each adjustment is
// its own audit record), lists the staff audit trail, and audits every
// account against its entries. Value moves only through package ledger.
package accounts
