// Package community holds what every capability package shares about the
// community it serves: who belongs to it (People, the members cache, the
// staff and visibility checks), its time zone (Zones), the rules in force
// (PolicySource), the staff audit trail, and the idempotency of a request
// (Idempotency, the keyed-request log Requests, DerivedID). It knows no
// capability and imports only models; docs/ARCHITECTURE.md §2 shows where it
// sits.
package community
