package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/linli-community/linli/models"
)

// savedFixture is a fixture as fixture.json keeps it beside the data it
// describes, so a later run (-data) can drive the same data without
// generating it again.
type savedFixture struct {
	StaffPhone     string   `json:"staff_phone"`
	ClerkPhone     string   `json:"clerk_phone"`
	PartnerPhone   string   `json:"partner_phone"`
	BuildingID     string   `json:"building_id"`
	HouseholdID    string   `json:"household_id"`
	StatementID    string   `json:"statement_id"`
	RewardID       string   `json:"reward_id"`
	FeeRewardID    string   `json:"fee_reward_id"`
	LastMonth      string   `json:"last_month"`
	ResidentPhones []string `json:"resident_phones"`
	ResidentIDs    []string `json:"resident_ids"`
	Summary        string   `json:"summary"`
	Redemptions    int      `json:"redemptions"`
	Fulfilments    int      `json:"fulfilments"`
}

// saveFixture writes fx to dir/fixture.json.
func saveFixture(dir string, fx fixture) error {
	b, err := json.Marshal(savedFixture{
		StaffPhone:     fx.staffPhone,
		ClerkPhone:     fx.clerkPhone,
		PartnerPhone:   fx.partnerPhone,
		BuildingID:     fx.buildingID,
		HouseholdID:    fx.householdID,
		StatementID:    fx.statementID,
		RewardID:       fx.rewardID,
		FeeRewardID:    fx.feeRewardID,
		LastMonth:      fx.lastMonth.String(),
		ResidentPhones: fx.residentPhones,
		ResidentIDs:    fx.residentIDs,
		Summary:        fx.summary,
		Redemptions:    fx.redemptions,
		Fulfilments:    fx.fulfilments,
	})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "fixture.json"), b, 0o600)
}

// loadFixture reads the fixture saveFixture wrote in dir.
func loadFixture(dir string) (fixture, error) {
	b, err := os.ReadFile(filepath.Join(dir, "fixture.json"))
	if err != nil {
		return fixture{}, fmt.Errorf("-data %s: no fixture.json (was it kept with -keep by this version?): %w", dir, err)
	}
	var sf savedFixture
	if err := json.Unmarshal(b, &sf); err != nil {
		return fixture{}, fmt.Errorf("-data %s: fixture.json: %w", dir, err)
	}
	month, err := models.ParseMonth(sf.LastMonth)
	if err != nil {
		return fixture{}, fmt.Errorf("-data %s: fixture.json: %w", dir, err)
	}
	if sf.Fulfilments == 0 {
		// A folder kept before -fulfilments: one fulfilment per redemption.
		sf.Fulfilments = sf.Redemptions
	}
	return fixture{
		staffPhone:     sf.StaffPhone,
		clerkPhone:     sf.ClerkPhone,
		partnerPhone:   sf.PartnerPhone,
		buildingID:     sf.BuildingID,
		householdID:    sf.HouseholdID,
		statementID:    sf.StatementID,
		rewardID:       sf.RewardID,
		feeRewardID:    sf.FeeRewardID,
		lastMonth:      month,
		residentPhones: sf.ResidentPhones,
		residentIDs:    sf.ResidentIDs,
		summary:        sf.Summary,
		redemptions:    sf.Redemptions,
		fulfilments:    sf.Fulfilments,
	}, nil
}
