import { createApp } from 'vue'
import { createRouter, createWebHistory } from 'vue-router'
import { useVant } from '../lib/vant.js'
import { onSignedOut, refresh, signedIn } from '../lib/api.js'
import '../lib/care.js'
import App from './App.vue'
import Login from './views/Login.vue'
import Home from './views/Home.vue'
import Ledger from './views/Ledger.vue'
import Activities from './views/Activities.vue'
import Rewards from './views/Rewards.vue'
import MerchantQR from './views/MerchantQR.vue'
import Me from './views/Me.vue'
import Redemptions from './views/Redemptions.vue'
import Records from './views/Records.vue'
import Honour from './views/Honour.vue'
import Gifts from './views/Gifts.vue'
import Certificate from './views/Certificate.vue'
import MutualAid from './views/MutualAid.vue'
import Filial from './views/Filial.vue'
import Duties from './views/Duties.vue'
import Attendance from './views/Attendance.vue'
import Notifications from './views/Notifications.vue'
import Consent from './views/Consent.vue'
import MyData from './views/MyData.vue'
import { consentRequired, forgetConsent } from './consent.js'

const router = createRouter({
  history: createWebHistory('/'),
  routes: [
    { path: '/login', component: Login, meta: { public: true } },
    { path: '/', component: Home, meta: { tab: true } },
    { path: '/ledger/:asset', component: Ledger, props: true },
    { path: '/activities', component: Activities, meta: { tab: true } },
    { path: '/rewards', component: Rewards, meta: { tab: true } },
    { path: '/rewards/:id/qr', component: MerchantQR, props: true },
    { path: '/me', component: Me, meta: { tab: true } },
    { path: '/me/redemptions', component: Redemptions },
    { path: '/me/records', component: Records },
    { path: '/honour', component: Honour },
    { path: '/me/gifts', component: Gifts },
    { path: '/me/certificate', component: Certificate },
    { path: '/mutual-aid', component: MutualAid },
    { path: '/filial', component: Filial },
    { path: '/me/duties', component: Duties },
    { path: '/me/attendance', component: Attendance },
    { path: '/me/notifications', component: Notifications },
    { path: '/consent', component: Consent, meta: { consent: true } },
    { path: '/me/data', component: MyData, meta: { consent: true } },
    { path: '/:rest(.*)*', redirect: '/' },
  ],
})

let tried = false
router.beforeEach(async (to) => {
  if (to.meta.public) return true
  if (!signedIn() && !tried) {
    tried = true
    await refresh()
  }
  if (!signedIn()) return { path: '/login', query: { next: to.fullPath } }
  // The privacy notice in force comes first (my data stays open).
  if (!to.meta.consent && (await consentRequired())) return { path: '/consent', query: { next: to.fullPath } }
  return true
})

onSignedOut(() => {
  forgetConsent()
  if (router.currentRoute.value.path !== '/login') router.replace('/login')
})

const app = createApp(App)
useVant(app)
app.use(router)
app.mount('#app')
