// The caller's unread notification count, shared by the home screen's bell
// and the notifications page.
import { ref } from 'vue'
import { get } from '../lib/api.js'

export const unread = ref(0)
export const atLeast = ref(false)

export async function loadUnread() {
  try {
    const c = await get('/me/notifications/unread-count')
    unread.value = c.unread
    atLeast.value = c.at_least
  } catch {
    // The badge is a convenience: a failed count leaves the last one.
  }
}
