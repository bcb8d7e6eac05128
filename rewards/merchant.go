package rewards

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/once"
	"github.com/linli-community/linli/qrtoken"
)

// QRLifetime is how long a merchant QR token is valid.
const QRLifetime = qrtoken.CounterLifetime

// QRPerMinute is the default bound on the QR tokens one resident may be
// issued per minute (LINLI_QR_PER_MINUTE).
const QRPerMinute = 10

// qrResidents bounds how many residents the QR limit remembers at once.
const qrResidents = 100_000

// LimitQR sets how many QR tokens one resident may be issued per minute.
func (s *Service) LimitQR(perMinute int) {
	s.qrLimiter.SetLimit(perMinute)
}

// CounterQR is a token issued to a resident to show at a counter.
type CounterQR struct {
	Token    string
	Code     string // CounterCodeLength characters a clerk can type instead of scanning
	RewardID string
	Expires  time.Time
}

// CounterCodeLength is the length of a merchant QR's short code.
const CounterCodeLength = qrtoken.CounterCodeLength

// recordCounterCode gives token (id tokenID, of community) a short code
// that no other token of the community ever had. The insert is the claim;
// a code taken by another token (about one in 10^11 per code) is passed
// over.
func (s *Service) recordCounterCode(ctx context.Context, community, tokenID, token string, expires time.Time) (string, error) {
	for try := 0; try < 5; try++ {
		code := s.qrTokens.Code(tokenID, try)
		err := s.store.InsertCounterCode(ctx, once.CounterCode(community, code), token, expires)
		if err == nil {
			return code, nil
		}
		if !errors.Is(err, models.ErrConflict) {
			return "", fmt.Errorf("qr code: %w", err)
		}
	}
	return "", fmt.Errorf("qr code: no free short code for token %s", tokenID)
}

// ScanCode redeems the merchant QR whose short code the clerk typed; it is
// Scan once the code is looked up in the clerk's community.
func (s *Service) ScanCode(ctx context.Context, p models.Principal, code string, idem community.Idempotency) (ScanResult, error) {
	if !p.Has(models.RoleMerchantClerk) || p.MerchantID == "" {
		return ScanResult{}, models.ErrForbidden
	}
	normal, err := qrtoken.NormalizeCounterCode(code)
	if err != nil {
		return ScanResult{}, err
	}
	token, err := s.store.CounterCode(ctx, once.CounterCode(p.CommunityID, normal))
	if errors.Is(err, models.ErrNotFound) {
		return ScanResult{}, models.ErrTokenInvalid.Withf("没有兑换码 %s，请核对后重输，或扫描二维码。", "there is no code %s; check it, or scan the QR code", normal)
	}
	if err != nil {
		return ScanResult{}, fmt.Errorf("scan code: %w", err)
	}
	return s.Scan(ctx, p, token, idem)
}

// IssueQR gives the calling resident a signed, single-use token for a
// merchant reward, valid for QRLifetime, at most QRPerMinute a minute.
func (s *Service) IssueQR(ctx context.Context, p models.Principal, rewardID string) (CounterQR, error) {
	if p.ResidentID == "" || !s.qrTokens.CanSign() {
		return CounterQR{}, models.ErrForbidden
	}
	reward, err := s.reward(ctx, p, rewardID)
	if err != nil {
		return CounterQR{}, fmt.Errorf("qr: %w", err)
	}
	if reward.Kind != models.RewardMerchant {
		return CounterQR{}, models.ErrValidation.Withf("只有商户兑换才使用兑换码。", "only a merchant reward is redeemed by QR code")
	}
	res, err := s.people.Resident(ctx, p.ResidentID)
	if err != nil {
		return CounterQR{}, fmt.Errorf("qr: %w", err)
	}
	loc, err := s.location(ctx, reward.CommunityID)
	if err != nil {
		return CounterQR{}, fmt.Errorf("qr: %w", err)
	}
	now := s.now()
	if err := s.admit(ctx, reward, res, now, loc); err != nil {
		return CounterQR{}, err
	}
	// The count lives in this process, which is enough to stop a runaway
	// app.
	if !s.qrLimiter.Allow(res.ID) {
		return CounterQR{}, models.ErrRateLimited.Withf("每分钟最多生成 %d 个兑换码，请稍后再试。", "at most %d QR codes a minute", s.qrLimiter.Limit())
	}
	expires := now.Add(QRLifetime).Truncate(time.Second)
	claims := qrtoken.CounterClaims{
		ID:        s.newID(),
		Resident:  res.ID,
		Community: res.CommunityID,
		Reward:    reward.ID,
		Issued:    now.Unix(),
		Expires:   expires.Unix(),
	}
	token := s.qrTokens.Sign(claims)
	code, err := s.recordCounterCode(ctx, res.CommunityID, claims.ID, token, expires.UTC())
	if err != nil {
		return CounterQR{}, err
	}
	return CounterQR{
		Token:    token,
		Code:     code,
		RewardID: reward.ID,
		Expires:  expires.UTC(),
	}, nil
}

