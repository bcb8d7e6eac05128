// Package services holds Linli's use cases, one file per capability. They
// check who may do what (a resident sees only their own data, staff only
// their community), apply the community's rules, and move value only
// through package ledger. They never import Fiber or the driver.
package services
