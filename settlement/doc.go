// Package settlement closes each month for the partners: it settles their
// statements from the redemptions' settlement events, expires unused
// points (first in, first out), reports the points liability, and exports
// a statement as CSV or XLSX. It reads the holds it must leave alone
// through HeldPoints, which package rewards implements.
package settlement
