/**
 * Codec unit tests beyond the frame vectors: the UTF-8 size check, parse avoidance for oversized
 * input, robustness against arbitrary input, encode round-trips, validation of parsed objects and the
 * close-code table.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Value } from '@sinclair/typebox/value'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  type ClientFrame,
  CloseCode,
  closeCodeAction,
  closeCodeName,
  DEFAULT_MAX_FRAME_BYTES,
  decodeClientFrame,
  decodeClientFrames,
  decodeServerFrame,
  decodeServerFrames,
  encode,
  exceedsBytes,
  LifelineError,
  MAX_BATCH_FRAMES,
  ProtocolError,
  type ServerFrame,
  validateClientFrame,
  validateServerFrame,
} from '../src/index.js'
import { FrameVectorFile } from '../src/vectors.js'

const SPEC_DIR = fileURLToPath(new URL('../../../spec/', import.meta.url))
const utf8Bytes = (text: string) => Buffer.byteLength(text, 'utf8')

/** Every ok vector of spec/vectors/frames, with its direction and expected frames. */
function okVectors(): { direction: 'client' | 'server'; name: string; text: string; frames: unknown[] }[] {
  const out: { direction: 'client' | 'server'; name: string; text: string; frames: unknown[] }[] = []
  const dir = `${SPEC_DIR}vectors/frames/`
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.json'))) {
    const data: unknown = JSON.parse(readFileSync(`${dir}${file}`, 'utf8'))
    if (!Value.Check(FrameVectorFile, data)) throw new Error(`${file} is not a FrameVectorFile`)
    for (const vector of data.vectors) {
      if (vector.expect.ok) {
        out.push({
          direction: data.direction,
          name: `${file}: ${vector.name}`,
          text: vector.text,
          frames: vector.expect.frames,
        })
      }
    }
  }
  return out
}
const validVectors = okVectors()

/** Mulberry32: a small deterministic PRNG, so the random inputs are the same on every run. */
function prng(seed: number) {
  let state = seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number) => Math.floor(next() * n)
  const pick = <T>(items: readonly T[]): T => {
    const item = items[int(items.length)]
    if (item === undefined) throw new Error('pick from an empty list')
    return item
  }
  return { next, int, pick }
}

describe('exceedsBytes', () => {
  const cases: [label: string, unit: string, bytesPerUnit: number][] = [
    ['ASCII', 'a', 1],
    ['2-byte (é)', 'é', 2],
    ['3-byte (€)', '€', 3],
    ['3-byte at the top of the BMP (U+FFFD)', '\ufffd', 3],
    ['4-byte surrogate pair (😀)', '😀', 4],
  ]

  for (const [label, unit, bytesPerUnit] of cases) {
    it(`counts ${label} exactly at the boundary`, () => {
      for (const count of [0, 1, 2, 3, 7, 100, 1000]) {
        const text = unit.repeat(count)
        const bytes = count * bytesPerUnit
        expect(utf8Bytes(text)).toBe(bytes)
        if (bytes > 0)
          expect(exceedsBytes(text, bytes - 1), `${count} × ${label}, max ${bytes - 1}`).toBe(true)
        expect(exceedsBytes(text, bytes), `${count} × ${label}, max ${bytes}`).toBe(false)
        expect(exceedsBytes(text, bytes + 1), `${count} × ${label}, max ${bytes + 1}`).toBe(false)
      }
    })
  }

  it('counts a surrogate pair as 4 bytes wherever the boundary falls', () => {
    // "a😀b" is 1 + 4 + 1 bytes in 4 UTF-16 units.
    const text = 'a😀b'
    expect(text.length).toBe(4)
    expect(exceedsBytes(text, 5)).toBe(true)
    expect(exceedsBytes(text, 6)).toBe(false)
    // Two pairs back to back, then a 3-byte character: 4 + 4 + 3 = 11 bytes in 5 units.
    expect(exceedsBytes('😀🎉€', 10)).toBe(true)
    expect(exceedsBytes('😀🎉€', 11)).toBe(false)
    // A pair at the very end of the text.
    expect(exceedsBytes('é😀', 5)).toBe(true)
    expect(exceedsBytes('é😀', 6)).toBe(false)
  })

  it('decides by length alone when the length settles it (length > max, or 3 × length <= max)', () => {
    expect(exceedsBytes('abcd', 3)).toBe(true)
    expect(exceedsBytes('€€€€', 12)).toBe(false)
    expect(exceedsBytes('€€€€', 11)).toBe(true)
    expect(exceedsBytes('', 0)).toBe(false)
    expect(exceedsBytes('a', 0)).toBe(true)
  })

  it('agrees with Buffer.byteLength on 500 random well-formed strings', () => {
    const random = prng(0x5eed)
    const pool = [
      'a',
      '~',
      '\u007f',
      '\u0080',
      'é',
      '\u07ff',
      '\u0800',
      '€',
      '\ufffd',
      '😀',
      '\u{10ffff}',
      '\u{10000}',
    ]
    for (let i = 0; i < 500; i++) {
      let text = ''
      const length = random.int(40)
      for (let j = 0; j < length; j++) text += random.pick(pool)
      const bytes = utf8Bytes(text)
      for (const max of [bytes - 2, bytes - 1, bytes, bytes + 1, random.int(bytes * 2 + 1)]) {
        if (max < 0) continue
        expect(exceedsBytes(text, max), `${JSON.stringify(text)} max ${max}`).toBe(bytes > max)
      }
    }
  })
})

