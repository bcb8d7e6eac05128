package community

import (
	"context"

	"github.com/linli-community/linli/models"
)

// Lister lists communities a page at a time: by id, after the id after (""
// for the first page), at most limit (store.Store.Communities).
type Lister interface {
	Communities(ctx context.Context, after string, limit int) ([]models.Community, error)
}

// eachPage is how many communities Each reads at once.
const eachPage = 100

// Each calls fn for every community lister holds, in id order, reading
// them a page at a time so a walk over every community holds one page in
// memory. It stops at the first error, from the listing or from fn, and
// returns it as it is: the caller wraps it.
func Each(ctx context.Context, lister Lister, fn func(models.Community) error) error {
	for after := ""; ; {
		communities, err := lister.Communities(ctx, after, eachPage)
		if err != nil || len(communities) == 0 {
			return err
		}
		for _, c := range communities {
			if err := fn(c); err != nil {
				return err
			}
		}
		after = communities[len(communities)-1].ID
	}
}
