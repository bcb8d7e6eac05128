package main

import (
	"github.com/linli-community/linli/community"
	"github.com/linli-community/linli/directory"
	"github.com/linli-community/linli/honour"
	"github.com/linli-community/linli/jobs"
	"github.com/linli-community/linli/ledger"
	"github.com/linli-community/linli/mutualaid"
	"github.com/linli-community/linli/policy"
	"github.com/linli-community/linli/rewards"
	"github.com/linli-community/linli/sessions"
	"github.com/linli-community/linli/settlement"
	"github.com/linli-community/linli/store"
	"github.com/linli-community/linli/timebank"
)

// The MongoDB store is what every store interface is wired to. These
// checks say so at compile time, here in app, because only app may import
// both the packages that declare the interfaces and the store.
var (
	_ directory.Store      = (*store.Store)(nil)
	_ honour.Store         = (*store.Store)(nil)
	_ rewards.Store        = (*store.Store)(nil)
	_ policy.Store         = (*store.Store)(nil)
	_ sessions.Store       = (*store.Store)(nil)
	_ settlement.Store     = (*store.Store)(nil)
	_ timebank.Store       = (*store.Store)(nil)
	_ mutualaid.Store      = (*store.Store)(nil)
	_ community.People     = (*store.Store)(nil)
	_ community.AuditTrail = (*store.Store)(nil)
	_ ledger.Store         = (*store.Store)(nil)
	_ jobs.Store           = (*store.Store)(nil)
)
