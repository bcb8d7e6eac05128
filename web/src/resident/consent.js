// Whether the signed-in resident must accept the privacy notice in force
// before using the app (GET /me says so; the API refuses other calls with
// CONSENT_REQUIRED until then). Asked once per session.
import { get } from '../lib/api.js'

let known = null // null: not asked yet; true/false: consent required

export async function consentRequired() {
  if (known === null) {
    try {
      const me = await get('/me')
      known = !!(me.consent && me.consent.required)
    } catch {
      known = null
      return false // the screens say what went wrong; the API still refuses
    }
  }
  return known
}

export function consentGiven() {
  known = false
}

export function forgetConsent() {
  known = null
}
