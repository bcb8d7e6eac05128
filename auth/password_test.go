package auth

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/linli-community/linli/models"
)

// cheap keeps the tests fast; the production cost is DefaultPasswordParams.
var cheap = PasswordParams{MemoryKiB: 1024, Iterations: 1, Parallelism: 1}

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
func TestUnknownPhoneTakesAsLongAsWrongPassword(t *testing.T) {
	pw := mustPasswords(t, PasswordParams{MemoryKiB: 8 * 1024, Iterations: 2, Parallelism: 1})
	h, err := pw.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	timeOf := func(hash string) time.Duration {
		best := time.Hour
		for range 5 {
			start := time.Now()
			_ = pw.Check(ctx, "wrong password", hash)
			best = min(best, time.Since(start))
		}
		return best
	}
	known, unknown := timeOf(h), timeOf("")
	if unknown < known/2 || unknown > known*2 {
		t.Errorf("wrong password took %v, unknown phone %v", known, unknown)
	}
}

func TestCheckWaitsForASlotWithinTheContext(t *testing.T) {
	pw := mustPasswords(t, PasswordParams{MemoryKiB: 1024, Iterations: 1, Parallelism: 1, MaxConcurrent: 1})
	pw.slots <- struct{}{} // every slot busy
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := pw.Check(ctx, "whatever1", ""); err == nil || err == models.ErrInvalidCredentials {
		t.Errorf("err = %v, want the context's error", err)
	}
}
