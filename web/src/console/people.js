// Names of the residents and households a console page shows, looked up by
// id (GET /residents?ids=…, /households?ids=…, at most 100 a request), and
// the community's buildings, read whole once (tens of them). A page never
// loads the whole directory: it lists its own records, then asks
// `await names.ensure({ residents: [...], households: [...] })` for the
// ids on them; its template reads names.name(id) and names.where(id),
// blank until the lookup answers, then filled (the cache is reactive).
import { reactive } from 'vue'
import { get, onSignedOut } from '../lib/api.js'

// lookupBatch is the most ids one lookup may ask for (the API's limit).
const lookupBatch = 100

// known holds the records looked up or listed so far, by id; an id the
// lookup left out (unknown, or another community's) is kept as null so it
// is not asked again.
const known = reactive({ residents: {}, households: {}, buildings: {} })

// inFlight holds, by id, the lookup already asking for it, so a second
// caller waits for that one instead of asking again.
const inFlight = { residents: new Map(), households: new Map() }

let buildingList = null

// On sign-out the cache is emptied, so the next person at the desk (maybe
// of another community) finds nothing of the last one's residents here.
onSignedOut(() => {
  for (const kind of ['residents', 'households', 'buildings']) known[kind] = {}
  buildingList = null
})

// buildings reads the community's buildings once (GET /buildings, paged
// by next_after until the end; a community has tens) and keeps them.
export async function buildings(fresh = false) {
  if (buildingList && !fresh) return buildingList
  buildingList = (async () => {
    const out = []
    let after = ''
    for (;;) {
      const page = await get('/buildings?limit=200' + (after ? '&after=' + encodeURIComponent(after) : ''))
      out.push(...(page.items || []))
      if (!page.next_after) break
      after = page.next_after
    }
    for (const b of out) known.buildings[b.id] = b
    return out
  })()
  try {
    return await buildingList
  } catch (e) {
    buildingList = null
    throw e
  }
}

// lookUp asks for the ids of kind ('residents' or 'households') the cache
// does not hold and no lookup is asking for yet, at most lookupBatch a
// request, and waits for those and for the ones already asked.
async function lookUp(kind, ids) {
  const wanted = [...new Set((ids || []).filter(Boolean))]
  const waits = new Set()
  const missing = []
  for (const id of wanted) {
    if (id in known[kind]) continue
    if (inFlight[kind].has(id)) waits.add(inFlight[kind].get(id))
    else missing.push(id)
  }
  for (let i = 0; i < missing.length; i += lookupBatch) {
    const batch = missing.slice(i, i + lookupBatch)
    const request = get(`/${kind}?ids=${batch.map(encodeURIComponent).join(',')}`)
      .then((page) => {
        for (const record of page.items || []) known[kind][record.id] = record
        for (const id of batch) if (!(id in known[kind])) known[kind][id] = null
      })
      .finally(() => {
        for (const id of batch) inFlight[kind].delete(id)
      })
    for (const id of batch) inFlight[kind].set(id, request)
    waits.add(request)
  }
  await Promise.all(waits)
}

// remember keeps records a page read anyway (a search's or a listing's
// residents or households), so naming them asks for nothing.
function remember({ residents = [], households = [] } = {}) {
  for (const r of residents) known.residents[r.id] = r
  for (const h of households) known.households[h.id] = h
}

// ensure looks up the residents and households named by ids, then the
// households of those residents (for where a resident lives), and the
// buildings, each asked once however many pages ask.
async function ensure({ residents = [], households = [] } = {}) {
  await Promise.all([buildings(), lookUp('residents', residents), lookUp('households', households)])
  const homes = residents.map((id) => known.residents[id] && known.residents[id].household_id)
  await lookUp('households', homes)
}

// name is the resident's name: blank until looked up, the id itself when
// the lookup did not find them.
function name(residentID) {
  if (!residentID) return ''
  const r = known.residents[residentID]
  if (r === undefined) return ''
  return r ? r.name : residentID
}

// where says a household as 1号楼 301 (blank until looked up).
function where(householdID) {
  const h = householdID && known.households[householdID]
  if (!h) return ''
  return `${buildingName(h.building_id)} ${h.room}`.trim()
}

// home says where the resident lives, as where does.
function home(residentID) {
  const r = residentID && known.residents[residentID]
  return r && r.household_id ? where(r.household_id) : ''
}

// buildingName is the building's name (blank until the buildings are read).
function buildingName(buildingID) {
  const b = buildingID && known.buildings[buildingID]
  return b ? b.name : ''
}

// resident is the resident's record as looked up (undefined until then).
function resident(residentID) {
  return known.residents[residentID] || undefined
}

// names is the page's view of the cache: ensure, remember, and what a
// template reads.
export const names = { ensure, remember, name, where, home, buildingName, resident }
