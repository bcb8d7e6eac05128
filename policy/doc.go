// Package policy keeps each community's versioned policy (points per hour,
// bounds, hold and expiry rules): staff add a version effective from a
// date, and every capability asks which version was in force at a time
// (community.PolicySource), from a short-lived cache on the injected clock.
package policy
