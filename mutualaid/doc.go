// Package mutualaid runs mutual aid (互助): residents' requests and offers
// of help paid in hours, each decision an insert-once step of its post
// (docs/ARCHITECTURE.md §4.7), the hold, release and payment of the hours,
// and the community fund that pays for residents flagged as needy. Hours
// move only through package ledger.
package mutualaid
