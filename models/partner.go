package models

import "time"

// PartnerKind is what a partner (合作方) honours: parking-fee reductions,
// property-fee discounts or services at a street-front shop.
type PartnerKind string

const (
	PartnerProperty PartnerKind = "property" // 物业公司
	PartnerParking  PartnerKind = "parking"  // 停车场运营方
	PartnerMerchant PartnerKind = "merchant" // 沿街商铺
)

var partnerKindZh = map[PartnerKind]string{
	PartnerProperty: "物业公司",
	PartnerParking:  "停车场运营方",
	PartnerMerchant: "商户",
}

// Zh returns the partner kind in Chinese (物业公司, 停车场运营方, 商户).
func (k PartnerKind) Zh() string {
	if n, ok := partnerKindZh[k]; ok {
		return n
	}
	return string(k)
}

// ParsePartnerKind returns the partner kind named s.
func ParsePartnerKind(s string) (PartnerKind, error) {
	switch k := PartnerKind(s); k {
	case PartnerProperty, PartnerParking, PartnerMerchant:
		return k, nil
	}
	return "", ErrValidation.Withf("合作方类型须为物业（property）、停车（parking）或商户（merchant）。", "partner kind must be property, parking or merchant")
}

// Partner is a property company, parking operator or merchant of one
// community that honours rewards and is settled with monthly. Merchant
// clerks (Resident.MerchantID) and partner logins (Resident.PartnerID)
// point at one.
type Partner struct {
	ID          string
	CommunityID string
	Kind        PartnerKind
	Name        string
	Created     time.Time
}
