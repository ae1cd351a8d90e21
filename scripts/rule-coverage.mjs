#!/usr/bin/env node
// Which rules of spec/PROTOCOL.md are checked by what: test vectors (frames and traces name their
// rules) and tests (named by rule id). `--tests-only` ignores vectors; `--areas A,B` limits the report;
// `--fail-on-must` exits 1 when a MUST rule has nothing.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const args = process.argv.slice(2)
const option = (name) => {
  const index = args.indexOf(name)
  return index < 0 ? undefined : args[index + 1]
}
const areas = option('--areas')?.split(',')
const testsOnly = args.includes('--tests-only')

const markdown = readFileSync(join(root, 'spec', 'PROTOCOL.md'), 'utf8')
const rules = [...markdown.matchAll(/^- \*\*(LL-([A-Z]+)-\d+)\*\* (.+(?:\n {2}.+)*)/gm)].map(
  ([, id, area, body]) => ({
    id,
    area,
    level: /\bMUST\b/.test(body) ? 'MUST' : /\bSHOULD\b/.test(body) ? 'SHOULD' : 'MAY',
  }),
)
const covered = new Map(rules.map((rule) => [rule.id, new Set()]))
const cite = (id, where) => covered.get(id)?.add(where)

function walk(dir, visit) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue
    const path = join(dir, name)
    if (statSync(path).isDirectory()) walk(path, visit)
    else visit(path)
  }
}

if (!testsOnly) {
  walk(join(root, 'spec', 'vectors'), (path) => {
    if (!path.endsWith('.json') || path.includes('/schema/')) return
    const data = JSON.parse(readFileSync(path, 'utf8'))
    const where = relative(root, path)
    for (const id of data.rules ?? []) cite(id, where)
    for (const vector of data.vectors ?? []) for (const id of vector.rules ?? []) cite(id, where)
  })
}
for (const top of ['packages', 'apps']) {
  walk(join(root, top), (path) => {
    if (!/\.test\.ts$/.test(path)) return
    const where = relative(root, path)
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (!/\b(it|test|describe)\(/.test(line)) continue
      for (const [id] of line.matchAll(/LL-[A-Z]+-\d+/g)) cite(id, where)
    }
  })
}

let missingMust = 0
const rows = []
for (const rule of rules) {
  if (areas !== undefined && !areas.includes(rule.area)) continue
  const where = [...(covered.get(rule.id) ?? [])]
  if (where.length === 0 && rule.level === 'MUST') missingMust++
  rows.push(`| ${rule.id} | ${rule.level} | ${where.length === 0 ? '**none**' : where.sort().join('<br>')} |`)
}
console.log(['| rule | level | covered by |', '|---|---|---|', ...rows].join('\n'))
console.error(`\n${rows.length} rules, ${missingMust} MUST rules with no vector or test`)
if (args.includes('--fail-on-must') && missingMust > 0) process.exit(1)
