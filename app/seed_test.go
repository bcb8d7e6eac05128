package main

import (
	"context"
	"testing"
)

// The demo's residents share one printed password, so the seed hashes it
// once and gives every demo login that hash; each still logs in with the
// password, and a resident created later by a request is hashed on its
// own (the second community's staff, created by the test world).
func TestDemoLoginsShareOneHashOfThePrintedPassword(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	demo := []string{phoneAdminA, phoneStaffA, phoneHeadA, phoneElderA, phoneSonA, phoneClerkA, phonePartnerA, "13900000010", "13900000029"}
	var hash string
	for _, phone := range demo {
		l, err := w.sys.store.LoginByPhone(ctx, phone)
		if err != nil {
			t.Fatalf("demo login %s: %v", phone, err)
		}
		if hash == "" {
			hash = l.PasswordHash
		}
		if l.PasswordHash == "" || l.PasswordHash != hash {
			t.Fatalf("demo login %s stores hash %q; want the one hash %q every demo login stores", phone, l.PasswordHash, hash)
		}
	}
	for _, phone := range []string{phoneElderA, phoneClerkA, "13900000029"} {
		if w.login(phone) == "" {
			t.Fatalf("demo login %s got no token with the printed password", phone)
		}
	}
	other, err := w.sys.store.LoginByPhone(ctx, phoneStaffB)
	if err != nil {
		t.Fatal(err)
	}
	if other.PasswordHash == hash || other.PasswordHash == "" {
		t.Fatalf("a resident created by a request stores hash %q; want its own", other.PasswordHash)
	}
	if w.login(phoneStaffB) == "" {
		t.Fatal("the second community's staff got no token")
	}
}
