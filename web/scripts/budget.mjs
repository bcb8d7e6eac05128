// Prints each page's first-screen JS+CSS, gzipped, and fails past the
// budget (250 KB): the pages open on old phones over mobile data.
import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist')
const budget = 250 * 1024
let failed = false
for (const page of ['index.html', 'merchant/index.html']) {
  const html = readFileSync(join(dist, page), 'utf8')
  const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1])
  let total = 0
  for (const a of assets) total += gzipSync(readFileSync(join(dist, a))).length
  const kb = (total / 1024).toFixed(1)
  console.log(`${page}: ${assets.length} files, ${kb} KB gzipped (budget ${budget / 1024} KB)`)
  if (total > budget) failed = true
}
if (failed) {
  console.error('over the budget')
  process.exit(1)
}