describe('oversized input is refused before parsing (LL-FRAME-4)', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  const decoders = [
    ['decodeClientFrame', decodeClientFrame],
    ['decodeServerFrame', decodeServerFrame],
    ['decodeClientFrames', decodeClientFrames],
    ['decodeServerFrames', decodeServerFrames],
  ] as const

  for (const [name, decodeText] of decoders) {
    it(`${name} never calls JSON.parse on a text over maxBytes`, () => {
      const parse = vi.spyOn(JSON, 'parse')
      const ascii = JSON.stringify({ type: 'ping', pad: 'x'.repeat(200) })
      const multiByte = JSON.stringify({ type: 'ping', pad: '€'.repeat(100) })
      for (const [text, maxBytes] of [
        [ascii, ascii.length - 1],
        [multiByte, multiByte.length],
        [`[${ascii},${ascii}]`, ascii.length + 10],
        ['{"type":', 4],
      ] as const) {
        const result = decodeText(text, { maxBytes })
        expect(result).toBeInstanceOf(ProtocolError)
        expect(result).toMatchObject({ kind: 'too-large', code: CloseCode.FRAME_TOO_LARGE })
      }
      expect(parse).not.toHaveBeenCalled()

      // The spy is live: an input that fits is parsed.
      expect(decodeText(ascii, { maxBytes: ascii.length })).not.toBeInstanceOf(ProtocolError)
      expect(parse).toHaveBeenCalledTimes(1)
    })
  }

  it('uses a default of 1 MiB (DEFAULT_MAX_FRAME_BYTES)', () => {
    expect(DEFAULT_MAX_FRAME_BYTES).toBe(1024 * 1024)
    const parse = vi.spyOn(JSON, 'parse')
    const frame = (padBytes: number) => JSON.stringify({ type: 'ping', pad: 'x'.repeat(padBytes) })
    const overhead = frame(0).length
    const exact = frame(DEFAULT_MAX_FRAME_BYTES - overhead)
    expect(exact.length).toBe(DEFAULT_MAX_FRAME_BYTES)

    expect(decodeClientFrame(`${exact} `)).toMatchObject({ kind: 'too-large', code: 4002 })
    expect(parse).not.toHaveBeenCalled()
    expect(decodeClientFrame(exact)).toMatchObject({ type: 'ping' })
    expect(parse).toHaveBeenCalledTimes(1)

    // Multi-byte: fewer characters than the limit, but more UTF-8 bytes.
    const euros = frame(0).replace('""', `"${'€'.repeat(Math.ceil(DEFAULT_MAX_FRAME_BYTES / 3))}"`)
    expect(euros.length).toBeLessThan(DEFAULT_MAX_FRAME_BYTES)
    expect(decodeServerFrame(euros)).toMatchObject({ kind: 'too-large', code: 4002 })
    expect(parse).toHaveBeenCalledTimes(1)
  })
})

