package models

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// Issue 12.5: Policy.Validate checks its rules from one table, so a rule
// added to Policy without a range fails here: every integer field but
// Version has exactly one row, every row names a field of Policy, and a
// value past a row's range is refused under the rule's API name.
func TestIssue12_5_PolicyRangesCoverEveryRule(t *testing.T) {
	rows := map[string]int{}
	for _, r := range policyRanges {
		rows[r.field]++
	}
	policyType := reflect.TypeOf(Policy{})
	for i := range policyType.NumField() {
		field := policyType.Field(i)
		switch field.Type.Kind() {
		case reflect.Int, reflect.Int64:
		default:
			continue
		}
		if field.Name == "Version" {
			continue
		}
		if rows[field.Name] != 1 {
			t.Errorf("Policy.%s has %d rows in policyRanges, want 1", field.Name, rows[field.Name])
		}
	}
	for _, r := range policyRanges {
		if _, ok := policyType.FieldByName(r.field); !ok {
			t.Errorf("policyRanges names %q, which is no field of Policy", r.field)
		}
		if r.minOf != "" {
			if _, ok := policyType.FieldByName(r.minOf); !ok {
				t.Errorf("policyRanges bounds %s by %q, which is no field of Policy", r.field, r.minOf)
			}
		}
		p := DefaultPolicy("A")
		reflect.ValueOf(&p).Elem().FieldByName(r.field).SetInt(r.max + 1)
		err := p.Validate()
		if !errors.Is(err, ErrValidation) || !strings.Contains(err.Error(), snakeCase(r.field)+" must be") {
			t.Errorf("%s past its range: %v, want a VALIDATION naming %s", r.field, err, snakeCase(r.field))
		}
	}
	if err := DefaultPolicy("A").Validate(); err != nil {
		t.Fatalf("the default policy: %v", err)
	}
}

// Issue 12.5: the snake-case names Validate refuses under are the API's.
func TestIssue12_5_PolicyRuleNamesAreTheAPIs(t *testing.T) {
	for field, want := range map[string]string{
		"MaxAward":             "max_award",
		"MaxMinutesPerDay":     "max_minutes_per_day",
		"GiftYearlyCapMinutes": "gift_yearly_cap_minutes",
		"FilialVisitorBays":    "filial_visitor_bays",
	} {
		if got := snakeCase(field); got != want {
			t.Errorf("snakeCase(%s) = %s, want %s", field, got, want)
		}
	}
}
