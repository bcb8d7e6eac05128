// The one way the screens talk to Linli: the public /api/v1 JSON API, as a
// native app would. The access token lives in memory only; the refresh
// token is an HttpOnly cookie the page never sees, so nothing personal is
// kept in localStorage.
import { lang, t } from './i18n.js'

let access = ''
let refreshing = null
const listeners = new Set()

// ApiError carries the API's stable code and its message in the caller's
// language (error.message, with error.detail saying why).
export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {}
    super(e.detail ? `${e.message} ${e.detail}` : e.message || fallback(status))
    this.status = status
    this.code = e.code || 'HTTP_' + status
    this.requestId = e.request_id || ''
  }
}

// fallback says in words what went wrong when no API answer came (the
// network is down, or something between the phone and Linli failed).
function fallback(status) {
  if (status === 0) return t({ zh: '网络连接失败，请检查网络后重试。', en: 'No connection. Check the network and try again.' })
  return t({ zh: `服务暂时不可用（${status}），请稍后重试。`, en: `The service is unavailable (${status}). Try again later.` })
}

// reach is fetch that turns a failed connection into an ApiError said in
// words (status 0, code NETWORK) instead of the browser's English.
async function reach(url, init) {
  try {
    return await fetch(url, init)
  } catch {
    const err = new ApiError(0, null)
    err.code = 'NETWORK'
    throw err
  }
}

export function onSignedOut(fn) {
  listeners.add(fn)
}

export function signedIn() {
  return access !== ''
}

function newKey() {
  return 'web-' + crypto.randomUUID()
}

async function send(method, path, { body, key, auth = true } = {}) {
  const headers = { 'Accept-Language': lang.value === 'en' ? 'en' : 'zh-CN' }
  if (auth && access) headers.Authorization = 'Bearer ' + access
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  if (key) headers['Idempotency-Key'] = key
  const res = await reach('/api/v1' + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  })
  const text = await res.text()
  let data = null
  if (text) {
    try {
      data = JSON.parse(text)
    } catch {
      data = null
    }
  }
  return { res, data }
}

// request calls the API; an expired access token is renewed once through
// the refresh cookie. A value-moving call passes key (one per user action,
// so a retry of the same tap moves nothing twice).
export async function request(method, path, opts = {}) {
  let { res, data } = await send(method, path, opts)
  if (res.status === 401 && opts.auth !== false && (await refresh())) {
    ;({ res, data } = await send(method, path, opts))
  }
  if (res.status === 401 && opts.auth !== false) {
    access = ''
    listeners.forEach((fn) => fn())
  }
  if (!res.ok) throw new ApiError(res.status, data)
  return data
}

export const get = (path) => request('GET', path)

// image fetches an authorised image (a QR code) with its headers; the page
// shows it through an object URL.
export async function image(path) {
  const go = () =>
    reach('/api/v1' + path, {
      headers: { Authorization: 'Bearer ' + access, 'Accept-Language': lang.value === 'en' ? 'en' : 'zh-CN' },
      credentials: 'same-origin',
    })
  let res = await go()
  if (res.status === 401 && (await refresh())) res = await go()
  if (!res.ok) {
    let data = null
    try {
      data = await res.json()
    } catch {
      data = null
    }
    throw new ApiError(res.status, data)
  }
  return { blob: await res.blob(), headers: res.headers }
}
export const post = (path, body, key = newKey()) => request('POST', path, { body, key })

export async function login(phone, password) {
  const data = await request('POST', '/auth/login', { body: { phone, password, client: 'web' }, auth: false })
  access = data.access_token
  return data
}

// refresh trades the refresh cookie for a new access token; false when
// there is no valid session.
export function refresh() {
  if (!refreshing) {
    refreshing = send('POST', '/auth/refresh', { body: { client: 'web' }, auth: false })
      .then(({ res, data }) => {
        access = res.ok && data ? data.access_token : ''
        return access !== ''
      })
      .catch(() => false)
      .finally(() => {
        refreshing = null
      })
  }
  return refreshing
}

export async function logout() {
  try {
    await request('POST', '/auth/logout')
  } finally {
    access = ''
    listeners.forEach((fn) => fn())
  }
}

// forgetAccessToken drops the access token, as its expiry would (tests).
export function forgetAccessToken() {
  access = 'expired'
}

// postCSV sends a CSV file (an import or its preview) as text/csv.
export async function postCSV(path, text, key) {
  const go = () =>
    reach('/api/v1' + path, {
      method: 'POST',
      headers: {
        Authorization: 'Bearer ' + access,
        'Content-Type': 'text/csv; charset=utf-8',
        'Accept-Language': lang.value === 'en' ? 'en' : 'zh-CN',
        ...(key ? { 'Idempotency-Key': key } : {}),
      },
      body: text,
      credentials: 'same-origin',
    })
  let res = await go()
  if (res.status === 401 && (await refresh())) res = await go()
  let data = null
  try {
    data = await res.json()
  } catch {
    data = null
  }
  if (!res.ok) {
    const err = new ApiError(res.status, data)
    err.rows = (data && data.rows) || []
    throw err
  }
  return data
}

// download saves an authorised file (a statement's CSV or XLSX) under name.
export async function download(path, name) {
  const { blob } = await image(path)
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = name
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10000)
}

export { newKey }