// ScanResult is what a clerk sees after a scan: the resident's masked name
// and what was redeemed, nothing more.
type ScanResult struct {
	Redemption models.Redemption
	MaskedName string
}

// Scan redeems a QR token a clerk scanned at their merchant, exactly once.
// An attempt claims the token by inserting its mark, once.ScanMark of
// once.ScanAttempt(token id, n) for the n-th, which is also the
// attempt's redemption's final mark (fulfilled). Only one attempt is at
// work at a time: another clerk scanning meanwhile is ALREADY_REDEEMED.
// An attempt refused for points, stock or a limit records its refusal
// ("refused:"+redemption id) and gives back what it took, and the token
// stays usable until it expires: the next scan claims attempt n+1. The
// same clerk repeating their request with the same Idempotency-Key gets
// the first answer.
func (s *Service) Scan(ctx context.Context, p models.Principal, token string, idem community.Idempotency) (ScanResult, error) {
	if !p.Has(models.RoleMerchantClerk) || p.MerchantID == "" {
		return ScanResult{}, models.ErrForbidden
	}
	c, err := s.qrTokens.Parse(token)
	if err != nil {
		return ScanResult{}, err
	}
	if c.Community != p.CommunityID {
		return ScanResult{}, models.ErrForbidden.Withf("这个兑换码属于另一家商户。", "this code is for another merchant")
	}
	reward, err := s.rewardByID(ctx, c.Reward)
	if err != nil {
		return ScanResult{}, fmt.Errorf("scan: %w", err)
	}
	if reward.PartnerID != p.MerchantID || reward.CommunityID != p.CommunityID {
		return ScanResult{}, models.ErrForbidden.Withf("这个兑换码属于另一家商户。", "this code is for another merchant")
	}
	res, err := s.people.Resident(ctx, c.Resident)
	if err != nil {
		return ScanResult{}, fmt.Errorf("scan: %w", err)
	}
	// Eligibility is checked before the token is claimed, so a refused
	// resident can still show it elsewhere.
	var refusal error
	if s.now().Unix() >= c.Expires {
		refusal = models.ErrTokenExpired.Withf("兑换码已过期，请让居民重新出示。", "the code expired; ask for a fresh one")
	} else if loc, err := s.location(ctx, reward.CommunityID); err != nil {
		return ScanResult{}, fmt.Errorf("scan: %w", err)
	} else if refusal = s.admit(ctx, reward, res, s.now(), loc); refusal == nil {
		// Stock and limits are left to the attempt: claiming the token
		// first finishes an earlier attempt a crash cut short, which may
		// hold the unit.
		refusal = s.affordable(ctx, res, reward)
	}
	attempt, mark, fresh, err := s.claimToken(ctx, p, c.ID, idem, refusal)
	if err != nil {
		return ScanResult{}, err
	}
	redemption, err := s.open(ctx, reward, res, mark.Redemption, c.ID, idem.Key, attempt)
	if err != nil {
		return ScanResult{}, err
	}
	// The attempt's mark decided the redemption: applying it records the
	// merchant's settlement line. A repeat reads the mark the first wrote.
	if fresh && redemption.Status == models.RedemptionHeld {
		redemption, err = s.fulfilled(ctx, redemption, mark, true)
	} else {
		redemption, err = s.reconcile(ctx, redemption)
	}
	if err != nil {
		return ScanResult{}, err
	}
	return ScanResult{Redemption: redemption, MaskedName: models.MaskName(res.Name)}, nil
}

