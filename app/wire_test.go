package main

import (
	"strings"
	"testing"

	"github.com/linli-community/linli/accounts"
	"github.com/linli-community/linli/directory"
	"github.com/linli-community/linli/honour"
	"github.com/linli-community/linli/rewards"
	"github.com/linli-community/linli/settlement"
	"github.com/linli-community/linli/timebank"
)

// Issue 12 review, item 4: every capability that tells people what
// happened requires its Notifier: built without one it panics at once,
// naming itself, instead of telling no one unnoticed.
func TestIssue12_NotifierIsRequired(t *testing.T) {
	constructors := map[string]func(){
		"accounts":   func() { accounts.New(accounts.Deps{}) },
		"directory":  func() { directory.New(nil, nil, newID, nil, nil) },
		"honour":     func() { honour.New(honour.Deps{}) },
		"rewards":    func() { rewards.New(rewards.Deps{}) },
		"settlement": func() { settlement.New(settlement.Deps{}) },
		"timebank":   func() { timebank.New(timebank.Deps{}) },
	}
	for name, build := range constructors {
		t.Run(name, func(t *testing.T) {
			defer func() {
				got, _ := recover().(string)
				if !strings.HasPrefix(got, name+".New: a Notifier is required") {
					t.Errorf("%s.New without a Notifier: panic %q, want one naming %s", name, got, name)
				}
			}()
			build()
		})
	}
}
