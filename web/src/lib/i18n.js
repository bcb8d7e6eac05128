// zh-CN first, English switchable; the choice is not personal data and is
// kept for the next visit.
import { ref } from 'vue'

export const lang = ref(localStorage.getItem('linli.lang') === 'en' ? 'en' : 'zh')

export function setLang(l) {
  lang.value = l
  localStorage.setItem('linli.lang', l)
  document.documentElement.lang = l === 'en' ? 'en' : 'zh-CN'
}

// t picks the caller's language from a {zh, en} pair.
export function t(pair) {
  return lang.value === 'en' ? pair.en : pair.zh
}
