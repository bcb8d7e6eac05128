// The community office's console (/console/): a desktop app for 居委会
// staff and the director, and the partners' pages (property company,
// parking operator, shops). Same API client and i18n as the residents'
// app; Element Plus for tables and forms; ECharts loaded only by the pages
// that draw a chart.
import { createApp } from 'vue'
import { createRouter, createWebHistory } from 'vue-router'
import ElementPlus from 'element-plus'
import 'element-plus/dist/index.css'
import { onSignedOut, refresh, signedIn } from '../lib/api.js'
import { loadMe, me } from './session.js'
import App from './App.vue'
import Login from './views/Login.vue'
import './console.css'

const staffOnly = { roles: ['staff', 'admin'] }
const partners = { roles: ['partner', 'merchant_clerk'] }

const router = createRouter({
  history: createWebHistory('/console/'),
  routes: [
    { path: '/login', component: Login, meta: { public: true } },
    { path: '/', redirect: () => (me.value && isStaff() ? '/hours' : '/partner') },
    { path: '/hours', component: () => import('./views/Hours.vue'), meta: staffOnly },
    { path: '/directory', component: () => import('./views/Directory.vue'), meta: staffOnly },
    { path: '/activities', component: () => import('./views/Activities.vue'), meta: staffOnly },
    { path: '/activities/:id/checkin', component: () => import('./views/Checkin.vue'), props: true, meta: { ...staffOnly, bare: true } },
    { path: '/honour', component: () => import('./views/Honour.vue'), meta: staffOnly },
    { path: '/honour/notice', component: () => import('./views/HonourNotice.vue'), meta: { ...staffOnly, bare: true } },
    { path: '/money', component: () => import('./views/Money.vue'), meta: staffOnly },
    { path: '/heads', component: () => import('./views/Heads.vue'), meta: staffOnly },
    { path: '/rewards', component: () => import('./views/Rewards.vue'), meta: staffOnly },
    { path: '/rankings', component: () => import('./views/Rankings.vue'), meta: staffOnly },
    { path: '/partner', component: () => import('./views/Partner.vue'), meta: partners },
    { path: '/notifications', component: () => import('./views/Notifications.vue') },
    { path: '/refused', component: () => import('./views/Refused.vue'), meta: { bare: true } },
    { path: '/:rest(.*)*', redirect: '/' },
  ],
})

export function isStaff() {
  return !!me.value && me.value.roles.some((r) => r === 'staff' || r === 'admin')
}

export function isPartner() {
  return !!me.value && me.value.roles.some((r) => r === 'partner' || r === 'merchant_clerk')
}

let tried = false
router.beforeEach(async (to) => {
  if (to.meta.public) return true
  if (!signedIn() && !tried) {
    tried = true
    await refresh()
  }
  if (!signedIn()) return { path: '/login', query: { next: to.fullPath } }
  if (!me.value) await loadMe()
  // A resident's token opens nothing here (the API refuses it anyway).
  if (!isStaff() && !isPartner()) return to.path === '/refused' ? true : '/refused'
  if (to.path === '/refused') return '/'
  if (to.meta.roles && !me.value.roles.some((r) => to.meta.roles.includes(r))) return isStaff() ? '/hours' : '/partner'
  return true
})

onSignedOut(() => {
  me.value = null
  if (router.currentRoute.value.path !== '/login') router.replace('/login')
})

const app = createApp(App)
app.use(ElementPlus)
app.use(router)
app.mount('#app')
