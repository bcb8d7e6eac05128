package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/linli-community/linli/models"
)

// Transfer moves t.Amount from t.From to t.To, exactly once per t.ID. The
// intent is recorded first, then the debit, then the credit; each is keyed,
// so a repeat, or FinishTransfers after a crash, completes what is missing
// and doubles nothing.
func (l *Ledger) Transfer(ctx context.Context, t Transfer) (debit, credit models.Entry, err error) {
	switch {
	case t.ID == "":
		return debit, credit, models.ErrIdempotencyKey
	case t.Amount <= 0 || t.Amount > models.MaxAmount:
		return debit, credit, models.ErrValidation.Withf("数额须在 1 到 %d 之间。", "amount must be between 1 and %d", models.MaxAmount)
	case t.From.Asset != t.To.Asset:
		return debit, credit, models.ErrValidation.Withf("积分和时长之间不能互相转移。", "cannot transfer between assets")
	case t.From == t.To:
		return debit, credit, models.ErrValidation.Withf("不能转给自己的同一个账户。", "cannot transfer to the same account")
	case t.Floor > 0:
		return debit, credit, fmt.Errorf("ledger: positive floor: %w", models.ErrValidation)
	}
	t.At = l.stamp()
	err = l.store.InsertTransfer(ctx, t)
	if errors.Is(err, models.ErrConflict) {
		prior, err := l.store.Transfer(ctx, t.ID)
		if err != nil {
			return debit, credit, fmt.Errorf("ledger: read transfer: %w", err)
		}
		if prior.Hash != t.Hash {
			return debit, credit, models.ErrIdempotencyMismatch
		}
		t = prior
	} else if err != nil {
		return debit, credit, fmt.Errorf("ledger: record transfer: %w", err)
	}
	return l.completeTransfer(ctx, t)
}

// completeTransfer posts both legs of t, each exactly once by its own op
// id, so a transfer interrupted between them is finished by running it
// again.
func (l *Ledger) completeTransfer(ctx context.Context, t Transfer) (debit, credit models.Entry, err error) {
	debit, err = l.Post(ctx, Posting{
		OpID:           t.ID + ":debit",
		Hash:           t.Hash,
		Account:        t.From,
		CommunityID:    t.CommunityID,
		Delta:          -t.Amount,
		Kind:           models.KindTransferOut,
		Ref:            t.ID,
		Reason:         t.Reason,
		IdempotencyKey: t.Key,
		PolicyVersion:  t.Policy,
		Floor:          t.Floor,
		Actor:          t.Actor,
	})
	if errors.Is(err, models.ErrInsufficientHours) || errors.Is(err, models.ErrInsufficientPoints) {
		// Refused before anything moved: nothing is left to finish.
		_ = l.store.DoneTransfer(ctx, t.ID)
		return debit, credit, err
	}
	if err != nil {
		return debit, credit, err
	}
	credit, err = l.Post(ctx, Posting{
		OpID:           t.ID + ":credit",
		Hash:           t.Hash,
		Account:        t.To,
		CommunityID:    t.CommunityID,
		Delta:          t.Amount,
		Kind:           models.KindTransferIn,
		Ref:            t.ID,
		Reason:         t.Reason,
		IdempotencyKey: t.Key,
		PolicyVersion:  t.Policy,
		Actor:          t.Actor,
	})
	if err != nil {
		return debit, credit, fmt.Errorf("ledger: transfer credit: %w", err)
	}
	if err := l.store.DoneTransfer(ctx, t.ID); err != nil {
		return debit, credit, fmt.Errorf("ledger: close transfer: %w", err)
	}
	return debit, credit, nil
}

// FinishTransfers completes every transfer recorded before now−grace whose
// credit has not landed (a crash between debit and credit), and returns how
// many it finished.
func (l *Ledger) FinishTransfers(ctx context.Context, grace time.Duration) (int, error) {
	pending, err := l.store.PendingTransfers(ctx, l.now().Add(-grace))
	if err != nil {
		return 0, fmt.Errorf("ledger: list transfers: %w", err)
	}
	n := 0
	for _, t := range pending {
		_, _, err := l.completeTransfer(ctx, t)
		if err != nil && models.CodeOf(err) == "" {
			return n, err
		}
		n++
	}
	return n, nil
}
