import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseRules, REPO_ROOT } from '../scripts/render.js'
import { RULES } from '../src/index.js'

const markdown = readFileSync(join(REPO_ROOT, 'spec', 'PROTOCOL.md'), 'utf8')

/** Prose blocks (paragraphs and list items) outside code fences and tables. */
function proseBlocks(text: string): string[] {
  const withoutFences = text.replace(/```[\s\S]*?```/g, '')
  const blocks: string[] = []
  let current: string[] = []
  const flush = () => {
    if (current.length > 0) blocks.push(current.join('\n'))
    current = []
  }
  for (const line of withoutFences.split('\n')) {
    if (line.trim() === '' || line.startsWith('#') || line.startsWith('|')) flush()
    else if (line.startsWith('- ')) {
      flush()
      current.push(line)
    } else current.push(line)
  }
  flush()
  return blocks.filter((block) => block.trim() !== '')
}

describe('PROTOCOL.md rules', () => {
  const rules = parseRules(markdown)

  it('every rule says MUST, SHOULD or MAY, so its level is never guessed', () => {
    const unmarked = rules.filter((rule) => !/\b(MUST|SHOULD|MAY)\b/.test(rule.text)).map((rule) => rule.id)
    expect(unmarked).toEqual([])
  })

  it('every rule id is unique and well formed', () => {
    const ids = rules.map((rule) => rule.id)
    expect(new Set(ids).size).toBe(ids.length)
    for (const id of ids) expect(id).toMatch(/^LL-[A-Z]+-[1-9]\d*$/)
  })

  it('rule numbers in each area run 1, 2, 3 without gaps', () => {
    const byArea = new Map<string, number[]>()
    for (const { id } of rules) {
      const [, area, n] = /^LL-([A-Z]+)-(\d+)$/.exec(id) ?? []
      if (area === undefined || n === undefined) continue
      byArea.set(area, [...(byArea.get(area) ?? []), Number(n)])
    }
    for (const [area, numbers] of byArea) {
      expect(numbers, area).toEqual(numbers.map((_, i) => i + 1))
    }
  })

  it('every MUST, SHOULD and MAY sentence belongs to a rule with an id', () => {
    const orphans = proseBlocks(markdown).filter(
      (block) =>
        /\b(MUST|SHOULD|MAY)\b/.test(block) &&
        !/^- \*\*LL-[A-Z]+-\d+\*\*/.test(block) &&
        !block.includes('RFC 2119'),
    )
    expect(orphans).toEqual([])
  })

  it('the exported RULES table is the one in PROTOCOL.md', () => {
    expect(Object.keys(RULES)).toEqual(rules.map((rule) => rule.id))
    expect(rules.filter((rule) => rule.level === 'MUST').length).toBeGreaterThan(50)
  })

  it('every rule id quoted in the text exists', () => {
    const defined = new Set(rules.map((rule) => rule.id))
    const quoted = [...markdown.matchAll(/LL-[A-Z]+-\d+/g)].map(([id]) => id)
    expect(quoted.filter((id) => !defined.has(id))).toEqual([])
  })
})
