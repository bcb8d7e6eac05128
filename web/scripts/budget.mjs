// Prints each page's first-screen JS+CSS, gzipped, and fails past its
// budget: 250 KB for the residents' app and the clerk's page (old phones
// over mobile data), 600 KB for the console (a desktop in the office; its
// pages and ECharts load when opened, not on the first screen).
import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist')
const budgets = { 'index.html': 250, 'merchant/index.html': 250, 'console/index.html': 600 }
let failed = false
for (const [page, kbBudget] of Object.entries(budgets)) {
  const html = readFileSync(join(dist, page), 'utf8')
  const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1])
  let total = 0
  for (const a of assets) total += gzipSync(readFileSync(join(dist, a))).length
  const kb = (total / 1024).toFixed(1)
  console.log(`${page}: ${assets.length} files, ${kb} KB gzipped (budget ${kbBudget} KB)`)
  if (total > kbBudget * 1024) failed = true
}
if (failed) {
  console.error('over the budget')
  process.exit(1)
}
