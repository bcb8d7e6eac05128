package privacy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/linli-community/linli/cache"
	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/once"
)

// Store keeps consents and access records. Every method returns a wrapped
// models.ErrConflict for a duplicate key and models.ErrNotFound for a
// missing document, as stated.
type Store interface {
	// InsertConsent inserts c under id; ErrConflict if id exists.
	InsertConsent(ctx context.Context, id string, c models.Consent) error
	// Consent returns the consent stored under id, or ErrNotFound.
	Consent(ctx context.Context, id string) (models.Consent, error)
	// InsertAccessRecords inserts each of rs on its resident's list;
	// records are never changed or removed.
	InsertAccessRecords(ctx context.Context, rs []models.AccessRecord) error
	// AccessLog is one page of residentID's access records, newest first:
	// at most limit, below cursor ("" for the first page), and the
	// cursor of the next page ("" at the end); models.ErrBadCursor for a
	// cursor the list did not give out.
	AccessLog(ctx context.Context, residentID, cursor string, limit int) ([]models.AccessRecord, string, error)
}

// Deps are what the service is built from.
type Deps struct {
	Store  Store
	People community.People
	// Sources read what an export holds; app passes the capabilities.
	Sources Sources
	// Notice is the privacy notice in force; its Version is what a
	// resident must have accepted.
	Notice models.PrivacyNotice
	// Gate makes ConsentMissing refuse residents who have not accepted
	// the notice in force (LINLI_CONSENT_GATE).
	Gate  bool
	NewID func() string
	Now   func() time.Time
}

// Service is the privacy capability.
type Service struct {
	store   Store
	people  community.People
	sources Sources
	notice  models.PrivacyNotice
	gate    bool
	newID   func() string
	now     func() time.Time
	// accepted remembers consents found, by their id: a consent is never
	// withdrawn by an update, so what is remembered stays true.
	accepted *cache.Cache[string, bool]
}

const (
	acceptedTTL  = time.Hour
	acceptedSize = 100_000
)

// New returns the service over d.
func New(d Deps) *Service {
	return &Service{
		store:    d.Store,
		people:   d.People,
		sources:  d.Sources,
		notice:   d.Notice,
		gate:     d.Gate,
		newID:    d.NewID,
		now:      d.Now,
		accepted: cache.New[string, bool](acceptedTTL, acceptedSize, d.Now),
	}
}

// Notice returns the privacy notice in force.
func (s *Service) Notice() models.PrivacyNotice { return s.notice }

// asksConsent reports whether p is someone the notice is put to: a
// person using the residents' app (a resident, building head or team
// lead) who is not staff. Staff, clerks and partners sign in to do their
// work and are not asked here.
func asksConsent(p models.Principal) bool {
	return p.ResidentID != "" && !p.IsStaff() &&
		p.Has(models.RoleResident, models.RoleBuildingHead, models.RoleTeamLead)
}

// ConsentStatus is what the residents' app needs to know at sign-in.
type ConsentStatus struct {
	Version string // the notice in force
	// Required: the gate is on, p is asked and has not accepted Version,
	// so the app shows the notice first.
	Required bool
	Accepted time.Time // zero if Version is not accepted
}

// Status reports whether p has accepted the notice in force.
func (s *Service) Status(ctx context.Context, p models.Principal) (ConsentStatus, error) {
	st := ConsentStatus{Version: s.notice.Version}
	if !asksConsent(p) {
		return st, nil
	}
	c, err := s.store.Consent(ctx, once.Consent(p.ResidentID, s.notice.Version))
	switch {
	case errors.Is(err, models.ErrNotFound):
		st.Required = s.gate
		return st, nil
	case err != nil:
		return st, fmt.Errorf("consent status: %w", err)
	}
	st.Accepted = c.At
	return st, nil
}

// ConsentMissing returns models.ErrConsentRequired when the gate is on and
// p is asked for consent and has not accepted the notice in force; nil
// otherwise. It runs on every request of a resident, so an acceptance
// found is remembered.
func (s *Service) ConsentMissing(ctx context.Context, p models.Principal) error {
	if !s.gate || !asksConsent(p) {
		return nil
	}
	id := once.Consent(p.ResidentID, s.notice.Version)
	if _, ok := s.accepted.Get(id); ok {
		return nil
	}
	_, err := s.store.Consent(ctx, id)
	switch {
	case errors.Is(err, models.ErrNotFound):
		return models.ErrConsentRequired.Withf("请先阅读并同意《个人信息保护告知书》（%[1]s 版）。",
			"read and accept the privacy notice (version %[1]s) first", s.notice.Version)
	case err != nil:
		return fmt.Errorf("consent: %w", err)
	}
	s.accepted.Put(id, true)
	return nil
}

