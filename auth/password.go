package auth

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/alexedwards/argon2id"
	"github.com/linli-community/linli/models"
)

// Password length bounds, in characters. The upper bound keeps a request
// from making the server hash megabytes.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 128
)

// PasswordParams are the Argon2id cost settings.
type PasswordParams struct {
	MemoryKiB   uint32 // memory per hash, KiB
	Iterations  uint32
	Parallelism uint8
	// MaxConcurrent bounds how many hashes run at once, so a burst of logins
	// cannot take MemoryKiB × burst of memory.
	MaxConcurrent int
}

// DefaultPasswordParams follow OWASP's Argon2id minimum (19 MiB, 2 passes,
// 1 lane).
var DefaultPasswordParams = PasswordParams{
	MemoryKiB:     19 * 1024,
	Iterations:    2,
	Parallelism:   1,
	MaxConcurrent: 4,
}

// Passwords hashes and checks passwords with Argon2id.
type Passwords struct {
	params *argon2id.Params
	slots  chan struct{}
	// dummy is checked when a phone has no login, so an unknown phone costs
	// the same time as a wrong password and does not reveal itself.
	dummy string
}

// NewPasswords returns a hasher with params; zero fields take the defaults.
func NewPasswords(p PasswordParams) (*Passwords, error) {
	d := DefaultPasswordParams
	if p.MemoryKiB == 0 {
		p.MemoryKiB = d.MemoryKiB
	}
	if p.Iterations == 0 {
		p.Iterations = d.Iterations
	}
	if p.Parallelism == 0 {
		p.Parallelism = d.Parallelism
	}
	if p.MaxConcurrent <= 0 {
		p.MaxConcurrent = d.MaxConcurrent
	}
	pw := &Passwords{
		params: &argon2id.Params{
			Memory:      p.MemoryKiB,
			Iterations:  p.Iterations,
			Parallelism: p.Parallelism,
			SaltLength:  16,
			KeyLength:   32,
		},
		slots: make(chan struct{}, p.MaxConcurrent),
	}
	dummy, err := argon2id.CreateHash("linli-dummy-password", pw.params)
	if err != nil {
		return nil, fmt.Errorf("auth: dummy hash: %w", err)
	}
	pw.dummy = dummy
	return pw, nil
}

// CheckPasswordPolicy returns models.ErrValidation unless password has
// MinPasswordLen to MaxPasswordLen characters.
func CheckPasswordPolicy(password string) error {
	n := utf8.RuneCountInString(password)
	if n < MinPasswordLen || n > MaxPasswordLen || !utf8.ValidString(password) {
		return models.ErrValidation.Withf("密码长度须为 %d 到 %d 个字符。", "password must be %d to %d characters", MinPasswordLen, MaxPasswordLen)
	}
	return nil
}

// Hash returns the encoded Argon2id hash of password, or models.ErrValidation
// if the password breaks the policy.
func (p *Passwords) Hash(password string) (string, error) {
	if err := CheckPasswordPolicy(password); err != nil {
		return "", err
	}
	p.slots <- struct{}{}
	defer func() { <-p.slots }()
	h, err := argon2id.CreateHash(password, p.params)
	if err != nil {
		return "", fmt.Errorf("auth: hash password: %w", err)
	}
	return h, nil
}

// Check returns nil if password matches encodedHash, and
// models.ErrInvalidCredentials if it does not. An empty encodedHash (no
// login for that phone) is checked against a dummy hash, taking the same
// time, and always fails. ctx bounds only the wait for a free hashing slot.
func (p *Passwords) Check(ctx context.Context, password, encodedHash string) error {
	known := encodedHash != ""
	if !known {
		encodedHash = p.dummy
	}
	if len(password) > 4*MaxPasswordLen {
		// No such password can have been set; it is still hashed (cut
		// short) so the reply takes the usual time.
		password, known = password[:4*MaxPasswordLen], false
	}
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("auth: check password: %w", ctx.Err())
	}
	defer func() { <-p.slots }()
	ok, err := argon2id.ComparePasswordAndHash(password, encodedHash)
	if err != nil {
		return fmt.Errorf("auth: check password: %w", err) // a corrupt stored hash
	}
	if !ok || !known {
		return models.ErrInvalidCredentials
	}
	return nil
}

// Credentials are what a login is checked against: a phone's resident and
// password hash.
type Credentials struct {
	Phone        string
	ResidentID   string
	CommunityID  string
	PasswordHash string // Argon2id, encoded
}
