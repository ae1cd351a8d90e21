import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  CloseCode,
  decodeClientFrames,
  decodeServerFrame,
  exceedsDepth,
  jsonShape,
  MAX_NESTING_DEPTH,
  validateClientFrame,
} from '../src/index.js'

/** The depth of a parsed value, by walking it: the reference the text scanners must agree with. */
function depthOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0
  let deepest = 0
  for (const item of Array.isArray(value) ? value : Object.values(value))
    deepest = Math.max(deepest, depthOf(item))
  return deepest + 1
}

const nested = (levels: number, leaf: unknown = 1): unknown => {
  let value = leaf
  for (let i = 0; i < levels; i++) value = i % 2 === 0 ? [value] : { k: value }
  return value
}

describe('LL-LIMIT-8: nesting depth is known before parsing', () => {
  it('LL-LIMIT-8: the text scanners agree with the parsed depth on any JSON value (fast-check)', () => {
    const tricky = fc.oneof(fc.string(), fc.constantFrom('[', ']', '{', '}', '"', '\\', '\\"', '"[', '\\\\'))
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        tricky,
        fc.integer(),
        fc.constant(null),
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(tricky, tie('node'), { maxKeys: 4 }),
      ),
    })).node
    fc.assert(
      fc.property(value, fc.integer({ min: 0, max: 8 }), fc.integer({ min: 1, max: 12 }), (v, wrap, max) => {
        const text = JSON.stringify(nested(wrap, v))
        const depth = depthOf(JSON.parse(text))
        expect(jsonShape(text).depth).toBe(depth)
        expect(exceedsDepth(text, max)).toBe(depth > max)
      }),
      { numRuns: 3000 },
    )
  })

  it('LL-LIMIT-8: a client frame nested deeper than the limit is refused with 4000 before parsing', () => {
    const frame = (data: unknown) => JSON.stringify({ type: 'send', seq: 1, id: 'a.1', data })
    const atLimit = decodeClientFrames(frame(nested(MAX_NESTING_DEPTH - 1)))
    expect(Array.isArray(atLimit)).toBe(true)
    const deep = decodeClientFrames(frame(nested(MAX_NESTING_DEPTH)))
    expect(deep).toMatchObject({ kind: 'too-deep', code: CloseCode.PROTOCOL_ERROR })
    // In a batch the array is one more level.
    const batch = decodeClientFrames(`[${frame(nested(MAX_NESTING_DEPTH - 1))}]`)
    expect(batch).toMatchObject({ kind: 'too-deep' })
    // 100,000 levels: refused by the scan, never built.
    const bomb = `{"type":"send","seq":1,"id":"a","data":${'['.repeat(100_000)}${']'.repeat(100_000)}}`
    expect(decodeClientFrames(bomb, { maxBytes: 1024 * 1024 })).toMatchObject({ kind: 'too-deep' })
    expect(decodeServerFrame(bomb)).toMatchObject({ kind: 'too-deep' })
  })

  it('LL-LIMIT-8: an object transport frame nested too deep is refused too', () => {
    const deep = { type: 'send', seq: 1, id: 'a.1', data: nested(MAX_NESTING_DEPTH) }
    expect(validateClientFrame(deep)).toMatchObject({ kind: 'too-deep', code: CloseCode.PROTOCOL_ERROR })
    const ok = { type: 'send', seq: 1, id: 'a.1', data: nested(MAX_NESTING_DEPTH - 2) }
    expect(validateClientFrame(ok)).toBe(ok)
  })

  it('LL-LIMIT-10: held bytes count structure, not only text', () => {
    const flat = JSON.stringify({ text: 'x'.repeat(1000) })
    const structured = JSON.stringify(Array.from({ length: 300 }, () => ({})))
    expect(jsonShape(flat).heldBytes).toBeLessThan(2 * flat.length + 100)
    // 900 characters of text that V8 holds as ~19 KB of objects.
    expect(structured.length).toBeLessThan(1000)
    expect(jsonShape(structured).heldBytes).toBeGreaterThan(15_000)
  })
})
