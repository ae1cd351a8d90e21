/**
 * SECURITY.md names the test that proves each defence: every file it names exists, and every test
 * name it quotes after a file is in that file, so the document cannot point at tests that are gone.
 */
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const text = readFileSync(`${ROOT}SECURITY.md`, 'utf8').replace(/\s*\n\s*/g, ' ')

/** `file` › "name"; › "name": each quoted name belongs to the last file named before it. */
function references(): Array<{ file: string; name: string | undefined }> {
  const out: Array<{ file: string; name: string | undefined }> = []
  let file: string | undefined
  for (const match of text.matchAll(/`((?:packages|apps)\/[^`]+\.ts)`|›\s*"([^"]+)"/g)) {
    if (match[1] !== undefined) {
      file = match[1]
      out.push({ file, name: undefined })
    } else if (file !== undefined && match[2] !== undefined) out.push({ file, name: match[2] })
  }
  return out
}

describe('SECURITY.md', () => {
  const refs = references()

  it('names test files that exist, and test names found in them', () => {
    expect(refs.filter((ref) => ref.name !== undefined).length).toBeGreaterThan(30)
    const missing = refs.filter(({ file, name }) => {
      if (!existsSync(`${ROOT}${file}`)) return true
      if (name === undefined) return false
      return !readFileSync(`${ROOT}${file}`, 'utf8')
        .replace(/\s*\n\s*/g, ' ')
        .includes(name)
    })
    expect(missing).toEqual([])
  })

  it('has a way to report a vulnerability and a table of limits', () => {
    expect(text).toContain('## Reporting a vulnerability')
    expect(text).toContain('## Limits and their defaults')
  })
})