describe('the decoders never throw', () => {
  const prototypeKeys = [
    '{"type":"constructor"}',
    '{"type":"__proto__"}',
    '{"type":"toString"}',
    '{"type":"valueOf"}',
    '{"type":"hasOwnProperty"}',
    '{"type":"__defineGetter__"}',
    '{"__proto__":{"type":"ping"}}',
    '{"__proto__":null,"type":"ping"}',
    '{"type":"ping","__proto__":{"id":"x"}}',
    '{"type":"send","seq":1,"id":"a","__proto__":{"data":1}}',
    '{"type":"hello","versions":[1],"attempt":0,"resume":{"memento":"m","seq":0,"topics":{"__proto__":1,"constructor":2}}}',
    '{"type":"welcome","constructor":{"prototype":{"polluted":true}}}',
    '{"type":"joined","topic":"t","seq":0,"members":[{"__proto__":{"sid":"s","state":"online"}}]}',
    '[{"type":"constructor"}]',
    '[{"type":"__proto__"},{"type":"ping"}]',
  ]

  function randomJson(random: ReturnType<typeof prng>, depth: number): unknown {
    const kind = random.int(depth > 3 ? 6 : 9)
    switch (kind) {
      case 0:
        return null
      case 1:
        return random.next() < 0.5
      case 2:
        return random.pick([0, -1, 1, 1.5, -0.5, 2 ** 53, 2 ** 53 - 1, 1e308, -1e-308, 4000, 65535, 2 ** 31])
      case 3:
        return random.pick([
          '',
          'ping',
          'hello',
          'ack',
          'bye',
          'x'.repeat(300),
          'room:1',
          'a b',
          '😀',
          '\u0000',
        ])
      case 4:
        return random.int(1_000_000)
      case 5:
        return random.pick(['type', 'seq', 'id', 'data', 'topic'])
      case 6:
        return Array.from({ length: random.int(4) }, () => randomJson(random, depth + 1))
      default: {
        const object: Record<string, unknown> = {}
        const keys = [
          'type',
          'seq',
          'id',
          'data',
          'topic',
          'versions',
          'attempt',
          'members',
          'code',
          'reason',
        ]
        for (let i = random.int(5); i > 0; i--) object[random.pick(keys)] = randomJson(random, depth + 1)
        if (random.next() < 0.6) {
          object.type = random.pick([
            'hello',
            'send',
            'ack',
            'join',
            'leave',
            'ping',
            'pong',
            'bye',
            'welcome',
            'msg',
          ])
        }
        return object
      }
    }
  }

  function mutate(random: ReturnType<typeof prng>, text: string): string {
    const at = random.int(text.length + 1)
    const noise = [
      '"',
      '{',
      '}',
      '[',
      ']',
      ',',
      ':',
      '\\',
      '0',
      '-',
      'e',
      ' ',
      '\u0000',
      '\n',
      'é',
      '\ud83d',
      '😀',
    ]
    switch (random.int(8)) {
      case 0:
        return text.slice(0, at) // truncation
      case 1:
        return text.slice(0, at) + random.pick(noise) + text.slice(at + 1) // character flip
      case 2:
        return text.slice(0, at) + random.pick(noise) + text.slice(at) // insertion
      case 3:
        return text.slice(0, at) + text.slice(at + 1 + random.int(8)) // deletion
      case 4:
        return `${text}${random.pick(['x', '}', ']', ',{}', text])}` // trailing garbage
      case 5:
        return `[${text},${text}]` // batch of two
      case 6: {
        // Replace one member's value by a random JSON value.
        try {
          const value: unknown = JSON.parse(text)
          if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
            const keys = Object.keys(value)
            const key = keys.length > 0 ? random.pick(keys) : 'type'
            return JSON.stringify({ ...value, [key]: randomJson(random, 1) })
          }
        } catch {
          // not JSON: fall through to a random value
        }
        return JSON.stringify(randomJson(random, 0))
      }
      default: {
        // Deep nesting, inside data or at the top.
        const depth = 1 + random.int(20_000)
        const deep = `${'['.repeat(depth)}${']'.repeat(depth)}`
        return random.next() < 0.5 ? deep : `{"type":"send","seq":1,"id":"a","data":${deep}}`
      }
    }
  }

  function inputs(): string[] {
    const random = prng(20_240_601)
    const seeds = [...validVectors.map((vector) => vector.text), ...prototypeKeys]
    const out: string[] = [...prototypeKeys]
    while (out.length < 2000) {
      const roll = random.next()
      if (roll < 0.15) out.push(JSON.stringify(randomJson(random, 0)))
      else {
        let text = random.pick(seeds)
        for (let i = 1 + random.int(3); i > 0; i--) text = mutate(random, text)
        out.push(text)
      }
    }
    return out
  }

  function checkFrame(value: unknown) {
    expect(typeof value === 'object' && value !== null && !Array.isArray(value)).toBe(true)
    expect(typeof (value as { type?: unknown }).type).toBe('string')
  }

  function checkError(error: ProtocolError) {
    expect(error).toBeInstanceOf(LifelineError)
    expect(['too-large', 'too-deep', 'malformed', 'invalid', 'unknown-type']).toContain(error.kind)
    expect(error.code).toBe(error.kind === 'too-large' ? 4002 : 4000)
  }

  it('2,000 pseudo-random inputs each give a frame or a ProtocolError, in both directions', () => {
    const before = Object.getOwnPropertyNames(Object.prototype).sort()
    const outcomes = { frame: 0, error: 0 }
    for (const text of inputs()) {
      const maxBytes = text.length > 0 && text.length % 7 === 0 ? Math.max(1, text.length - 3) : undefined
      const options = maxBytes === undefined ? {} : { maxBytes }
      for (const decodeText of [decodeClientFrame, decodeServerFrame]) {
        let result: ClientFrame | ServerFrame | ProtocolError | undefined
        expect(
          () => {
            result = decodeText(text, options)
          },
          text.slice(0, 200),
        ).not.toThrow()
        if (result instanceof ProtocolError) {
          checkError(result)
          outcomes.error++
        } else {
          checkFrame(result)
          outcomes.frame++
        }
        // A batch-mode decode of the same text never throws either, and agrees on a single frame.
        const frames =
          decodeText === decodeClientFrame
            ? decodeClientFrames(text, options)
            : decodeServerFrames(text, options)
        if (frames instanceof ProtocolError) checkError(frames)
        else frames.forEach(checkFrame)
        if (!(result instanceof ProtocolError)) {
          // Shallow: data may be nested 20,000 deep, too deep for a recursive deep-equal.
          expect(frames).toHaveLength(1)
          expect(Object.keys(frames instanceof ProtocolError ? {} : (frames[0] ?? {}))).toEqual(
            Object.keys(result ?? {}),
          )
        }
      }
    }
    // Both outcomes occur, so the inputs are neither all garbage nor all valid.
    expect(outcomes.frame).toBeGreaterThan(50)
    expect(outcomes.error).toBeGreaterThan(1000)
    // Nothing leaked onto Object.prototype.
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before)
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined()
  })

  it('validateClientFrame / validateServerFrame never throw on arbitrary values', () => {
    const random = prng(7)
    const values: unknown[] = [
      undefined,
      Number.NaN,
      Symbol('x'),
      () => 1,
      new Date(0),
      new Map([['type', 'ping']]),
      Object.create(null),
      Object.assign(Object.create(null), { type: 'ping' }),
      Object.assign(Object.create(null), { type: 'constructor' }),
      { type: Symbol('ping') },
      { type: new String('ping') },
      ...Array.from({ length: 500 }, () => randomJson(random, 0)),
    ]
    for (const value of values) {
      for (const validate of [validateClientFrame, validateServerFrame]) {
        let result: unknown
        expect(() => {
          result = validate(value)
        }).not.toThrow()
        if (result instanceof ProtocolError) checkError(result)
        else checkFrame(result)
      }
    }
  })
})

