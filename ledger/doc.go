// Package ledger keeps the journal: one chain of immutable entries per
// resident account and asset. Every exactly-once step is an insert against a
// unique key, never a conditional update, because the embedded store does not
// apply conditional updates atomically:
//
//   - entry N+1 of an account is inserted under the key (account, N+1), so two
//     writers racing for the same seq cannot both win, and the debit check is
//     made against entry N before anything is written;
//   - each posting has an operation record keyed by its scoped idempotency key,
//     holding the request hash and the seq the chain had before it: a repeat
//     finds its entry by walking forward from there, so it lands once;
//   - a head record per account caches (seq, balance) and is only a hint.
package ledger
