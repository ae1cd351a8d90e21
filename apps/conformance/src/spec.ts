/**
 * The spec folder as the suites use it: the traces and frame vectors of spec/vectors, and the published
 * frame schemas of spec/schema compiled with Ajv (JSON Schema 2020-12).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FrameVector, FrameVectorFile, Trace } from '@lifeline/protocol/vectors'
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'

/** The repository's spec folder, seen from src/ (tests) or dist/ (the built CLI) alike. */
export function defaultSpecDir(): string {
  return fileURLToPath(new URL('../../../spec', import.meta.url))
}

export type Direction = 'client' | 'server'

export interface LoadedVectorFile {
  /** The file name without `.json`, e.g. `client-invalid`. */
  readonly name: string
  readonly direction: Direction
  readonly vectors: readonly FrameVector[]
}

export interface Spec {
  readonly dir: string
  readonly traces: readonly Trace[]
  readonly vectorFiles: readonly LoadedVectorFile[]
  /** Checks frames against ServerFrame.json or ClientFrame.json: undefined when valid, else why not. */
  readonly validate: FrameValidator
}

export type FrameValidator = (direction: Direction, frame: unknown) => string | undefined

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'))
}

export function loadSpec(dir: string = defaultSpecDir()): Spec {
  const root = resolve(dir)
  const tracesDir = join(root, 'vectors', 'traces')
  const framesDir = join(root, 'vectors', 'frames')
  const schemaDir = join(root, 'schema')
  for (const needed of [tracesDir, framesDir, schemaDir]) {
    if (!existsSync(needed)) throw new Error(`${needed} not found: is ${root} the spec folder?`)
  }
  const json = (folder: string) =>
    readdirSync(folder)
      .filter((name) => name.endsWith('.json'))
      .sort()
  const traces = json(tracesDir).map((name) => readJson(join(tracesDir, name)) as Trace)
  const vectorFiles = json(framesDir).map((name) => {
    const file = readJson(join(framesDir, name)) as FrameVectorFile
    return { name: name.replace(/\.json$/, ''), direction: file.direction, vectors: file.vectors }
  })
  return { dir: root, traces, vectorFiles, validate: frameValidator(schemaDir) }
}

/** Which schema file describes a frame type, per direction: for readable errors. */
const SCHEMA_OF: Record<Direction, Record<string, string>> = {
  server: {
    welcome: 'Welcome',
    msg: 'Msg',
    presence: 'Presence',
    ack: 'ServerAck',
    joined: 'Joined',
    join_error: 'JoinError',
    unjoined: 'Unjoined',
    memento: 'MementoUpdate',
    error: 'Error',
    ping: 'Ping',
    pong: 'Pong',
    bye: 'ServerBye',
  },
  client: {
    hello: 'Hello',
    send: 'Send',
    ack: 'ClientAck',
    join: 'Join',
    leave: 'Leave',
    ping: 'Ping',
    pong: 'Pong',
    bye: 'ClientBye',
  },
}

function frameValidator(schemaDir: string): FrameValidator {
  const ajv = new Ajv2020({ strict: false, allErrors: false })
  const ids = new Map<string, string>()
  for (const name of readdirSync(schemaDir).filter((file) => file.endsWith('.json'))) {
    const schema = readJson(join(schemaDir, name)) as { $id?: string }
    ajv.addSchema(schema)
    if (schema.$id !== undefined) ids.set(name.replace(/\.json$/, ''), schema.$id)
  }
  const compiled = new Map<string, ValidateFunction>()
  const get = (title: string): ValidateFunction => {
    let validate = compiled.get(title)
    if (validate === undefined) {
      const id = ids.get(title)
      validate = id === undefined ? undefined : ajv.getSchema(id)
      if (validate === undefined) throw new Error(`spec/schema/${title}.json is missing`)
      compiled.set(title, validate)
    }
    return validate
  }
  return (direction, frame) => {
    const whole = direction === 'server' ? 'ServerFrame' : 'ClientFrame'
    if (get(whole)(frame)) return undefined
    const type = (frame as { type?: unknown } | null)?.type
    const title =
      typeof type === 'string' && Object.hasOwn(SCHEMA_OF[direction], type)
        ? SCHEMA_OF[direction][type]
        : undefined
    if (title === undefined)
      return `not a ${whole}.json frame: no ${direction} frame has type ${JSON.stringify(type)}`
    const specific = get(title)
    specific(frame)
    const detail = ajv.errorsText(specific.errors, { dataVar: 'frame' })
    return `not a ${whole}.json frame (${title}.json: ${detail})`
  }
}
