package community

import (
	"context"

	"github.com/linli-community/linli/models"
)

// Notifier tells people what happened (package inbox, through app). It
// returns nothing: a notice it could not write is logged where it is
// implemented, so a notification never fails or undoes the step that
// caused it. Each capability calls it from its step's keyed effects, which
// whoever finishes the step (a repeat, a reader following its mark, a job)
// runs again; the notification's id is derived from the event, so a
// notice sent again is written once.
type Notifier interface {
	Notify(ctx context.Context, n models.Notice)
}

// NoNotifier tells no one: what a tool or a test that tells no one passes
// where a capability requires a Notifier.
type NoNotifier struct{}

// Notify implements Notifier.
func (NoNotifier) Notify(context.Context, models.Notice) {}

// MustNotify panics, naming the capability, when its constructor was given
// no Notifier: a capability is wired with one explicitly (the app's inbox,
// or NoNotifier), so a forgotten one fails at start-up, not at the first
// step that tells someone.
func MustNotify(capability string, n Notifier) {
	if n == nil {
		panic(capability + ".New: a Notifier is required (community.NoNotifier{} tells no one)")
	}
}
