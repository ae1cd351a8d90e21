/** The tests run the built CLI and driver: build them when dist is missing or older than src. */
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

function newest(dir: string): number {
  let latest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs)
  }
  return latest
}

export default function setup(): void {
  const outputs = ['dist/cli.js', 'dist/drivers/typescript.js'].map((file) => join(root, file))
  const built = outputs.every((file) => existsSync(file))
  const sources = Math.max(newest(join(root, 'src')), statSync(join(root, 'tsup.config.ts')).mtimeMs)
  if (built && outputs.every((file) => statSync(file).mtimeMs >= sources)) return
  const result = spawnSync('pnpm', ['exec', 'tsup'], { cwd: root, encoding: 'utf8' })
  if (result.status !== 0)
    throw new Error(`building @lifeline/conformance failed:\n${result.stdout}\n${result.stderr}`)
}
