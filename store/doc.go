// Package store keeps Linli's data in MongoDB, or in the embedded
// MongoDB-compatible server (FerretDB over SQLite) that runs inside the
// process when no MONGODB_URI is given. It is the only package that imports
// the driver: BSON documents live here and are converted to and from the
// models types by named functions.
//
// Every query on a hot path is an insert or an exact-_id operation, because
// those are the only ones the embedded store does not evaluate by scanning
// every document of the collection (docs/ARCHITECTURE.md §9).
package store
