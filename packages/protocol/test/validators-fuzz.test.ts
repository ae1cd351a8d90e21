/**
 * Differential fuzzing (fast-check): on every input, the ahead-of-time validators must give the same
 * verdict as Ajv on the published JSON Schema (LL-FRAME-3), so a client in another language that
 * validates with spec/schema gets what this codec gets. Inputs: every frame of the vectors, mutated
 * (fields removed, added, given values of every JSON type, strings with astral and non-ASCII
 * characters, numbers out of range), and random frames of every type.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  MAX_NESTING_DEPTH,
  ProtocolError,
  validateClientFrame,
  validateServerFrame,
  valueExceedsDepth,
} from '../src/index.js'
import { SCHEMA_BASE } from '../src/schemas/common.js'

const SPEC_DIR = fileURLToPath(new URL('../../../spec/', import.meta.url))
const readJson = (path: string): unknown => JSON.parse(readFileSync(`${SPEC_DIR}${path}`, 'utf8'))

const ajv = new Ajv2020({ strict: true, allErrors: false })
for (const name of readdirSync(`${SPEC_DIR}schema`).filter((file) => file.endsWith('.json'))) {
  ajv.addSchema(readJson(`schema/${name}`) as object)
}
const schemaOf = (name: string): ValidateFunction => {
  const validate = ajv.getSchema(`${SCHEMA_BASE}${name}.json`)
  if (validate === undefined) throw new Error(`no schema ${name}`)
  return validate
}

type Direction = 'client' | 'server'
const union: Record<Direction, ValidateFunction> = {
  client: schemaOf('ClientFrame'),
  server: schemaOf('ServerFrame'),
}
const codec: Record<Direction, (value: unknown) => unknown> = {
  client: validateClientFrame,
  server: validateServerFrame,
}

/** Every frame object in the vectors, valid or not, by direction: the seeds of the mutations. */
function seeds(direction: Direction): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = []
  for (const file of readdirSync(`${SPEC_DIR}vectors/frames`).filter((f) => f.startsWith(direction))) {
    const data = readJson(`vectors/frames/${file}`) as { vectors: { text: string }[] }
    for (const { text } of data.vectors) {
      let value: unknown
      try {
        value = JSON.parse(text)
      } catch {
        continue
      }
      for (const item of Array.isArray(value) ? value : [value]) {
        // Depth (LL-LIMIT-8) is checked before any schema applies and JSON Schema cannot say it.
        if (valueExceedsDepth(item, MAX_NESTING_DEPTH - 8)) continue
        if (typeof item === 'object' && item !== null && !Array.isArray(item))
          out.push(item as Record<string, unknown>)
      }
    }
  }
  return out
}

/** Strings that probe counting and patterns: astral characters, non-ASCII, controls, long ones. */
const oddString = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.constantFrom(
    '',
    ' ',
    'é',
    '😀',
    '😀'.repeat(130),
    'a'.repeat(200),
    'a'.repeat(201),
    '\u0000',
    'x y',
    '~!',
  ),
  fc.integer({ min: 0, max: 300 }).map((n) => 'b'.repeat(n)),
  fc.integer({ min: 0, max: 140 }).map((n) => '😀'.repeat(n)),
)
const oddNumber = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(
    0,
    -1,
    1,
    2 ** 31 - 1,
    2 ** 31,
    2 ** 53 - 1,
    2 ** 53,
    2 ** 53 + 2,
    1e300,
    -0,
    0.5,
    999,
    1000,
    4999,
    5000,
  ),
)
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { depthSize: 'small' },
  oddString,
  oddNumber,
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 3 }),
)

/** One mutation of a frame: a field removed, replaced, or added, at the top or one level down. */
function mutate(frame: Record<string, unknown>): fc.Arbitrary<Record<string, unknown>> {
  const keys = Object.keys(frame)
  const key = keys.length > 0 ? fc.constantFrom(...keys) : fc.constant('type')
  const nested = keys.filter((k) => typeof frame[k] === 'object' && frame[k] !== null && k !== 'data')
  return fc.oneof(
    fc.tuple(key, anyValue).map(([k, v]) => ({ ...frame, [k]: v })),
    key.map((k) => {
      const copy = { ...frame }
      delete copy[k]
      return copy
    }),
    fc
      .tuple(fc.oneof(oddString, fc.constantFrom('extra', '__proto__', 'constructor')), anyValue)
      .map(([k, v]) =>
        Object.assign(
          JSON.parse(JSON.stringify(frame)) as Record<string, unknown>,
          JSON.parse(JSON.stringify({ [k]: v })),
        ),
      ),
    nested.length === 0
      ? fc.constant(frame)
      : fc.tuple(fc.constantFrom(...nested), anyValue, anyValue).map(([k, inner, v]) => {
          const copy = JSON.parse(JSON.stringify(frame)) as Record<string, unknown>
          const target = copy[k]
          if (Array.isArray(target)) target[0] = inner
          else if (typeof target === 'object' && target !== null) {
            const innerKeys = Object.keys(target)
            const name = innerKeys[0] ?? 'x'
            ;(target as Record<string, unknown>)[name] = v
          }
          return copy
        }),
  )
}

function differential(direction: Direction, runs: number): number {
  const frames = seeds(direction)
  const types = [...new Set(frames.map((f) => f.type).filter((t): t is string => typeof t === 'string'))]
  const input = fc.oneof(
    fc.constantFrom(...frames).chain((frame) => mutate(frame)),
    fc.constantFrom(...frames).chain((frame) => mutate(frame).chain((once) => mutate(once))),
    fc
      .tuple(fc.constantFrom(...types), fc.dictionary(oddString, anyValue, { maxKeys: 6 }))
      .map(([type, rest]) => ({ ...rest, type })),
    anyValue,
  )
  let checked = 0
  fc.assert(
    fc.property(input, (value) => {
      // Through JSON, as a receiver sees it (no undefined, no functions, __proto__ as an own member).
      const wire: unknown = JSON.parse(JSON.stringify(value) ?? 'null')
      const schemaOk = union[direction](wire)
      const codecOk = !(codec[direction](wire) instanceof ProtocolError)
      checked++
      expect(codecOk, JSON.stringify(wire)).toBe(schemaOk)
    }),
    { numRuns: runs },
  )
  return checked
}

describe('LL-FRAME-3: the ahead-of-time validators agree with Ajv on the published schema, on every fuzz input', () => {
  it('LL-FRAME-3: client frames (fast-check, 15,000 inputs)', () => {
    expect(differential('client', 15_000)).toBe(15_000)
  })

  it('LL-FRAME-3: server frames (fast-check, 15,000 inputs)', () => {
    expect(differential('server', 15_000)).toBe(15_000)
  })
})