describe('batches (LL-WS-2)', () => {
  const ping = '{"type":"ping"}'
  const batch = (n: number) => `[${Array.from({ length: n }, () => ping).join(',')}]`

  it(`accepts 1 to ${MAX_BATCH_FRAMES} frames and refuses more or none`, () => {
    expect(MAX_BATCH_FRAMES).toBe(1024)
    expect(decodeClientFrames(batch(1))).toEqual([{ type: 'ping' }])
    expect(decodeServerFrames(batch(MAX_BATCH_FRAMES))).toHaveLength(MAX_BATCH_FRAMES)
    expect(decodeServerFrames(batch(MAX_BATCH_FRAMES + 1))).toMatchObject({ kind: 'invalid', code: 4000 })
    expect(decodeClientFrames('[]')).toMatchObject({ kind: 'invalid', code: 4000 })
  })

  it('reports the first bad frame of a batch', () => {
    const result = decodeClientFrames('[{"type":"ping"},{"type":"nope"},{"type":"send"}]')
    expect(result).toMatchObject({ kind: 'unknown-type', frameType: 'nope' })
  })
})

describe('encode', () => {
  for (const vector of validVectors) {
    it(`round-trips ${vector.name}`, () => {
      const validate = vector.direction === 'client' ? validateClientFrame : validateServerFrame
      const frames = vector.frames.map((frame) => {
        const checked = validate(frame)
        if (checked instanceof ProtocolError) return expect.fail(`${checked.kind}: ${checked.message}`)
        return checked
      })
      for (const frame of frames) {
        const text = encode(frame)
        expect(text).toBe(JSON.stringify(frame))
        const decoded = vector.direction === 'client' ? decodeClientFrame(text) : decodeServerFrame(text)
        expect(decoded).toEqual(frame)
      }
      const text = encode(frames)
      const decoded = vector.direction === 'client' ? decodeClientFrames(text) : decodeServerFrames(text)
      expect(decoded).toEqual(frames)
    })
  }
})

