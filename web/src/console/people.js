// Names of the community's residents, buildings and households for the
// staff's tables (GET /residents, /buildings, /households, page by page
// with the API's next_after cursor).
import { get } from '../lib/api.js'

async function all(path) {
  const out = []
  let after = ''
  for (;;) {
    const sep = path.includes('?') ? '&' : '?'
    const page = await get(`${path}${sep}limit=200${after ? '&after=' + encodeURIComponent(after) : ''}`)
    out.push(...(page.items || []))
    if (!page.next_after) return out
    after = page.next_after
  }
}

let cache = null

// directory loads (once per page view unless fresh) every resident,
// building and household, with lookups by id.
export async function directory(fresh = false) {
  if (cache && !fresh) return cache
  const [residents, buildings, households] = await Promise.all([all('/residents'), all('/buildings'), all('/households')])
  const byId = (xs) => Object.fromEntries(xs.map((x) => [x.id, x]))
  const b = byId(buildings)
  const h = byId(households)
  cache = {
    residents,
    buildings,
    households,
    resident: byId(residents),
    building: b,
    household: h,
    // where says a household as 1号楼 301.
    where(householdID) {
      const hh = h[householdID]
      if (!hh) return ''
      return `${(b[hh.building_id] || {}).name || ''} ${hh.room}`
    },
    name(residentID) {
      const r = cache.resident[residentID]
      return r ? r.name : residentID
    },
  }
  return cache
}

export { all }
