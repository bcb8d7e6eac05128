package community

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/linli-community/linli/models"
)

// People reads residents and communities.
type People interface {
	// Resident returns the resident with id, or models.ErrNotFound.
	Resident(ctx context.Context, id string) (models.Resident, error)
	// Community returns the community with id, or models.ErrNotFound.
	Community(ctx context.Context, id string) (models.Community, error)
}

// AuditTrail keeps the staff audit trail.
type AuditTrail interface {
	// RecordAudit adds r; a record with the same ID already there is kept
	// and nil is returned.
	RecordAudit(ctx context.Context, r models.AuditRecord) error
	// AuditTrail reads a community's records newest listed first, below
	// slot before (0: from the newest), made before until (zero: any): at
	// least limit of them unless the list ends first, each with its slot.
	AuditTrail(ctx context.Context, communityID string, before int64, until time.Time, limit int) (models.Listed[models.AuditRecord], error)
	// EntriesOfKinds reads a community's ledger entries of kinds (staff
	// adjustments) from their list as AuditTrail reads records.
	EntriesOfKinds(ctx context.Context, communityID string, kinds []models.EntryKind, before int64, until time.Time, limit int) (models.Listed[models.Entry], error)
}

// PolicySource says which policy is in force in a community at a time.
type PolicySource interface {
	At(ctx context.Context, communityID string, t time.Time) (models.Policy, error)
}

// Idempotency identifies one value-moving request.
type Idempotency struct {
	Key  string // as the client sent it
	OpID string // scoped to the caller
	Hash string // of the request
}

// VisibleResident loads a resident p may see. A resident of another
// community is reported as not found, so ids do not leak across tenants.
func VisibleResident(ctx context.Context, people People, p models.Principal, residentID string) (models.Resident, error) {
	r, err := people.Resident(ctx, residentID)
	if err != nil {
		return models.Resident{}, err
	}
	if r.CommunityID != p.CommunityID {
		return models.Resident{}, models.ErrNotFound
	}
	if !p.CanSeeResident(r.ID, r.CommunityID) {
		return models.Resident{}, models.ErrForbidden
	}
	return r, nil
}

// ManagedResident loads a resident of p's community for a staff action.
func ManagedResident(ctx context.Context, people People, p models.Principal, residentID string) (models.Resident, error) {
	if !p.IsStaff() {
		return models.Resident{}, models.ErrForbidden
	}
	return VisibleResident(ctx, people, p, residentID)
}

// RequireStaff returns models.ErrForbidden unless p is staff of a community.
func RequireStaff(p models.Principal) error {
	if !p.IsStaff() || p.CommunityID == "" {
		return models.ErrForbidden
	}
	return nil
}

// MaxPageSize bounds every listing.
const MaxPageSize = 200

// PageLimit returns the page size to read for a requested limit: 50 for
// none, at most MaxPageSize.
func PageLimit(limit int) int {
	if limit <= 0 {
		return 50
	}
	return min(limit, MaxPageSize)
}

// DerivedID is the id of one part of an operation, the same on every
// repeat of it, so a repeat finds what the first attempt wrote.
func DerivedID(opID, part string) string {
	sum := sha256.Sum256([]byte(opID + "\x00" + part))
	return hex.EncodeToString(sum[:8])
}

// CreatedID is the id of the record a create request makes: derived from
// the request's scoped key (DerivedID(idem.OpID, part)) when it has one,
// so that a repeat after a crash or a slow first answer (community.Requests
// lets it run again) inserts at the same id, meets the first record and
// answers with it instead of creating a second; fresh() without a key.
func CreatedID(idem Idempotency, part string, fresh func() string) string {
	if idem.OpID == "" {
		return fresh()
	}
	return DerivedID(idem.OpID, part)
}

// Repeated returns the record at id, the id CreatedID gave a keyed create
// whose insert met a conflict, with found=true when that record exists:
// the same request made it before, and its repeat answers with it. Without
// a key, or when nothing is at id (the conflict was another record's
// natural key, such as a building's name), found is false.
func Repeated[T any](ctx context.Context, idem Idempotency, load func(context.Context, string) (T, error), id string) (T, bool, error) {
	var zero T
	if idem.OpID == "" {
		return zero, false, nil
	}
	prev, err := load(ctx, id)
	if errors.Is(err, models.ErrNotFound) {
		return zero, false, nil
	}
	if err != nil {
		return zero, false, err
	}
	return prev, true, nil
}

// UndoCtx outlives a cancelled request, so compensation still runs.
func UndoCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}

// OptionalText returns s cleaned as models.CleanText does for field, at
// most max characters, or "" if s is blank.
func OptionalText(field, s string, max int) (string, error) {
	if strings.TrimSpace(s) == "" {
		return "", nil
	}
	return models.CleanText(field, s, max)
}

// MaskedName returns resident id's masked name ("" if unknown), remembered
// in names for one answer.
func MaskedName(ctx context.Context, people People, names map[string]string, id string) string {
	if id == "" {
		return ""
	}
	if n, ok := names[id]; ok {
		return n
	}
	n := ""
	if r, err := people.Resident(ctx, id); err == nil {
		n = models.MaskName(r.Name)
	}
	names[id] = n
	return n
}
