/**
 * Property-based fuzzing of the server (fast-check, shrinking): hostile connections send sequences of
 * random, mutated, oversized, deeply nested, wrongly typed and out-of-order frames, alone or batched.
 * The server never throws or reports an error of its own, closes only with documented codes, a
 * neighbour keeps working, and what it holds stays bounded (LL-FRAME-5, LL-LIMIT-*).
 */
import { closeCodeName, MAX_NESTING_DEPTH } from '@lifeline/protocol'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { MemoryStore } from '../src/server.js'
import { hello, type RawClient, rawClient, settle, world } from './helpers.js'

const MAX_FRAME_BYTES = 4096
const topic = fc.oneof(fc.constantFrom('room', 'a', 'b', 'deny:x'), fc.string({ minLength: 0, maxLength: 8 }))
const seq = fc.oneof(fc.integer({ min: -2, max: 12 }), fc.constantFrom(2 ** 53, 1.5, '1'))
const data = fc.oneof(
  { depthSize: 'small' },
  fc.jsonValue({ maxDepth: 3 }),
  fc.constant('x'.repeat(MAX_FRAME_BYTES)),
  fc.integer({ min: MAX_NESTING_DEPTH - 3, max: 3000 }).map((levels) => {
    let value: unknown = 0
    for (let i = 0; i < levels; i++) value = [value]
    return value
  }),
)
const memento = fc.oneof(fc.constantFrom('m1.k1.AAAA.BBBB', 'x', ''), fc.string({ maxLength: 40 }))

/** One frame a hostile client might send: any type, often almost right. */
const frame: fc.Arbitrary<unknown> = fc.oneof(
  fc.record({ type: fc.constant('hello'), versions: fc.constantFrom([1], [2], [], [1, 1]), attempt: seq }),
  fc.record({
    type: fc.constant('hello'),
    versions: fc.constant([1]),
    attempt: fc.constant(0),
    resume: fc.record({ memento, seq }),
  }),
  fc.record(
    { type: fc.constant('send'), seq, id: fc.string({ maxLength: 12 }), data },
    { requiredKeys: ['type'] },
  ),
  fc.record({ type: fc.constant('send'), seq, id: fc.string({ maxLength: 12 }), topic, data }),
  fc.record({ type: fc.constant('ack'), seq }, { requiredKeys: ['type'] }),
  fc.record({ type: fc.constant('ack'), seq, topic }),
  fc.record({ type: fc.constantFrom('join', 'leave'), topic }, { requiredKeys: ['type'] }),
  fc.record({ type: fc.constant('join'), topic, from: seq }),
  fc.record({ type: fc.constantFrom('ping', 'pong', 'bye') }),
  fc.record({ type: fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('welcome', 'msg', '__proto__')) }),
  fc.jsonValue({ maxDepth: 2 }),
)

/** A frame a well-behaved client could send; `send` gets the next seq when the session is built. */
const valid = fc.oneof(
  fc.record({ type: fc.constant('send'), data: fc.jsonValue({ maxDepth: 2 }) }),
  fc.record({
    type: fc.constant('send'),
    topic: fc.constantFrom('room', 'a'),
    data: fc.jsonValue({ maxDepth: 2 }),
  }),
  fc.record({ type: fc.constant('ack'), seq: fc.nat(20) }),
  fc.record({ type: fc.constant('ack'), seq: fc.nat(20), topic: fc.constantFrom('room', 'a', 'b') }),
  fc.record({ type: fc.constantFrom('join', 'leave'), topic: fc.constantFrom('room', 'a', 'b', 'deny:x') }),
  fc.record({ type: fc.constant('join'), topic: fc.constantFrom('room', 'a'), from: fc.nat(20) }),
  fc.record({ type: fc.constantFrom('ping', 'pong') }),
)

/**
 * A session: mostly frames a client could send, in order, now and then something hostile (a random
 * frame, raw text, a batch), so the fuzz reaches deep states before it breaks the connection.
 */
