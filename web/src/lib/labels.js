// What each code the API sends means to a person, zh-CN and English.
import { t } from './i18n.js'

const entryKinds = {
  award: { zh: '表彰奖励', en: 'Award' },
  deduct: { zh: '扣减', en: 'Deduction' },
  service: { zh: '志愿服务', en: 'Volunteering' },
  hold: { zh: '兑换', en: 'Redeemed' },
  release: { zh: '兑换退回', en: 'Returned' },
  transfer_out: { zh: '转出', en: 'Sent' },
  transfer_in: { zh: '转入', en: 'Received' },
  reversal: { zh: '更正', en: 'Correction' },
  expiry: { zh: '到期', en: 'Expired' },
  allowance: { zh: '楼组长津贴', en: 'Building head allowance' },
  honour: { zh: '诚信红榜', en: 'Honour roll' },
  adjustment: { zh: '调整', en: 'Adjustment' },
}

const redemptionStatuses = {
  opening: { zh: '处理中', en: 'Processing' },
  held: { zh: '待使用', en: 'To use' },
  fulfilled: { zh: '已使用', en: 'Used' },
  cancelled: { zh: '已取消', en: 'Cancelled' },
  expired: { zh: '已过期', en: 'Expired' },
  refunded: { zh: '已退款', en: 'Refunded' },
  failed: { zh: '未成功', en: 'Not done' },
}

const rewardKinds = {
  parking: { zh: '停车费减免', en: 'Parking' },
  property_fee: { zh: '物业费优惠', en: 'Property fee' },
  merchant: { zh: '沿街商铺', en: 'Shops' },
}

const recordStatuses = {
  pending: { zh: '待审核', en: 'Pending' },
  approved: { zh: '已认定', en: 'Approved' },
  rejected: { zh: '未通过', en: 'Rejected' },
}

function pick(table, code) {
  return table[code] ? t(table[code]) : code
}

export const entryKind = (k) => pick(entryKinds, k)
export const redemptionStatus = (s) => pick(redemptionStatuses, s)
export const rewardKind = (k) => pick(rewardKinds, k)
export const recordStatus = (s) => pick(recordStatuses, s)

const aidStates = {
  open: { zh: '等待响应', en: 'Open' },
  accepted: { zh: '已有人接下', en: 'Accepted' },
  done: { zh: '已帮忙，待确认', en: 'Done, to confirm' },
  disputed: { zh: '有异议，社工处理中', en: 'Disputed, staff will decide' },
  confirmed: { zh: '已完成，时长已转', en: 'Confirmed, hours moved' },
  cancelled: { zh: '已取消', en: 'Cancelled' },
}

const aidKinds = {
  request: { zh: '求助', en: 'Request' },
  offer: { zh: '帮忙', en: 'Offer' },
}

const dutyStatuses = {
  pending: { zh: '待社工确认', en: 'Awaiting staff' },
  confirmed: { zh: '已确认', en: 'Confirmed' },
  rejected: { zh: '未通过', en: 'Not accepted' },
}

const headRoles = {
  building_head: { zh: '楼组长', en: 'Building head' },
  team_lead: { zh: '志愿者队长', en: 'Team lead' },
  party_lead: { zh: '党小组长', en: 'Party group lead' },
}

export const aidState = (s) => pick(aidStates, s)
export const aidKind = (k) => pick(aidKinds, k)
export const dutyStatus = (s) => pick(dutyStatuses, s)
export const headRole = (r) => pick(headRoles, r)

const relations = {
  子女: { zh: '子女', en: 'child' },
  父母: { zh: '父母', en: 'parent' },
  配偶: { zh: '配偶', en: 'spouse' },
  兄弟姐妹: { zh: '兄弟姐妹', en: 'sibling' },
  孙子女: { zh: '孙子女', en: 'grandchild' },
  祖父母: { zh: '祖父母', en: 'grandparent' },
  其他: { zh: '家人', en: 'relative' },
}

export const relation = (r) => pick(relations, r)
