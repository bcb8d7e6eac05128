package mutualaid

import (
	"context"

	"github.com/linli-community/linli/models"
	"github.com/linli-community/linli/once"
)

// SetAidStepHook makes t call hook just before it inserts a mutual-aid
// step, so a test can hold two decisions at the door and let them race.
func SetAidStepHook(t *Service, hook func(postID string, kind models.AidStepKind)) {
	t.aidStepHook = hook
}

// AidStepID is the key of step n of post id.
func AidStepID(id string, n int) string { return once.AidStep(id, n) }

// InsertAidStep writes step s of post id as decideAid would, and nothing
// else: a process that died right after the insert.
func InsertAidStep(ctx context.Context, t *Service, id string, s models.AidStep) error {
	a, err := t.store.Aid(ctx, id)
	if err != nil {
		return err
	}
	return t.store.InsertMark(ctx, aidStepMark(a, s))
}
