#!/usr/bin/env node
// Checks every public package as it would be published: publint (package.json and exports) and
// @arethetypeswrong/cli (types resolve under node10, node16 CJS and ESM, and bundlers: node10 sees
// subpaths through typesVersions). The reference server ships a command, not types: publint only.
// Run after a build.
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const bin = (name) => join(root, 'node_modules', '.bin', name)
const packages = [
  ...readdirSync(join(root, 'packages')).map((dir) => join(root, 'packages', dir)),
  join(root, 'apps', 'reference-server'),
].filter((dir) => {
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
  return manifest.private !== true
})

let failed = 0
for (const dir of packages) {
  const name = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name
  const checks = [['publint', [dir, '--strict']]]
  if (!dir.includes('/apps/')) checks.push(['attw', ['--pack', dir, '--format', 'table-flipped']])
  for (const [tool, args] of checks) {
    try {
      execFileSync(bin(tool), args, { stdio: 'pipe', encoding: 'utf8' })
      console.log(`ok    ${name}: ${tool}`)
    } catch (error) {
      failed++
      console.error(`FAIL  ${name}: ${tool}\n${error.stdout ?? ''}${error.stderr ?? ''}`)
    }
  }
}
if (failed > 0) process.exit(1)
console.log(`${packages.length} public packages pass publint and attw`)
