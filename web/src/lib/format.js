// Amounts as people read them: hours as 2小时30分, money as ¥12.50 (stored
// in fen), dates as 2026年12月6日 in the community's zone (Asia/Shanghai).
import { lang } from './i18n.js'

const zone = 'Asia/Shanghai'

export function minutes(n) {
  const sign = n < 0 ? '-' : ''
  n = Math.abs(n)
  const h = Math.floor(n / 60)
  const m = n % 60
  if (lang.value === 'en') return sign + (h ? `${h} h ` : '') + (m || !h ? `${m} min` : '').trim()
  return sign + (h ? `${h}小时` : '') + (m || !h ? `${m}分` : '')
}

export function yuan(fen) {
  return '¥' + (fen / 100).toFixed(2)
}

function parts(iso) {
  const d = new Date(iso)
  const f = new Intl.DateTimeFormat('en-CA', {
    timeZone: zone,
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
  })
  const o = {}
  for (const p of f.formatToParts(d)) o[p.type] = p.value
  return o
}

export function date(iso) {
  if (!iso) return ''
  const p = parts(iso)
  return lang.value === 'en' ? `${p.year}-${p.month.padStart(2, '0')}-${p.day.padStart(2, '0')}` : `${p.year}年${Number(p.month)}月${Number(p.day)}日`
}

// lastDayBefore is the community's calendar day of the last moment before
// iso, written as date() writes it: for a deadline at 00:00 on the 1st (the
// monthly points expiry), the last day of the month, the last day the
// points can still be used.
export function lastDayBefore(iso) {
  if (!iso) return ''
  return date(new Date(new Date(iso).getTime() - 1).toISOString())
}

export function dateTime(iso) {
  if (!iso) return ''
  const p = parts(iso)
  return `${date(iso)} ${p.hour === '24' ? '00' : p.hour}:${p.minute}`
}

export function time(iso) {
  if (!iso) return ''
  const p = parts(iso)
  return `${p.hour === '24' ? '00' : p.hour}:${p.minute}`
}

// today is the community's calendar day, as the API's ?day= takes it.
export function today() {
  const p = parts(new Date().toISOString())
  return `${p.year}-${p.month.padStart(2, '0')}-${p.day.padStart(2, '0')}`
}
