// Package rewards runs the points catalogue and its redemptions: holds,
// cancellation and expiry, partner credits against bills (property fees,
// parking), the merchant counter (signed QR tokens, short codes, scans and
// refunds), filial-visit parking bays and gate events, and the offers a
// resident sees. It tells settlement what partners are owed through
// settlement events, and answers settlement's HeldPoints; who is eligible
// (honour roll, star level, building head) it asks through Eligibility.
package rewards
