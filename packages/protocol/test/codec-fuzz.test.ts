/**
 * Property-based fuzzing of the codec (fast-check, shrinking): whatever arrives, decoding returns
 * frames or a ProtocolError with a documented code, never throws, and refuses oversized or deeply
 * nested input before parsing it (LL-FRAME-3..6, LL-LIMIT-1, LL-LIMIT-8).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  CloseCode,
  decodeClientFrames,
  decodeServerFrames,
  encode,
  MAX_BATCH_FRAMES,
  MAX_NESTING_DEPTH,
  ProtocolError,
} from '../src/index.js'

const SPEC_DIR = fileURLToPath(new URL('../../../spec/', import.meta.url))

/** The valid frames of the vectors, by direction. */
function validFrames(direction: 'client' | 'server'): object[] {
  const data = JSON.parse(readFileSync(`${SPEC_DIR}vectors/frames/${direction}-valid.json`, 'utf8')) as {
    vectors: { expect: { ok: boolean; frames?: object[] } }[]
  }
  return data.vectors.flatMap((v) => (v.expect.ok ? (v.expect.frames ?? []) : []))
}

const decoders = { client: decodeClientFrames, server: decodeServerFrames }
const KINDS = ['too-large', 'too-deep', 'malformed', 'invalid', 'unknown-type']

/** Decodes and checks the outcome's shape; returns it. */
function decodeChecked(direction: 'client' | 'server', text: string, maxBytes?: number) {
  const result = decoders[direction](text, maxBytes === undefined ? undefined : { maxBytes })
  if (result instanceof ProtocolError) {
    expect(KINDS).toContain(result.kind)
    expect(result.code).toBe(
      result.kind === 'too-large' ? CloseCode.FRAME_TOO_LARGE : CloseCode.PROTOCOL_ERROR,
    )
  } else {
    expect(Array.isArray(result)).toBe(true)
    expect(result.length).toBeGreaterThan(0)
    for (const frame of result) expect(typeof frame.type).toBe('string')
  }
  return result
}

/** A valid frame's text, mutated: a cut, a character changed, inserted or removed, a value swapped. */
function mutated(frames: object[]): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.constantFrom(...frames),
      fc.nat(),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }),
      fc.nat(4),
    )
    .map(([frame, at, piece, how]) => {
      const text = encode(frame as never)
      const i = at % (text.length + 1)
      switch (how) {
        case 0:
          return text.slice(0, i)
        case 1:
          return text.slice(0, i) + piece + text.slice(i + 1)
        case 2:
          return text.slice(0, i) + piece + text.slice(i)
        case 3:
          return text.slice(0, i) + text.slice(i + 1)
        default:
          return text.replace(/:(\d+|"[^"]*"|true|false)/, `:${JSON.stringify(piece)}`)
      }
    })
}

for (const direction of ['client', 'server'] as const) {
  const frames = validFrames(direction)

  describe(`codec fuzzing, ${direction} frames (fast-check)`, () => {
    it('LL-FRAME-5: any text, binary included, gives frames or a documented ProtocolError, never a throw (5,000 runs)', () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.string({ unit: 'binary', maxLength: 300 }),
            fc.string({ unit: 'grapheme', maxLength: 300 }),
            fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
            fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
          ),
          (text) => void decodeChecked(direction, text),
        ),
        { numRuns: 5000 },
      )
    })

    it('LL-FRAME-3: mutated valid frames never throw (5,000 runs)', () => {
      fc.assert(
        fc.property(mutated(frames), (text) => void decodeChecked(direction, text)),
        { numRuns: 5000 },
      )
    })

    it('LL-FRAME-3: every valid frame, alone or batched, decodes to itself (1,000 runs)', () => {
      fc.assert(
        fc.property(fc.array(fc.constantFrom(...frames), { minLength: 1, maxLength: 20 }), (batch) => {
          const one = decodeChecked(direction, encode(batch[0] as never))
          expect(one).toEqual([batch[0]])
          expect(decodeChecked(direction, encode(batch as never))).toEqual(batch)
        }),
        { numRuns: 1000 },
      )
    })

    it('LL-LIMIT-1: text over maxBytes is refused with 4002, whatever it holds (1,000 runs)', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 400 }), fc.nat(399), (text, max) => {
          const bytes = Buffer.byteLength(text)
          fc.pre(bytes > max)
          expect(decodeChecked(direction, text, max)).toMatchObject({ kind: 'too-large', code: 4002 })
        }),
        { numRuns: 1000 },
      )
    })

    it('LL-LIMIT-8: nesting past the limit is refused with 4000 before parsing, at any depth (500 runs)', () => {
      fc.assert(
        fc.property(fc.integer({ min: MAX_NESTING_DEPTH, max: 20_000 }), fc.boolean(), (levels, objects) => {
          const open = objects ? '{"k":' : '['
          const close = objects ? '}' : ']'
          const data = `${open.repeat(levels)}0${close.repeat(levels)}`
          const frame =
            direction === 'client'
              ? `{"type":"send","seq":1,"id":"a","data":${data}}`
              : `{"type":"msg","seq":1,"data":${data}}`
          expect(decodeChecked(direction, frame)).toMatchObject({ kind: 'too-deep', code: 4000 })
        }),
        { numRuns: 500 },
      )
    })

    it(`LL-WS-2: a batch holds 1 to ${MAX_BATCH_FRAMES} frames (200 runs)`, () => {
      const ping = { type: 'ping', id: 1 }
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 1100 }), (n) => {
          const result = decodeChecked(
            direction,
            n === 0 ? '[]' : encode(Array.from({ length: n }, () => ping) as never),
          )
          if (n >= 1 && n <= MAX_BATCH_FRAMES) expect(result).toHaveLength(n)
          else expect(result).toMatchObject({ kind: 'invalid', code: 4000 })
        }),
        { numRuns: 200 },
      )
    })
  })
}