const session = fc
  .array(
    fc.oneof(
      {
        weight: 12,
        arbitrary: fc.array(valid, { minLength: 1, maxLength: 3 }).map((frames) => ({ frames })),
      },
      { weight: 1, arbitrary: frame.map((f) => ({ text: JSON.stringify(f) ?? 'null' })) },
      {
        weight: 1,
        arbitrary: fc
          .array(frame, { minLength: 1, maxLength: 3 })
          .map((fs) => ({ text: JSON.stringify(fs) })),
      },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }).map((text) => ({ text })) },
    ),
    { minLength: 1, maxLength: 25 },
  )
  .map((steps) => {
    let seq = 0
    return steps.map((step) => {
      if ('text' in step) return step.text
      const frames = step.frames.map((f) => (f.type === 'send' ? { ...f, seq: ++seq, id: `h.${seq}` } : f))
      return JSON.stringify(frames.length === 1 ? frames[0] : frames)
    })
  })

describe('server fuzzing (fast-check): hostile connections, a neighbour unaffected, memory bounded', () => {
  it('LL-FRAME-5, LL-FRAME-7, LL-LIMIT-7, LL-LIMIT-8: 1,500 hostile sessions of up to 25 messages; only documented codes; a neighbour keeps working', async () => {
    const errors: Error[] = []
    const processed: unknown[] = []
    const w = await world({
      graceMs: 1000,
      maxFrameBytes: MAX_FRAME_BYTES,
      onJoin: (t) => !t.startsWith('deny:'),
      onMessage: (m) => void processed.push(m.data),
    })
    w.server.on('error', (error) => errors.push(error))
    const neighbour = rawClient(w.network, 'neighbour')
    await settle()
    neighbour.send(hello())
    await settle()
    let neighbourSeq = 0
    let run = 0
    const codes = new Map<number, number>()
    await fc.assert(
      fc.asyncProperty(session, fc.boolean(), async (messages, greet) => {
        const hostile: RawClient = rawClient(w.network, `hostile-${run++}`)
        await settle(1)
        if (greet) {
          hostile.send(hello())
          await settle(1)
        }
        for (const text of messages) {
          hostile.sendText(text)
          await settle(1)
        }
        await settle()
        if (hostile.closed !== undefined) {
          const { code } = hostile.closed
          codes.set(code, (codes.get(code) ?? 0) + 1)
          expect(closeCodeName(code), `code ${code}`).toBeDefined()
          const bye = hostile.last('bye')
          if (bye !== undefined) expect(bye.code).toBe(code)
        } else hostile.close()
        // The neighbour's next send is processed and acked, whatever happened next door.
        neighbourSeq++
        neighbour.send({
          type: 'send',
          seq: neighbourSeq,
          id: `n.${neighbourSeq}`,
          data: { n: neighbourSeq },
        })
        await settle()
        expect(neighbour.closed).toBeUndefined()
        expect(neighbour.last('ack')).toMatchObject({ seq: neighbourSeq })
        expect(errors).toEqual([])
      }),
      { numRuns: 1500 },
    )
    expect(processed.filter((d) => typeof d === 'object' && d !== null && 'n' in d)).toHaveLength(
      neighbourSeq,
    )
    // Every hostile session ends with its grace; what the server holds goes back to the neighbour's.
    await w.advance(1001)
    await w.advance(1001)
    expect(w.server.stats).toMatchObject({ sessions: 1, connections: 1, topics: 0, pendingSends: 0 })
    const store = (w.server as unknown as { core: { options: { store: MemoryStore } } }).core.options.store
    expect(store.stats.sessions).toBe(1)
    expect(store.stats.streams).toBeLessThanOrEqual(1)
    expect(w.clock.pendingTimers).toBeLessThanOrEqual(2) // the neighbour's heartbeat and hello timer at most
    // Not vacuous: protocol errors and oversized frames were among what it met.
    expect(codes.get(4000) ?? 0).toBeGreaterThan(50)
    expect(codes.get(4002) ?? 0).toBeGreaterThan(5)
  })
})
