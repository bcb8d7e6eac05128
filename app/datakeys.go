package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/linli-community/linli/jobs"
	"github.com/linli-community/linli/store"
)

// wireDataKeys gives the store the keys that seal residents' personal
// fields: LINLI_DATA_KEYS and LINLI_INDEX_KEY, or, on the embedded store
// with neither set, the keys kept in the data folder. With MONGODB_URI both
// are required.
func (s *system) wireDataKeys() error {
	spec, index := string(s.cfg.DataKeys), string(s.cfg.IndexKey)
	switch {
	case spec == "" && index == "":
		if !s.cfg.embedded() {
			return errors.New("config: LINLI_DATA_KEYS and LINLI_INDEX_KEY are required with MONGODB_URI")
		}
		keys, err := store.LocalDataKeys(s.cfg.DataDir)
		if err != nil {
			return err
		}
		s.store.UseDataKeys(keys)
		return nil
	case spec == "" || index == "":
		return errors.New("config: set both LINLI_DATA_KEYS and LINLI_INDEX_KEY, or neither")
	}
	keys, err := store.ParseDataKeys(spec, index)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	s.store.UseDataKeys(keys)
	return nil
}

// resealPersonalData is one pass of the rotate-keys job.
func (s *system) resealPersonalData(ctx context.Context) (jobs.Counts, error) {
	c, err := s.store.ResealPersonalData(ctx)
	return jobs.Counts{
		"residents": c.Residents,
		"resealed":  c.Resealed,
		"logins":    c.Logins,
		"moved":     c.LoginsMoved,
		"remaining": c.Remaining,
	}, err
}

// eraseDue is one pass of the erasure job.
func (s *system) eraseDue(ctx context.Context) (jobs.Counts, error) {
	c, err := s.communities.EraseDue(ctx)
	return jobs.Counts{
		"moved_away": c.MovedAway,
		"erased":     c.Erased,
		"waiting":    c.Waiting,
	}, err
}
