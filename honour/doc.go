// Package honour runs the honour roll (诚信红榜) from nomination through
// its public notice to listing and expiry, the terms, duties and monthly
// allowances of building heads and the other 三长, star households and the
// rankings. It answers rewards' Eligibility and directory's
// HeadTermKeeper, and appoints a building's head through HeadAppointer,
// which package directory implements.
package honour