// claimToken claims QR token tokenID for the clerk's request: it walks the
// token's attempts past the refused ones and inserts the mark of the first
// free one, or finds the request's own (a retry, which finishes or replays
// even once the code has expired or refusal would refuse it now). It
// returns the attempt's name (the redemption's TokenID), its mark and
// whether this request wrote it.
func (s *Service) claimToken(ctx context.Context, p models.Principal, tokenID string, idem community.Idempotency, refusal error) (string, models.RedemptionMark, bool, error) {
	for n := 1; ; n++ {
		attempt := once.ScanAttempt(tokenID, n)
		mark := models.RedemptionMark{
			ID:         once.ScanMark(attempt),
			Redemption: community.DerivedID(once.ScanMark(attempt), "redemption"),
			Outcome:    string(models.RedemptionFulfilled),
			Actor:      p.ResidentID,
			At:         s.stamp(),
			Reason:     idem.OpID,
		}
		if refusal == nil {
			err := s.store.InsertRedemptionMark(ctx, mark)
			if err == nil {
				return attempt, mark, true, nil
			}
			if !errors.Is(err, models.ErrConflict) {
				return "", mark, false, fmt.Errorf("scan: %w", err)
			}
		}
		prior, err := s.mark(ctx, mark.ID)
		if errors.Is(err, models.ErrNotFound) && refusal != nil {
			return "", mark, false, refusal
		}
		if err != nil {
			return "", mark, false, fmt.Errorf("scan: %w", err)
		}
		if prior.Actor == p.ResidentID && prior.Reason == idem.OpID {
			return attempt, prior, false, nil
		}
		refused, err := s.attemptRefused(ctx, prior.Redemption)
		if err != nil {
			return "", mark, false, fmt.Errorf("scan: %w", err)
		}
		if !refused {
			return "", mark, false, models.ErrAlreadyRedeemed.Withf("这个兑换码已于 %s 兑换。", "this code was redeemed at %s", prior.At.Format(time.RFC3339))
		}
		// That attempt was refused: the token is free for the next.
	}
}

// attemptRefused reports whether the scan attempt that opened redemption
// id was refused: its refusal is recorded, or its hold was refused and a
// crash kept the refusal from being recorded (recorded now, with its units
// given back, so the code is not blocked until it expires).
func (s *Service) attemptRefused(ctx context.Context, id string) (bool, error) {
	_, err := s.mark(ctx, once.RedemptionRefused(id))
	if err == nil || !errors.Is(err, models.ErrNotFound) {
		return err == nil, err
	}
	redemption, _, err := s.store.Redemption(ctx, id)
	if errors.Is(err, models.ErrNotFound) {
		return false, nil // still being opened, or died before it was
	}
	if err != nil || redemption.Status != models.RedemptionOpening {
		return redemption.Status == models.RedemptionFailed, err
	}
	redemption, err = s.reconcile(ctx, redemption)
	return redemption.Status == models.RedemptionFailed, err
}

// Refund undoes a merchant redemption within the policy's refund window:
// the points come back and the merchant's statement gets a negative line.
// Once per redemption; a repeat returns the refunded redemption. The
// reason may be blank (none); a given one is cleaned
// (models.CleanOptionalText).
func (s *Service) Refund(ctx context.Context, p models.Principal, id, reason string) (models.Redemption, error) {
	reason, err := models.CleanOptionalText("reason", reason, MaxPartnerReason)
	if err != nil {
		return models.Redemption{}, err
	}
	redemption, err := s.merchantRedemption(ctx, p, id)
	if err != nil {
		return models.Redemption{}, fmt.Errorf("refund: %w", err)
	}
	if redemption.Status == models.RedemptionRefunded {
		return redemption, nil
	}
	if redemption.Status != models.RedemptionFulfilled {
		return redemption, models.ErrRedemptionClosed.Withf("该兑换单%[2]s，只有已兑换的才能退回。", "the redemption is %[1]s", redemption.Status, redemption.Status.Zh())
	}
	now := s.stamp()
	policy, err := s.policies.At(ctx, redemption.CommunityID, now)
	if err != nil {
		return redemption, fmt.Errorf("refund: %w", err)
	}
	if now.Sub(redemption.Fulfilled) > time.Duration(policy.MerchantRefundDays)*24*time.Hour {
		return redemption, models.ErrRefundWindowEnded.Withf("兑换后 %d 天内才能退回。", "refunds are possible for %d days", policy.MerchantRefundDays)
	}
	err = s.store.InsertRedemptionMark(ctx, models.RedemptionMark{
		ID:         once.RedemptionRefund(redemption.ID),
		Redemption: redemption.ID,
		Outcome:    string(models.RedemptionRefunded),
		Actor:      p.ResidentID,
		At:         now,
		Reason:     reason,
	})
	if errors.Is(err, models.ErrConflict) {
		return s.reconcile(ctx, redemption) // a repeat, or a refund that ran at the same time
	}
	if err != nil {
		return redemption, fmt.Errorf("refund: %w", err)
	}
	return s.reconcileAndSave(ctx, redemption)
}

