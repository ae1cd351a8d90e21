/**
 * Runs every frame vector of spec/vectors/frames through the codec. Each file must first validate
 * against the FrameVectorFile schema (the source of spec/vectors/schema/frame-vectors.json).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Value } from '@sinclair/typebox/value'
import { describe, expect, it } from 'vitest'
import {
  type DecodeOptions,
  decodeClientFrame,
  decodeClientFrames,
  decodeServerFrame,
  decodeServerFrames,
  ProtocolError,
  RULES,
} from '../src/index.js'
import { type FrameVector, FrameVectorFile } from '../src/vectors.js'

const FRAMES_DIR = fileURLToPath(new URL('../../../spec/vectors/frames/', import.meta.url))

interface LoadedFile {
  file: string
  data: unknown
  problems: string[]
  vectors: FrameVector[]
  direction: 'client' | 'server'
}

function load(file: string): LoadedFile {
  const data: unknown = JSON.parse(readFileSync(`${FRAMES_DIR}${file}`, 'utf8'))
  if (Value.Check(FrameVectorFile, data)) {
    return { file, data, problems: [], vectors: data.vectors, direction: data.direction }
  }
  const problems = [...Value.Errors(FrameVectorFile, data)].map((e) => `${e.path || '/'}: ${e.message}`)
  return { file, data, problems, vectors: [], direction: 'client' }
}

const files = readdirSync(FRAMES_DIR)
  .filter((name) => name.endsWith('.json'))
  .sort()
  .map(load)

function decode(direction: 'client' | 'server', vector: FrameVector): readonly unknown[] | ProtocolError {
  const options: DecodeOptions = vector.maxBytes === undefined ? {} : { maxBytes: vector.maxBytes }
  if (vector.batch === true) {
    return direction === 'client'
      ? decodeClientFrames(vector.text, options)
      : decodeServerFrames(vector.text, options)
  }
  const frame =
    direction === 'client' ? decodeClientFrame(vector.text, options) : decodeServerFrame(vector.text, options)
  return frame instanceof ProtocolError ? frame : [frame]
}

const utf8Bytes = (text: string) => Buffer.byteLength(text, 'utf8')

describe('spec/vectors/frames', () => {
  it('holds vector files', () => {
    expect(files.map(({ file }) => file).length).toBeGreaterThan(0)
  })

  it('holds at least 40 vectors in all', () => {
    const total = files.reduce((sum, { vectors }) => sum + vectors.length, 0)
    expect(total).toBeGreaterThanOrEqual(40)
  })

  for (const loaded of files) {
    describe(loaded.file, () => {
      it('matches the FrameVectorFile schema', () => {
        expect(loaded.problems).toEqual([])
        expect(loaded.data).toHaveProperty('$schema', '../schema/frame-vectors.json')
      })

      it('names every vector once, and quotes only rule ids of PROTOCOL.md', () => {
        const names = loaded.vectors.map((vector) => vector.name)
        expect(names.filter((name, i) => names.indexOf(name) !== i)).toEqual([])
        const unknownRules = loaded.vectors
          .flatMap((vector) => vector.rules ?? [])
          .filter((id) => !Object.hasOwn(RULES, id))
        expect(unknownRules).toEqual([])
        expect(loaded.vectors.filter((vector) => vector.rules === undefined).map((v) => v.name)).toEqual([])
      })

      for (const vector of loaded.vectors) {
        const rules = (vector.rules ?? []).join(', ')
        it(`${loaded.file}: ${vector.name} [${rules}]`, () => {
          // The vector's own numbers must be right, independently of the codec's byte counter.
          if (vector.maxBytes !== undefined) {
            const tooLarge = utf8Bytes(vector.text) > vector.maxBytes
            const expected = vector.expect.ok ? undefined : vector.expect.error
            expect(tooLarge, 'maxBytes vs the UTF-8 size of text').toBe(expected === 'too-large')
          }
          const result = decode(loaded.direction, vector)
          if (vector.expect.ok) {
            if (result instanceof ProtocolError) {
              expect.fail(`expected frames, got ProtocolError ${result.kind}: ${result.message}`)
            }
            if (vector.batch !== true) expect(vector.expect.frames).toHaveLength(1)
            expect(result).toEqual(vector.expect.frames)
          } else {
            if (!(result instanceof ProtocolError)) {
              expect.fail(`expected ProtocolError ${vector.expect.error}, got ${JSON.stringify(result)}`)
            }
            const { kind, code } = result
            expect({ kind, code }).toEqual({ kind: vector.expect.error, code: vector.expect.code })
          }
        })
      }
    })
  }
})
