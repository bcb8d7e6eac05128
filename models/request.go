package models

import "time"

// KeyedRequest is a value-affecting request remembered under its
// caller-scoped idempotency key: the hash of the request, recorded before
// the request has any effect, and, once it is answered, the first answer,
// which every repeat gets back.
type KeyedRequest struct {
	ID   string // "k:" + caller + ":" + the client's key
	Hash string // of method, path and body
	At   time.Time
	// Status and Body are the first answer; Status is 0 while none is
	// stored (the first request is at work, or died after its effect).
	Status int
	Body   []byte
}

// Answered reports whether the first answer is stored.
func (r KeyedRequest) Answered() bool { return r.Status != 0 }
