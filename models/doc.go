// Package models is Linli's vocabulary: the types and pure rules of a
// community volunteer time bank (时间银行) and incentive points (积分) scheme.
// It imports nothing but the standard library.
//
// Glossary (the names used throughout the code):
//
//	Community      居民区/社区   the tenant; every record belongs to exactly one
//	Building       楼栋/楼组     has one building head at a time
//	Household      户           a flat; billed for property fee and parking
//	Resident       居民         a person with a login; belongs to one household
//	Role           角色         resident, building_head, team_lead, staff, admin,
//	                            merchant_clerk, partner
//	Minutes        时长         time-bank credit (asset HOURS), whole minutes
//	Points         积分         incentive credit (asset POINTS), whole numbers
//	Fen            分           money, integer fen of CNY
//	Month          月           a calendar month in the community's time zone
//	Entry          账目         one immutable change of one account's balance
//	Account        账户         one resident's journal of one asset
//	Login          登录         a resident's phone and password hash; one per phone
//	Import         导入         one CSV import of households or residents, by key
//
// Invalid values cannot be built: Points, Minutes, Fen and Month have
// constructors that check their input.
package models
