// Package privacy honours residents' rights over their personal
// information (个人信息保护法, docs/ARCHITECTURE.md §11): the privacy
// notice and each resident's consent to its version, the record of who
// else read a resident's personal data, and the export of everything kept
// about a resident. It declares the store it needs (Store) and the
// sources of an export (Sources), filled in by app from the other
// capabilities, and imports neither the driver nor Fiber.
//
// Every write here is an insert: a consent is inserted once per resident
// and notice version (once.Consent), and an access record is inserted once
// and never changed, on its resident's list.
package privacy
