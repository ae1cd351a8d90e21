/**
 * Writes every generated file (see render.ts). `--check` writes nothing and exits 1 when a committed
 * file differs from what would be generated, or when spec/schema holds a file no schema produces.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { REPO_ROOT, render } from './render.js'

const check = process.argv.includes('--check')
const files = render()
const stale: string[] = []

for (const [path, content] of files) {
  const absolute = join(REPO_ROOT, path)
  const current = existsSync(absolute) ? readFileSync(absolute, 'utf8') : undefined
  if (current === content) continue
  if (check) stale.push(path)
  else {
    mkdirSync(dirname(absolute), { recursive: true })
    writeFileSync(absolute, content)
    console.log(`wrote ${path}`)
  }
}
for (const name of readdirSync(join(REPO_ROOT, 'spec', 'schema'))) {
  if (!files.has(`spec/schema/${name}`)) stale.push(`spec/schema/${name} (no schema generates it)`)
}
if (stale.length > 0) {
  console.error(`out of date:\n  ${stale.join('\n  ')}\nrun: pnpm spec:generate`)
  process.exit(1)
}
