// Package directory keeps the structure of a community: communities,
// buildings (and who heads each), households, residents with their logins
// and roles, partners, and the CSV import of households and residents.
// Building heads' terms follow a change of head through HeadTermKeeper,
// which package honour implements.
package directory
