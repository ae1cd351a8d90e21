/**
 * The validator compiler either expresses a schema exactly as Ajv (draft 2020-12) judges it, or
 * refuses it at build time: never a validator that silently accepts what the schema refuses.
 */
import Ajv2020 from 'ajv/dist/2020'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CheckCompiler, HELPERS } from '../scripts/compile-checks.js'

type Schema = Record<string, unknown>

function compile(schema: Schema): (value: unknown) => boolean {
  const compiler = new CheckCompiler()
  const expression = compiler.expression(schema, 'v')
  // A test-only evaluation of generated code, exactly as the generator writes it to validators.js.
  return new Function(`${HELPERS}\n${compiler.declarations()}\nreturn (v) => ${expression}`)() as (
    value: unknown,
  ) => boolean
}

describe('compile-checks refuses what it cannot express faithfully', () => {
  const refused: Array<[string, Schema]> = [
    [
      'anyOf with a sibling keyword',
      { type: 'string', maxLength: 3, anyOf: [{ const: 'a' }, { const: 'abcd' }] },
    ],
    [
      'additionalProperties without patternProperties',
      { type: 'object', properties: {}, additionalProperties: false },
    ],
    [
      'additionalProperties as a schema',
      {
        type: 'object',
        patternProperties: { '^a': { type: 'integer' } },
        additionalProperties: { type: 'string' },
      },
    ],
    ['maxProperties without patternProperties', { type: 'object', maxProperties: 2 }],
    ['two patternProperties', { type: 'object', patternProperties: { '^a': {}, '^b': {} } }],
    [
      'properties with patternProperties',
      { type: 'object', properties: { x: {} }, patternProperties: { '^a': {} } },
    ],
    ['a const object', { const: { a: 1 } }],
    ['a required member without a schema', { type: 'object', properties: {}, required: ['x'] }],
    [
      'a member named like Object.prototype.toString',
      { type: 'object', properties: { toString: { type: 'string' } } },
    ],
    ['an unknown keyword', { type: 'integer', exclusiveMinimum: 0 }],
    ['type number', { type: 'number' }],
    ['a list of types', { type: ['string', 'null'] }],
    ['tuple items', { type: 'array', items: [{ type: 'string' }] }],
  ]
  for (const [what, schema] of refused) {
    it(`refuses ${what}`, () => {
      expect(() => new CheckCompiler().expression(schema, 'v')).toThrow(/compile-checks/)
    })
  }
})

describe('compile-checks agrees with Ajv on what it accepts (fast-check)', () => {
  const ajv = new Ajv2020({ strict: false })
  const accepted: Array<[string, Schema]> = [
    ['strings counted in code points', { type: 'string', minLength: 2, maxLength: 4 }],
    ['a pattern with the u flag', { type: 'string', pattern: '^[!-~]{1,3}$' }],
    ['an integer with no bounds', { type: 'integer' }],
    ['an integer with bounds', { type: 'integer', minimum: -3, maximum: 2 ** 53 - 1 }],
    ['an array without items', { type: 'array', maxItems: 2 }],
    ['an array of strings', { type: 'array', items: { type: 'string', maxLength: 1 } }],
    [
      'a map with a key pattern',
      {
        type: 'object',
        patternProperties: { '^[a-z]{1,3}$': { type: 'integer', minimum: 0 } },
        additionalProperties: false,
        maxProperties: 2,
      },
    ],
    [
      'an object with optional, required and free members',
      {
        type: 'object',
        properties: {
          a: { type: 'boolean' },
          b: { const: 'x' },
          c: {},
          d: { anyOf: [{ type: 'string' }, { const: 1 }] },
        },
        required: ['a', 'c'],
      },
    ],
  ]
  const astral = fc.constantFrom('😀', 'é', 'a', '~', ' ', '\ud83d', '\ude00')
  const value = fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 6 }),
    fc.array(astral, { maxLength: 6 }).map((parts) => parts.join('')),
    fc.string({ unit: 'binary', maxLength: 6 }),
    fc.oneof(fc.integer(), fc.double(), fc.constantFrom(2 ** 53, -(2 ** 53), 2 ** 60, 0.5, -0)),
    fc.jsonValue({ maxDepth: 2 }),
    fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd', 'ab', 'abcd', 'A'), fc.jsonValue({ maxDepth: 1 }), {
      maxKeys: 4,
    }),
  )
  for (const [what, schema] of accepted) {
    it(`${what}: 3,000 values`, () => {
      const ours = compile(schema)
      const theirs = ajv.compile(schema)
      fc.assert(
        fc.property(value, (input) => {
          // As received: through JSON (no Infinity, NaN or -0).
          const v: unknown = JSON.parse(JSON.stringify(input) ?? 'null')
          expect(ours(v), JSON.stringify(v)).toBe(theirs(v))
        }),
        { numRuns: 3000 },
      )
    })
  }
})
