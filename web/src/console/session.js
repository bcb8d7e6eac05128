// Who is signed in to the console, as GET /me says.
import { ref } from 'vue'
import { get } from '../lib/api.js'

export const me = ref(null)

export async function loadMe() {
  me.value = await get('/me')
  return me.value
}
