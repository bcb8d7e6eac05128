package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/linli-community/linli/models"
)

// cheap keeps the tests fast; the production cost is DefaultPasswordParams.
var cheap = PasswordParams{
	MemoryKiB:   1024,
	Iterations:  1,
	Parallelism: 1,
}

func mustPasswords(t *testing.T, p PasswordParams) *Passwords {
	t.Helper()
	pw, err := NewPasswords(p)
	if err != nil {
		t.Fatal(err)
	}
	return pw
}

func TestPasswordHashAndCheck(t *testing.T) {
	pw := mustPasswords(t, cheap)
	ctx := context.Background()
	h, err := pw.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Errorf("hash = %q", h)
	}
	if h2, _ := pw.Hash("correct horse"); h2 == h {
		t.Error("same hash twice: salt missing")
	}
	if err := pw.Check(ctx, "correct horse", h); err != nil {
		t.Errorf("right password: %v", err)
	}
	for _, wrong := range []string{"correct horsE", "", "correct horse ", strings.Repeat("x", 10000)} {
		if err := pw.Check(ctx, wrong, h); err != models.ErrInvalidCredentials {
			t.Errorf("Check(%.20q) = %v, want ErrInvalidCredentials", wrong, err)
		}
	}
	// No login: fails the same way, even for the dummy's own password.
	for _, any := range []string{"correct horse", "linli-dummy-password"} {
		if err := pw.Check(ctx, any, ""); err != models.ErrInvalidCredentials {
			t.Errorf("Check with no hash = %v, want ErrInvalidCredentials", err)
		}
	}
	if err := pw.Check(ctx, "correct horse", "$argon2id$garbage"); err == nil || err == models.ErrInvalidCredentials {
		t.Errorf("corrupt hash: err = %v, want an internal error", err)
	}
}

func TestPasswordPolicy(t *testing.T) {
	pw := mustPasswords(t, cheap)
	for _, p := range []string{"", "1234567", "七个字的密码呀", strings.Repeat("a", MaxPasswordLen+1)} {
		if _, err := pw.Hash(p); models.CodeOf(err) != models.ErrValidation.Code {
			t.Errorf("Hash(%q) err = %v, want ErrValidation", p, err)
		}
	}
	for _, p := range []string{"12345678", "八个字的密码呀呀", strings.Repeat("a", MaxPasswordLen)} {
		if _, err := pw.Hash(p); err != nil {
			t.Errorf("Hash(%q): %v", p, err)
		}
	}
}

// An unknown phone must cost about what a wrong password does, or the
// timing tells which phones are registered.
// An unknown phone does the same work as a wrong password: it is verified
// against a dummy hash made with the same Argon2id parameters as real ones.
// (Checked by what it computes, not by a stopwatch: timings in tests only
// measure the machine's load.)
func TestUnknownPhoneDoesTheSameWorkAsWrongPassword(t *testing.T) {
	pw := mustPasswords(t, PasswordParams{
		MemoryKiB:   8 * 1024,
		Iterations:  3,
		Parallelism: 1,
	})
	real, err := pw.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	params := func(h string) string { // "$argon2id$v=19$m=8192,t=3,p=1$salt$key" → "v=19$m=8192,t=3,p=1"
		parts := strings.Split(h, "$")
		if len(parts) != 6 {
			t.Fatalf("not an encoded Argon2id hash: %q", h)
		}
		return parts[2] + "$" + parts[3]
	}
	if params(pw.dummy) != params(real) || params(real) != "v=19$m=8192,t=3,p=1" {
		t.Fatalf("dummy hash parameters %q differ from real ones %q", params(pw.dummy), params(real))
	}
	if ok, err := argon2id.ComparePasswordAndHash("linli-dummy-password", pw.dummy); err != nil || !ok {
		t.Fatalf("the dummy is not a real hash: %v %v", ok, err)
	}
	ctx := context.Background()
	if err := pw.Check(ctx, "wrong password", ""); !errors.Is(err, models.ErrInvalidCredentials) {
		t.Fatalf("unknown phone: %v", err)
	}
	// Even the dummy's own password fails for an unknown phone.
	if err := pw.Check(ctx, "linli-dummy-password", ""); !errors.Is(err, models.ErrInvalidCredentials) {
		t.Fatalf("dummy password let an unknown phone in: %v", err)
	}
}

func TestCheckWaitsForASlotWithinTheContext(t *testing.T) {
	pw := mustPasswords(t, PasswordParams{
		MemoryKiB:     1024,
		Iterations:    1,
		Parallelism:   1,
		MaxConcurrent: 1,
	})
	pw.slots <- struct{}{} // every slot busy
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := pw.Check(ctx, "whatever1", ""); err == nil || err == models.ErrInvalidCredentials {
		t.Errorf("err = %v, want the context's error", err)
	}
}
