// The signed-in person's unread notification count, shared by the header's
// bell and the notifications page.
import { ref } from 'vue'
import { get } from '../lib/api.js'

export const unread = ref(0)
export const atLeast = ref(false)

// loadUnread asks the server for the count; a failed count leaves the last
// one (the bell is a convenience, not a page).
export async function loadUnread() {
  try {
    const c = await get('/me/notifications/unread-count')
    unread.value = c.unread
    atLeast.value = c.at_least
  } catch {
    // Keep the last count.
  }
}
