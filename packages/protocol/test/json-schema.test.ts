/**
 * The published JSON Schema files (spec/schema/*.json, draft 2020-12) must give the same verdict as
 * the codec on every frame vector, so that implementations in other languages can validate with them
 * (LL-FRAME-3). Vectors that are too large, batches, and texts that are not JSON are about the
 * transport and the parser, not the schema, and are left out.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Value } from '@sinclair/typebox/value'
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020'
import { describe, expect, it } from 'vitest'
import { decodeClientFrame, decodeServerFrame, ProtocolError } from '../src/index.js'
import { SCHEMA_BASE } from '../src/schemas/common.js'
import { FrameVectorFile } from '../src/vectors.js'

const SPEC_DIR = fileURLToPath(new URL('../../../spec/', import.meta.url))
const readJson = (path: string): unknown => JSON.parse(readFileSync(`${SPEC_DIR}${path}`, 'utf8'))

const schemaFiles = readdirSync(`${SPEC_DIR}schema`)
  .filter((name) => name.endsWith('.json'))
  .sort()

const ajv = new Ajv2020({ strict: true, allErrors: true })
for (const name of schemaFiles) {
  const schema = readJson(`schema/${name}`)
  if (typeof schema !== 'object' || schema === null) throw new Error(`${name} is not a schema object`)
  ajv.addSchema(schema)
}

function validator(name: string): ValidateFunction {
  const validate = ajv.getSchema(`${SCHEMA_BASE}${name}.json`)
  if (validate === undefined) throw new Error(`no schema ${name}.json`)
  return validate
}

const union = { client: 'ClientFrame', server: 'ServerFrame' } as const

/** The `$ref` targets of a union schema's oneOf. */
function alternatives(name: string): string[] {
  const schema = readJson(`schema/${name}.json`)
  const oneOf = (schema as { oneOf?: unknown }).oneOf
  if (!Array.isArray(oneOf)) throw new Error(`${name}.json has no oneOf`)
  return oneOf.map((entry: { $ref?: unknown }) => String(entry.$ref).replace(/\.json$/, ''))
}

const describeErrors = (errors: ErrorObject[] | null | undefined) =>
  (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`)

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch {
    return { ok: false }
  }
}

const vectorFiles = readdirSync(`${SPEC_DIR}vectors/frames`)
  .filter((name) => name.endsWith('.json'))
  .sort()
  .map((file) => ({ file, data: readJson(`vectors/frames/${file}`) }))

describe('spec/schema/*.json', () => {
  it('every file compiles in Ajv (draft 2020-12, strict mode)', () => {
    expect(schemaFiles.length).toBeGreaterThan(2)
    for (const name of schemaFiles) expect(() => validator(name.replace(/\.json$/, '')), name).not.toThrow()
  })

  it('the union schemas list every frame schema of their direction', () => {
    expect(alternatives(union.client)).toEqual([
      'Hello',
      'Send',
      'ClientAck',
      'Join',
      'Leave',
      'Ping',
      'Pong',
      'ClientBye',
    ])
    expect(alternatives(union.server)).toEqual([
      'Welcome',
      'Msg',
      'ServerAck',
      'Joined',
      'JoinError',
      'Unjoined',
      'Presence',
      'MementoUpdate',
      'Error',
      'Ping',
      'Pong',
      'ServerBye',
    ])
  })
})

describe('spec/vectors/schema/frame-vectors.json', () => {
  const vectorAjv = new Ajv2020({ strict: false, allErrors: true })
  const validate = vectorAjv.compile(readJson('vectors/schema/frame-vectors.json') as object)

  for (const { file, data } of vectorFiles) {
    it(`${file} validates against the published schema and the TypeBox one alike`, () => {
      expect(describeErrors(validate(data) ? [] : validate.errors)).toEqual([])
      expect(Value.Check(FrameVectorFile, data)).toBe(true)
    })
  }
})

describe('the JSON Schema agrees with the codec on every frame vector', () => {
  let compared = 0

  for (const { file, data } of vectorFiles) {
    if (!Value.Check(FrameVectorFile, data)) {
      it(`${file} is a frame vector file`, () => expect.fail('does not match FrameVectorFile'))
      continue
    }
    const direction = data.direction
    const validateUnion = validator(union[direction])
    const members = alternatives(union[direction]).map((name) => ({ name, validate: validator(name) }))

    for (const vector of data.vectors) {
      if (vector.batch === true) continue
      // Size and depth (LL-LIMIT-1, LL-LIMIT-8) are checked on the text, before any schema applies.
      if (!vector.expect.ok && (vector.expect.error === 'too-large' || vector.expect.error === 'too-deep'))
        continue
      const parsed = parseJson(vector.text)
      if (!parsed.ok) continue
      compared++

      it(`${file}: ${vector.name} [${(vector.rules ?? []).join(', ')}]`, () => {
        const decoded =
          direction === 'client' ? decodeClientFrame(vector.text) : decodeServerFrame(vector.text)
        const codecOk = !(decoded instanceof ProtocolError)
        const schemaOk = validateUnion(parsed.value)
        const matching = members.filter(({ validate }) => validate(parsed.value)).map(({ name }) => name)

        expect(
          { schemaOk, codecOk },
          `${union[direction]}.json errors: ${describeErrors(validateUnion.errors).join('; ')}`,
        ).toEqual({ schemaOk: codecOk, codecOk: vector.expect.ok })
        // oneOf: a valid frame matches exactly one alternative (Ping and Pong are shared by both
        // directions but differ from every other alternative by their `type` const).
        expect(matching).toHaveLength(codecOk ? 1 : 0)
      })
    }
  }

  it('compares a meaningful number of vectors', () => {
    expect(compared).toBeGreaterThanOrEqual(40)
  })
})
