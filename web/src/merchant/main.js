import { createApp } from 'vue'
import { useVant } from '../lib/vant.js'
import '../lib/care.js'
import App from './App.vue'

const app = createApp(App)
useVant(app)
app.mount('#app')
