// useLoad is how every resident page reads what it shows: one loading flag,
// one problem said in the caller's language (the API's own message, or
// "network down" in words), and one retry. A page passes the function that
// fetches and stores its data; a later load wins over an earlier one still
// in flight, so a slow first answer never overwrites a retry's.
import { onMounted, ref } from 'vue'

export function useLoad(fetch, { immediate = true } = {}) {
  const loading = ref(false)
  const problem = ref('')
  const code = ref('')
  const loaded = ref(false)
  let latest = 0

  async function load() {
    const mine = ++latest
    loading.value = true
    problem.value = ''
    code.value = ''
    try {
      await fetch()
      if (mine === latest) loaded.value = true
    } catch (e) {
      if (mine === latest) {
        problem.value = e.message
        code.value = e.code || ''
      }
    } finally {
      if (mine === latest) loading.value = false
    }
  }
  if (immediate) onMounted(load)
  return { loading, problem, code, loaded, load, retry: load }
}

// useList pages through a list the API serves by cursor, for van-list's
// infinite scroll: fetchPage(cursor) returns { items, next } (next empty at
// the end). reload starts again from the top (pull to refresh); a failed
// page is said in words and tapped to try again.
export function useList(fetchPage) {
  const items = ref([])
  const finished = ref(false)
  const failed = ref(false)
  let cursor = ''
  let generation = 0

  const { loading, problem, code, loaded, load } = useLoad(
    async () => {
      const mine = generation
      const page = await fetchPage(cursor)
      if (mine !== generation) return
      items.value = items.value.concat(page.items)
      cursor = page.next || ''
      finished.value = !cursor
    },
    { immediate: false },
  )

  async function more() {
    failed.value = false
    await load()
    failed.value = problem.value !== ''
  }

  async function reload() {
    generation++
    cursor = ''
    items.value = []
    finished.value = false
    await more()
  }
  return { items, finished, failed, loading, problem, code, loaded, more, reload }
}
