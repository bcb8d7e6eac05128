package models

// HonourList names one of a community's lists of honour-roll entries that
// screens page through by cursor (docs/PERFORMANCE.md, "Lists").
type HonourList string

const (
	// HonourListAll is every nomination of the community, the latest first.
	HonourListAll HonourList = "all"
	// HonourListNotice is the nominations still in public notice (公示), the
	// latest first: the same list as HonourListAll, read down to a saved
	// floor below which no entry is in notice any more.
	HonourListNotice HonourList = "notice"
	// HonourListBoard is the entries ever listed, the latest listed first,
	// read down to a saved floor below which every listing has ended for
	// good.
	HonourListBoard HonourList = "board"
)
