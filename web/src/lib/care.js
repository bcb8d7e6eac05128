// The large-text mode (长辈版 / 关怀模式) of the age-friendly norms: bigger
// type, bigger touch targets, higher contrast. Reachable from the first
// screen and from 我的; remembered on this phone.
import { ref, watchEffect } from 'vue'

export const care = ref(localStorage.getItem('linli.care') === '1')

export function setCare(on) {
  care.value = on
  localStorage.setItem('linli.care', on ? '1' : '0')
}

watchEffect(() => {
  document.documentElement.classList.toggle('care', care.value)
})