// refunded is redemption refunded by mark m; its effects are the points and units
// given back and the merchant's negative settlement line.
func (s *Service) refunded(ctx context.Context, redemption models.Redemption, m models.RedemptionMark, apply bool) (models.Redemption, error) {
	redemption.Status, redemption.Closed = models.RedemptionRefunded, m.At
	if !apply {
		return redemption, nil
	}
	policy, err := s.policies.At(ctx, redemption.CommunityID, m.At)
	if err != nil {
		return redemption, err
	}
	_, err = s.ledger.Release(ctx, ledger.Posting{
		OpID:          once.RedemptionRefund(redemption.ID),
		Hash:          redemption.ID,
		Account:       models.AccountOf(redemption.ResidentID, models.AssetPoints),
		CommunityID:   redemption.CommunityID,
		Delta:         int64(redemption.Points),
		Ref:           redemption.ID,
		Reason:        "商户退还: " + redemption.Title,
		PolicyVersion: policy.Version,
		Actor:         m.Actor,
	})
	if err != nil {
		return redemption, fmt.Errorf("refund: %w", err)
	}
	err = s.recordEvent(ctx, settlementLine(redemption, once.ReverseEvent(redemption.ID, redemption.Generation), models.EventReversed, redemption.Title+" (退还)", m.At))
	if err != nil {
		return redemption, fmt.Errorf("refund: %w", err)
	}
	s.notify.Notify(ctx, redemptionNotice(redemption, models.NoticeRedemptionRefunded, once.RedemptionRefund(redemption.ID)))
	if err := s.giveBackAll(ctx, redemption); err != nil {
		return redemption, fmt.Errorf("refund: %w", err)
	}
	return redemption, nil
}

// merchantRedemption loads a redemption for a merchant clerk: ErrForbidden for anyone else
// or another merchant's redemption, ErrNotFound for another community's or a refused one.
func (s *Service) merchantRedemption(ctx context.Context, p models.Principal, id string) (models.Redemption, error) {
	if !p.Has(models.RoleMerchantClerk) || p.MerchantID == "" {
		return models.Redemption{}, models.ErrForbidden
	}
	redemption, _, err := s.store.Redemption(ctx, id)
	if err != nil {
		return models.Redemption{}, err
	}
	if redemption.CommunityID != p.CommunityID {
		return models.Redemption{}, models.ErrNotFound
	}
	if redemption.PartnerID != p.MerchantID {
		return models.Redemption{}, models.ErrForbidden
	}
	return s.listed(ctx, redemption)
}

// MerchantDay is one page of the clerk's merchant's redemptions made on
// day ("2026-11-21" in the community's time zone; "" for today), newest
// first, from cursor ("" for the first page), and the cursor of the next
// page ("" at the end). A page reads limit places of the merchant's day
// lists by _id, so it costs the same however long the merchant's history.
func (s *Service) MerchantDay(ctx context.Context, p models.Principal, day, cursor string, limit int) ([]models.Redemption, string, error) {
	if !p.Has(models.RoleMerchantClerk) || p.MerchantID == "" {
		return nil, "", models.ErrForbidden
	}
	loc, err := s.location(ctx, p.CommunityID)
	if err != nil {
		return nil, "", err
	}
	var from time.Time
	if day == "" {
		n := s.now().In(loc)
		from = time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, loc)
	} else if from, err = time.ParseInLocation("2006-01-02", day, loc); err != nil {
		return nil, "", models.ErrValidation.Withf("日期格式须为 2026-11-21。", "day must look like 2026-11-21")
	}
	rs, next, err := s.store.DayRedemptions(ctx, p.CommunityID, p.MerchantID, from.UTC(), from.AddDate(0, 0, 1).UTC(), cursor, community.PageLimit(limit))
	if err != nil {
		return nil, "", err
	}
	rs, err = s.current(ctx, rs)
	return rs, next, err
}