// Accept records that p accepted version of the notice, shown in lang
// (zh-CN or en), under opID, the request's scoped Idempotency-Key ("" for
// none). It is inserted once per resident and version: a repeat returns
// the first acceptance and created=false, except that a repeat of the same
// request (its opID) answers with its first result, created=true. A
// version other than the one in force is refused models.ErrConsentVersion.
func (s *Service) Accept(ctx context.Context, p models.Principal, version string, lang models.Language, opID string) (models.Consent, bool, error) {
	if p.ResidentID == "" {
		return models.Consent{}, false, models.ErrForbidden
	}
	if version != s.notice.Version {
		return models.Consent{}, false, models.ErrConsentVersion.Withf(
			"您同意的是 %[1]q 版，现行版本为 %[2]q：请重新阅读后同意。",
			"version %[1]q is not the notice in force (%[2]q); read it again and accept", version, s.notice.Version)
	}
	if lang != models.LangEn {
		lang = models.LangZh
	}
	c := models.Consent{
		ResidentID:  p.ResidentID,
		CommunityID: p.CommunityID,
		Version:     version,
		Language:    lang,
		At:          s.now().UTC().Truncate(time.Millisecond),
		OpID:        opID,
	}
	id := once.Consent(p.ResidentID, version)
	err := s.store.InsertConsent(ctx, id, c)
	created := err == nil
	if errors.Is(err, models.ErrConflict) {
		// Accepted before, or by a repeat at the same moment: the first
		// acceptance stands.
		c, err = s.store.Consent(ctx, id)
		created = err == nil && opID != "" && c.OpID == opID
	}
	if err != nil {
		return models.Consent{}, false, fmt.Errorf("accept notice: %w", err)
	}
	s.accepted.Put(id, true)
	return c, created, nil
}

// Watched reports whether p reading residentID's data is someone else's
// read, to be recorded: anyone but the resident themself.
func Watched(p models.Principal, residentID string) bool {
	return residentID != "" && residentID != p.ResidentID
}

// RecordReads records that p read the personal data of each of
// residentIDs (kind, with detail), once per resident; reads of p's own
// data are not recorded. The caller shows the data only after this
// returns nil, so nothing is shown that is not on its resident's log.
func (s *Service) RecordReads(ctx context.Context, p models.Principal, kind models.AccessKind, detail string, residentIDs ...string) error {
	at := s.now().UTC().Truncate(time.Millisecond)
	seen := map[string]bool{}
	var rs []models.AccessRecord
	for _, id := range residentIDs {
		if !Watched(p, id) || seen[id] {
			continue
		}
		seen[id] = true
		rs = append(rs, models.AccessRecord{
			ID:          s.newID(),
			ResidentID:  id,
			CommunityID: p.CommunityID,
			ActorID:     p.ResidentID,
			ActorRoles:  p.Roles,
			Kind:        kind,
			Detail:      detail,
			At:          at,
		})
	}
	if len(rs) == 0 {
		return nil
	}
	if err := s.store.InsertAccessRecords(ctx, rs); err != nil {
		return fmt.Errorf("record access: %w", err)
	}
	return nil
}

// Access is one access record as the resident sees it: the reader's
// name masked (王**), and their roles.
type Access struct {
	models.AccessRecord
	ActorName string
}

// AccessLog is one page of the caller's own access log, newest first, and
// the cursor of the next page ("" at the end).
func (s *Service) AccessLog(ctx context.Context, p models.Principal, cursor string, limit int) ([]Access, string, error) {
	if p.ResidentID == "" {
		return nil, "", models.ErrForbidden
	}
	rs, next, err := s.store.AccessLog(ctx, p.ResidentID, cursor, community.PageLimit(limit))
	if err != nil {
		return nil, "", fmt.Errorf("access log: %w", err)
	}
	names := map[string]string{}
	out := make([]Access, len(rs))
	for i, r := range rs {
		name, ok := names[r.ActorID]
		if !ok {
			actor, err := s.people.Resident(ctx, r.ActorID)
			switch {
			case errors.Is(err, models.ErrNotFound):
				name = ""
			case err != nil:
				return nil, "", fmt.Errorf("access log: %w", err)
			default:
				name = models.MaskName(actor.Name)
			}
			names[r.ActorID] = name
		}
		out[i] = Access{AccessRecord: r, ActorName: name}
	}
	return out, next, nil
}
