import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { REPO_ROOT, render } from '../scripts/render.js'

describe('generated files match their sources (pnpm spec:generate)', () => {
  const files = render()

  for (const [path, content] of files) {
    it(`${path} is up to date`, () => {
      const absolute = join(REPO_ROOT, path)
      expect(existsSync(absolute), `${path} is missing`).toBe(true)
      expect(readFileSync(absolute, 'utf8')).toBe(content)
    })
  }

  it('spec/schema holds no file that no schema generates', () => {
    const extra = readdirSync(join(REPO_ROOT, 'spec', 'schema')).filter(
      (name) => !files.has(`spec/schema/${name}`),
    )
    expect(extra).toEqual([])
  })
})
