import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Value } from '@sinclair/typebox/value'
import { describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../scripts/render.js'
import { RULES } from '../src/index.js'
import { Trace } from '../src/vectors.js'

const dir = join(REPO_ROOT, 'spec', 'vectors', 'traces')
const files = readdirSync(dir).filter((name) => name.endsWith('.json'))

describe('spec/vectors/traces', () => {
  it('holds at least 15 traces', () => {
    expect(files.length).toBeGreaterThanOrEqual(15)
  })

  for (const file of files) {
    it(`${file} validates against the trace schema and names existing rules`, () => {
      const trace: unknown = JSON.parse(readFileSync(join(dir, file), 'utf8'))
      const errors = [...Value.Errors(Trace, trace)].map((error) => `${error.path}: ${error.message}`)
      expect(errors).toEqual([])
      const { name, rules, clients, steps } = trace as Trace
      expect(`${name}.json`).toBe(file)
      for (const rule of rules) expect(Object.keys(RULES)).toContain(rule)
      for (const step of steps) {
        if ('client' in step) expect(clients).toContain(step.client)
      }
    })
  }

  it('together cover every rule area of PROTOCOL.md that a trace can express', () => {
    const covered = new Set<string>()
    for (const file of files) {
      const trace = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Trace
      for (const rule of trace.rules) covered.add(rule.replace(/-\d+$/, ''))
    }
    const areas = ['FRAME', 'VERSION', 'HELLO', 'AUTH', 'MEMENTO', 'RESUME', 'SEQ', 'ACK', 'REPLAY', 'SEND']
    const more = ['APPM', 'GRACE', 'PRESENCE', 'BEAT', 'TOPIC', 'INTENT', 'LIMIT', 'CLIENT']
    for (const area of [...areas, ...more]) expect(covered, area).toContain(`LL-${area}`)
  })
})
