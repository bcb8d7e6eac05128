package models

import "slices"

// Role is what a login may do (角色).
type Role string

const (
	RoleResident      Role = "resident"
	RoleBuildingHead  Role = "building_head"
	RoleTeamLead      Role = "team_lead"
	RoleStaff         Role = "staff"
	RoleAdmin         Role = "admin"
	RoleMerchantClerk Role = "merchant_clerk"
	RolePartner       Role = "partner"
)

// AllRoles lists every role, in the order they are documented.
var AllRoles = []Role{RoleResident, RoleBuildingHead, RoleTeamLead, RoleStaff, RoleAdmin, RoleMerchantClerk, RolePartner}

var roleZh = map[Role]string{
	RoleResident:      "居民",
	RoleBuildingHead:  "楼组长",
	RoleTeamLead:      "团队负责人",
	RoleStaff:         "社工",
	RoleAdmin:         "管理员",
	RoleMerchantClerk: "商户店员",
	RolePartner:       "合作方",
}

// Zh returns the role in Chinese (居民, 楼组长, 社工 …).
func (r Role) Zh() string {
	if n, ok := roleZh[r]; ok {
		return n
	}
	return string(r)
}

// ParseRole returns the role named s.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if !slices.Contains(AllRoles, r) {
		return "", ErrValidation.Withf("未知角色 %q", "unknown role %q", s)
	}
	return r, nil
}

// Principal is who is calling: taken from a verified access token, never
// from a request body.
type Principal struct {
	ResidentID  string
	CommunityID string
	SessionID   string
	Roles       []Role
	// MerchantID is set for a merchant clerk, PartnerID for a partner login.
	MerchantID string
	PartnerID  string
}

// Has reports whether p holds any of roles.
func (p Principal) Has(roles ...Role) bool {
	for _, r := range roles {
		if slices.Contains(p.Roles, r) {
			return true
		}
	}
	return false
}

// IsStaff reports whether p manages its community (staff or admin).
func (p Principal) IsStaff() bool { return p.Has(RoleStaff, RoleAdmin) }

// CanSeeResident reports whether p may read the resident's own data
// (balances, history): the resident, or staff of the same community.
func (p Principal) CanSeeResident(residentID, communityID string) bool {
	if p.CommunityID != communityID {
		return false
	}
	return p.ResidentID == residentID || p.IsStaff()
}