describe('validateClientFrame / validateServerFrame', () => {
  it('return the very object they were given, unknown members included (LL-FRAME-2)', () => {
    const send = { type: 'send', seq: 1, id: 'a.1', data: { x: 1 }, extra: true }
    expect(validateClientFrame(send)).toBe(send)
    const msg = { type: 'msg', seq: 1, data: null, extra: [1] }
    expect(validateServerFrame(msg)).toBe(msg)
  })

  it('refuse what is not an object with a string type', () => {
    for (const value of [null, undefined, 1, 'ping', true, [], [{ type: 'ping' }], {}, { type: 1 }]) {
      expect(validateClientFrame(value)).toMatchObject({ kind: 'invalid', code: 4000, frameType: undefined })
      expect(validateServerFrame(value)).toMatchObject({ kind: 'invalid', code: 4000, frameType: undefined })
    }
  })

  it('tell an unknown type from an invalid frame, and name the type', () => {
    expect(validateClientFrame({ type: 'welcome' })).toMatchObject({
      kind: 'unknown-type',
      frameType: 'welcome',
    })
    expect(validateServerFrame({ type: 'hello' })).toMatchObject({ kind: 'unknown-type', frameType: 'hello' })
    expect(validateClientFrame({ type: 'send', seq: 0, id: 'a', data: 1 })).toMatchObject({
      kind: 'invalid',
      frameType: 'send',
    })
    const error = validateServerFrame({ type: 'x'.repeat(10_000) })
    expect(error).toBeInstanceOf(ProtocolError)
    expect((error as ProtocolError).message.length).toBeLessThan(100)
  })

  it('check each direction with its own shape of ack and bye (LL-FRAME-3)', () => {
    const topicAck = { type: 'ack', seq: 3, topic: 'room:1' }
    expect(validateClientFrame(topicAck)).toBe(topicAck)
    expect(validateServerFrame(topicAck)).toBe(topicAck) // topic is an unknown member there
    expect(validateClientFrame({ type: 'ack', seq: 3, topic: 'bad topic' })).toMatchObject({
      kind: 'invalid',
    })
    expect(validateServerFrame({ type: 'ack', seq: 3, topic: 'bad topic' })).not.toBeInstanceOf(ProtocolError)

    const clientBye = { type: 'bye', reason: 'done' }
    const serverBye = { type: 'bye', code: 4005, reason: 'kicked', reconnect: false }
    expect(validateClientFrame(clientBye)).toBe(clientBye)
    expect(validateServerFrame(clientBye)).toMatchObject({ kind: 'invalid', frameType: 'bye' })
    expect(validateServerFrame(serverBye)).toBe(serverBye)
    expect(validateClientFrame(serverBye)).toBe(serverBye) // code and reconnect are unknown members there
  })

  it('accept frames without a prototype', () => {
    const frame = Object.assign(Object.create(null), { type: 'pong', id: 2 })
    expect(validateClientFrame(frame)).toBe(frame)
  })
})

