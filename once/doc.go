// Package once holds the exactly-once primitives Linli builds every step
// on, on a store whose only atomic guarantee is a unique _id
// (docs/ARCHITECTURE.md §4). It knows no driver: each primitive works over
// a small port declared here, which package store implements.
//
// Keys (keys.go, §4.1): every insert-once key the use cases write has one
// builder named after the domain (RedemptionFinal, Signup, DayIndex, …).
// The key is derived from what makes the step unique, so a second attempt
// collides with the first.
//
// Marks (Decide, Insert, Decided; §4.2): a decision is a mark inserted
// under a key all competing decisions share. The first insert wins; every
// other writer and every reader follows the winner.
//
// Counters (Counter; §4.3): limited units (stock, limits, visitor bays)
// are taken by inserting the next numbered take slot and given back by
// inserting the next back slot, with a once-per-holder ticket. Unit n may
// be taken only while n ≤ capacity + backs; a bounded map of hints keeps
// the first slot not known to be taken.
//
// Generations (Generation, ClaimGeneration, Places; §4.4): a record that
// may be made again after it was cancelled, refused or voided is numbered,
// and the retry claims generation g+1. Places are a fixed number of
// places, each taken and released by inserts and taken again as the next
// generation.
//
// Chains (Chains; §4.7): numbered links, link N built from link N−1 and
// inserted at N, so of two writers racing for N one wins and the other
// reads on. A per-ref note makes an append safe to repeat.
package once