describe('ProtocolError', () => {
  it('is a LifelineError with the close code of its kind', () => {
    const tooLarge = new ProtocolError('too-large', 'big')
    expect(tooLarge).toBeInstanceOf(LifelineError)
    expect(tooLarge).toBeInstanceOf(Error)
    expect(tooLarge.name).toBe('ProtocolError')
    expect(tooLarge.code).toBe(CloseCode.FRAME_TOO_LARGE)
    for (const kind of ['malformed', 'invalid', 'unknown-type'] as const) {
      expect(new ProtocolError(kind, kind).code).toBe(CloseCode.PROTOCOL_ERROR)
    }
  })

  it('keeps the parser error as its cause for malformed input', () => {
    const error = decodeClientFrame('{')
    expect(error).toMatchObject({ kind: 'malformed' })
    expect((error as ProtocolError).cause).toBeInstanceOf(SyntaxError)
  })
})

describe('close codes (LL-INTENT-4)', () => {
  it('map every range to its action', () => {
    const expected: [number, string][] = [
      [1000, 'backoff'],
      [1001, 'backoff'],
      [1006, 'backoff'],
      [1011, 'backoff'],
      [3999, 'backoff'],
      [4000, 'fatal'],
      [4050, 'fatal'],
      [4099, 'fatal'],
      [4100, 'backoff'],
      [4199, 'backoff'],
      [4200, 'reconnect'],
      [4299, 'reconnect'],
      [4300, 'none'],
      [4399, 'none'],
      [4400, 'backoff'],
      [4999, 'backoff'],
      [0, 'backoff'],
      [-1, 'backoff'],
    ]
    for (const [code, action] of expected) expect(closeCodeAction(code), String(code)).toBe(action)
  })

  it('agree with the code table of PROTOCOL.md §19 (name and action of every code)', () => {
    const markdown = readFileSync(`${SPEC_DIR}PROTOCOL.md`, 'utf8')
    const rows = [...markdown.matchAll(/^\| (\d{4}) +\| `([A-Z_]+)` +\| (\w+) +\|/gm)].map(
      ([, code, name, action]) => ({
        code: Number(code),
        name,
        action,
      }),
    )
    expect(rows.length).toBe(Object.keys(CloseCode).length)
    for (const { code, name, action } of rows) {
      expect(closeCodeName(code), String(code)).toBe(name)
      expect(closeCodeAction(code), String(code)).toBe(action)
    }
    expect(Object.fromEntries(rows.map(({ code, name }) => [name, code]))).toEqual(CloseCode)
  })

  it('agree with spec/codes.json', () => {
    const table = JSON.parse(readFileSync(`${SPEC_DIR}codes.json`, 'utf8')) as {
      codes: { code: number; name: string; action: string }[]
    }
    for (const { code, name, action } of table.codes) {
      expect(closeCodeName(code)).toBe(name)
      expect(closeCodeAction(code)).toBe(action)
    }
  })

  it('name no code outside the table', () => {
    for (const code of [1000, 1006, 3999, 4009, 4099, 4150, 4204, 4305, 4999, Number.NaN]) {
      expect(closeCodeName(code), String(code)).toBeUndefined()
    }
    expect(closeCodeName(4005)).toBe('KICKED')
    expect(closeCodeName(4105)).toBe('BACKLOG_OVERFLOW')
  })
})
