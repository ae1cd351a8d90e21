/**
 * The server side of "never a silent gap" (spec revision 1.1): pipelined frames, memento generations
 * across lost welcomes, end reasons, subjects, seq reuse, lost streams and incarnations.
 */
import { CloseCode } from '@lifeline/protocol'
import { describe, expect, it } from 'vitest'
import { MemoryStore } from '../src/server.js'
import { SimulatedClock } from '../src/testing.js'
import { hello, type RawClient, rawClient, settle, world } from './helpers.js'

const auth = (token: string) => ({ auth: { token } })
const authenticate = (value: unknown) => ({ subject: String((value as { token?: string })?.token) })

/** Opens a session over a raw client and returns its memento and sid. */
async function open(c: RawClient, token = 'alice') {
  c.send(hello(auth(token)))
  await settle()
  const welcome = c.last('welcome') as { memento: string; sid: string }
  return welcome
}

describe('LL-HELLO-7: frames after hello, before welcome', () => {
  for (const delay of [0, 1, 3]) {
    it(`LL-HELLO-7: [hello, join] in one batch and hello+send back to back are handled after welcome (auth in ${delay} ticks)`, async () => {
      const processed: unknown[] = []
      const w = await world({
        authenticate: async (value) => {
          for (let i = 0; i < delay; i++) await new Promise<void>((resolve) => setImmediate(resolve))
          return authenticate(value)
        },
        onMessage: (message) => void processed.push(message.data),
      })
      const a = rawClient(w.network, 'a')
      const b = rawClient(w.network, 'b')
      await settle()
      a.sendText(JSON.stringify([hello(auth('alice')), { type: 'join', topic: 'room' }]))
      b.send(hello(auth('bob')))
      b.send({ type: 'send', seq: 1, id: 'b.1', data: 'first' })
      await settle(10)
      expect(a.frames.map((f) => f.type).slice(0, 2)).toEqual(['welcome', 'joined'])
      expect(b.frames[0]?.type).toBe('welcome')
      expect(b.last('ack')).toMatchObject({ seq: 1 })
      expect(processed).toEqual(['first'])
    })
  }

  it('LL-HELLO-7: more than 1024 frames before welcome is a protocol error; a refused hello discards them', async () => {
    let release: (() => void) | undefined
    const processed: unknown[] = []
    const w = await world({
      authenticate: (value) =>
        new Promise((resolve, reject) => {
          const token = (value as { token: string }).token
          release = () => (token === 'bad' ? reject(new Error('no')) : resolve({ subject: token }))
        }),
      onMessage: (message) => void processed.push(message.data),
    })
    const flood = rawClient(w.network, 'flood')
    await settle()
    flood.send(hello(auth('alice')))
    for (let i = 0; i < 1025; i++) flood.send({ type: 'ping' })
    await settle()
    expect(flood.last('bye')).toMatchObject({ code: CloseCode.PROTOCOL_ERROR, reconnect: false })
    const refused = rawClient(w.network, 'refused')
    await settle()
    refused.send(hello(auth('bad')))
    refused.send({ type: 'send', seq: 1, id: 'x.1', data: 'never' })
    await settle()
    release?.()
    await settle()
    expect(refused.last('bye')?.code).toBe(CloseCode.UNAUTHORIZED)
    expect(processed).toEqual([])
  })

  it('LL-HELLO-7, LL-MEMENTO-5: a held frame does not prove the new memento', async () => {
    const w = await world({ authenticate })
    const c1 = rawClient(w.network, 'c1')
    await settle()
    const { memento: m1, sid } = await open(c1)
    c1.send({ type: 'ping' }) // proves m1
    c1.close()
    await settle()
    const c2 = rawClient(w.network, 'c2')
    await settle()
    // Written before the welcome (m2) could be read: proves nothing, so m1 must still resume.
    c2.sendText(
      JSON.stringify([hello({ ...auth('alice'), resume: { memento: m1, seq: 0 } }), { type: 'ping' }]),
    )
    await settle()
    expect(c2.last('welcome')).toMatchObject({ resumed: true, sid })
    c2.close()
    await settle()
    const c3 = rawClient(w.network, 'c3')
    await settle()
    c3.send(hello({ ...auth('alice'), resume: { memento: m1, seq: 0 } }))
    await settle()
    expect(c3.last('welcome')).toMatchObject({ resumed: true, sid })
  })
})

describe('LL-MEMENTO-5, LL-MEMENTO-9, LL-AUTH-6, LL-RESUME-4: resuming', () => {
  it('LL-MEMENTO-5: any number of lost welcomes in a row still resume; a proven generation kills the older ones', async () => {
    const w = await world({ authenticate })
    const first = rawClient(w.network, 'c0')
    await settle()
    const { memento: m0, sid } = await open(first)
    first.send({ type: 'ping' })
    first.close()
    await settle()
    const issued: string[] = []
    for (let lost = 1; lost <= 4; lost++) {
      // Each welcome is "lost": the client never reads it, and comes back with m0.
      const c = rawClient(w.network, `lost${lost}`)
      await settle()
      c.send(hello({ ...auth('alice'), resume: { memento: m0, seq: 0 } }))
      await settle()
      const welcome = c.last('welcome') as { memento: string; resumed: boolean; sid: string }
      expect(welcome).toMatchObject({ resumed: true, sid })
      issued.push(welcome.memento)
      c.close()
      await settle()
    }
    const newest = issued[issued.length - 1] as string
    const proving = rawClient(w.network, 'proving')
    await settle()
    proving.send(hello({ ...auth('alice'), resume: { memento: newest, seq: 0 } }))
    await settle()
    const proven = proving.last('welcome') as { memento: string }
    proving.send({ type: 'ping' })
    proving.close()
    await settle()
    for (const stale of [m0, ...issued]) {
      const c = rawClient(w.network, `stale${stale.length}${Math.random()}`)
      await settle()
      c.send(hello({ ...auth('alice'), resume: { memento: stale, seq: 0 } }))
      await settle()
      expect(c.last('welcome')).toMatchObject({ resumed: false, reason: 'invalid' })
    }
    const again = rawClient(w.network, 'again')
    await settle()
    again.send(hello({ ...auth('alice'), resume: { memento: proven.memento, seq: 0 } }))
    await settle()
    expect(again.last('welcome')).toMatchObject({ resumed: true, sid })
  })

  it('LL-MEMENTO-9, LL-RESUME-9: a memento under a retired key gets reason retired and is not rate limited', async () => {
    const old = await world({ keys: { old: 'o'.repeat(32) }, currentKeyId: 'old' })
    const c = rawClient(old.network, 'c')
    await settle()
    const { memento } = await open(c)
    const w = await world({
      keys: { fresh: 'f'.repeat(32) },
      currentKeyId: 'fresh',
      maxFailedResumesPerMinute: 1,
    })
    for (let i = 0; i < 3; i++) {
      const r = rawClient(w.network, `r${i}`)
      await settle()
      r.send(hello({ resume: { memento, seq: 0 } }))
      await settle()
      expect(r.last('welcome')).toMatchObject({ resumed: false, reason: 'retired' })
    }
  })

  it('LL-AUTH-6: a subject beyond 256 UTF-8 bytes, with a control character or a lone surrogate is refused with 4008', async () => {
    const subjects = ['x'.repeat(257), 'é'.repeat(129), 'a\nb', 'a\ud800b', '']
    for (const subject of subjects) {
      const w = await world({ authenticate: () => ({ subject }) })
      const c = rawClient(w.network, 'c')
      await settle()
      c.send(hello())
      await settle()
      expect(c.last('bye'), JSON.stringify(subject)).toMatchObject({
        code: CloseCode.INVALID_SUBJECT,
        reconnect: false,
      })
    }
  })

  it('LL-AUTH-6: the longest subjects, even full of characters JSON escapes, still get a memento that resumes', async () => {
    for (const subject of ['"'.repeat(256), '\\'.repeat(256), '😀'.repeat(64), 'é'.repeat(128)]) {
      const w = await world({ authenticate: () => ({ subject }), keys: { ['k'.repeat(64)]: 's'.repeat(32) } })
      const c = rawClient(w.network, 'c')
      await settle()
      const { memento, sid } = await open(c)
      expect(memento.length).toBeLessThanOrEqual(1024)
      c.close()
      await settle()
      const r = rawClient(w.network, 'r')
      await settle()
      r.send(hello({ resume: { memento, seq: 0 } }))
      await settle()
      expect(r.last('welcome')).toMatchObject({ resumed: true, sid })
    }
  })

  it('LL-RESUME-4: a session ended by bye, by a kick or by its grace period each has its own reason', async () => {
    const w = await world({ authenticate, graceMs: 1000 })
    const mementos: Record<string, string> = {}
    for (const how of ['bye', 'kick', 'grace']) {
      const c = rawClient(w.network, how)
      await settle()
      const { memento, sid } = await open(c, how)
      mementos[how] = memento
      if (how === 'bye') c.send({ type: 'bye' })
      else if (how === 'kick') w.server.kick(sid)
      else c.close()
      await settle()
    }
    await w.advance(1001)
    const reasons: Record<string, unknown> = {}
    for (const how of ['bye', 'kick', 'grace']) {
      const r = rawClient(w.network, `${how}-again`)
      await settle()
      r.send(hello({ ...auth(how), resume: { memento: mementos[how], seq: 0 } }))
      await settle()
      reasons[how] = r.last('welcome')?.reason
    }
    expect(reasons).toEqual({ bye: 'ended', kick: 'kicked', grace: 'expired' })
  })

  it('LL-LIMIT-6, LL-SEND-10: welcome advertises the per-subject session bound, the dedup window and its epoch', async () => {
    const w = await world({ maxSessionsPerSubject: 3, memory: { dedup: { maxIds: 10, maxAgeMs: 5000 } } })
    const c = rawClient(w.network, 'c')
    await settle()
    c.send(hello())
    await settle()
    expect(c.last('welcome')).toMatchObject({
      limits: { maxSessions: 3, dedupIds: 10, dedupMs: 5000 },
      dedupEpoch: expect.any(String),
    })
  })
})

describe('LL-SEND-2, LL-SEND-8: a seq is never acked for a message the server did not process', () => {
  it('LL-SEND-2: a seq reused under another id is refused with 4000 and never acked', async () => {
    const processed: unknown[] = []
    const w = await world({ onMessage: (m) => void processed.push(m.data) })
    const c = rawClient(w.network, 'c')
    await settle()
    const { memento } = await open(c)
    c.send({ type: 'send', seq: 1, id: 'a.1', data: 'one' })
    c.send({ type: 'send', seq: 2, id: 'a.2', data: 'two' })
    await settle()
    c.close()
    await settle()
    // A reloaded page that numbered from 1 again (revision 1.0's bug): refused, not acked.
    const r = rawClient(w.network, 'r')
    await settle()
    r.send(hello({ resume: { memento, seq: 0 } }))
    await settle()
    expect(r.last('welcome')).toMatchObject({ resumed: true, ackedSeq: 2, receivedSeq: 2 })
    r.send({ type: 'send', seq: 1, id: 'b.1', data: 'after reload' })
    await settle()
    expect(r.last('bye')).toMatchObject({ code: CloseCode.PROTOCOL_ERROR, reconnect: false })
    expect(r.last('ack')).toBeUndefined()
    expect(processed).toEqual(['one', 'two'])
  })

  it('LL-SEND-2, LL-SEND-8: a send still being processed at the resume is resent once under its id, and receivedSeq says where to go on', async () => {
    const processed: unknown[] = []
    let finish: (() => void) | undefined
    const w = await world({
      onMessage: (m) => {
        processed.push(m.data)
        return m.data === 'slow' ? new Promise<void>((resolve) => (finish = resolve)) : undefined
      },
    })
    const c = rawClient(w.network, 'c')
    await settle()
    const { memento } = await open(c)
    c.send({ type: 'send', seq: 1, id: 'a.1', data: 'slow' })
    c.send({ type: 'send', seq: 2, id: 'a.2', data: 'queued' })
    await settle()
    c.close()
    await settle()
    const r = rawClient(w.network, 'r')
    await settle()
    r.send(hello({ resume: { memento, seq: 0 } }))
    await settle()
    expect(r.last('welcome')).toMatchObject({ ackedSeq: 0, receivedSeq: 2 })
    r.send({ type: 'send', seq: 1, id: 'a.1', data: 'slow' })
    r.send({ type: 'send', seq: 2, id: 'a.2', data: 'queued' })
    r.send({ type: 'send', seq: 3, id: 'a.3', data: 'new' })
    finish?.()
    await settle()
    expect(r.last('ack')).toMatchObject({ seq: 3 })
    expect(processed).toEqual(['slow', 'queued', 'new'])
    // The same resend twice on one connection is no resend.
    r.send({ type: 'send', seq: 2, id: 'a.2', data: 'queued' })
    await settle()
    expect(r.last('bye')?.code).toBe(CloseCode.PROTOCOL_ERROR)
  })
})

describe('LL-RESUME-3, LL-RESUME-11, LL-EPOCH-1..4: lost streams and incarnations', () => {
  it('LL-RESUME-3: welcome.lost names exactly the streams that lost entries', async () => {
    const w = await world({ memory: { topicLog: { maxEntries: 3 } } })
    const c = rawClient(w.network, 'c')
    await settle()
    const { memento } = await open(c)
    c.send({ type: 'join', topic: 'busy' })
    c.send({ type: 'join', topic: 'calm' })
    await settle()
    const epochs = Object.fromEntries(
      c.frames.filter((f) => f.type === 'joined').map((f) => [f.topic, f.epoch]),
    )
    c.close()
    await settle()
    for (let i = 0; i < 5; i++) await w.server.publish('busy', i)
    await w.server.publish('calm', 'one')
    const r = rawClient(w.network, 'r')
    await settle()
    r.send(hello({ resume: { memento, seq: 0, topics: { busy: 1, calm: 1 }, epochs } }))
    await settle()
    const welcome = r.last('welcome')
    expect(welcome).toMatchObject({ resumed: true, recovered: false, reason: 'overflow' })
    // busy: joined, away, then five messages; the log keeps three
    expect(welcome?.lost).toEqual({ topics: { busy: { seq: 7, epoch: epochs.busy } } })
    expect(r.frames.filter((f) => f.type === 'msg').map((f) => f.data)).toEqual(['one'])
  })

  it('LL-RESUME-11: a cursor above the end is reset to the end, and the stream goes on', async () => {
    const w = await world()
    const c = rawClient(w.network, 'c')
    await settle()
    const { memento, sid } = await open(c)
    c.send({ type: 'join', topic: 'room' })
    await settle()
    const epoch = c.last('joined')?.epoch
    c.close()
    await settle()
    const r = rawClient(w.network, 'r')
    await settle()
    r.send(hello({ resume: { memento, seq: 900, topics: { room: 700 }, epochs: { room: epoch } } }))
    await settle()
    expect(r.last('welcome')?.lost).toEqual({ seq: 0, topics: { room: { seq: 2, epoch } } })
    await w.server.send(sid, 'direct one')
    await w.server.publish('room', 'topic one')
    await settle()
    expect(r.frames.filter((f) => f.type === 'msg').map((f) => [f.seq, f.data])).toEqual([
      [1, 'direct one'],
      [4, 'topic one'], // after reconnected (3)
    ])
  })

  it('LL-RESUME-11: a cursor reset in a welcome that was lost stays reset, even once the stream has grown past it', async () => {
    const w = await world()
    const c = rawClient(w.network, 'c')
    await settle()
    const { memento } = await open(c)
    c.send({ type: 'join', topic: 'room' })
    await settle()
    const epoch = c.last('joined')?.epoch
    c.close()
    await settle()
    const stale = { memento, seq: 0, topics: { room: 5 }, epochs: { room: epoch } }
    const lost = rawClient(w.network, 'lost')
    await settle()
    lost.send(hello({ resume: stale }))
    await settle()
    expect(lost.last('welcome')?.lost).toMatchObject({ topics: { room: { epoch } } }) // never read
    lost.close()
    await settle()
    for (let i = 0; i < 6; i++) await w.server.publish('room', i) // the stream passes seq 5
    const again = rawClient(w.network, 'again')
    await settle()
    again.send(hello({ resume: stale }))
    await settle()
    const welcome = again.last('welcome')
    expect(welcome).toMatchObject({ resumed: true, recovered: false })
    expect(welcome?.lost).toMatchObject({ topics: { room: { epoch } } })
  })

  it('LL-REPLAY-2: a join still being decided for a dropped connection leaves a resume on the new one whole', async () => {
    // Found by the simulation (seed 1004082 of a long run): the join finished between the resume's
    // hold and its read, released the hold, and its own presence entry fell between the two.
    const store = new MemoryStore(new SimulatedClock())
    const gate = () => {
      let open = () => {}
      const promise = new Promise<void>((resolve) => {
        open = resolve
      })
      return { promise, open }
    }
    let headGate: ReturnType<typeof gate> | undefined
    let readGate: ReturnType<typeof gate> | undefined
    const head = store.head.bind(store)
    const read = store.read.bind(store)
    store.head = async (stream) => {
      const result = head(stream)
      await headGate?.promise
      return result
    }
    store.read = async (stream, afterSeq, limit) => {
      const result = read(stream, afterSeq, limit)
      await readGate?.promise
      return result
    }
    const w = await world({ store })
    const c1 = rawClient(w.network, 'c1')
    await settle()
    const { memento } = await open(c1)
    await w.server.publish('room', 'm1')
    await w.server.publish('room', 'm2')
    headGate = gate()
    c1.send({ type: 'join', topic: 'room' }) // waits for the topic's head
    await settle()
    readGate = gate()
    const c2 = rawClient(w.network, 'c2')
    await settle()
    c2.send(hello({ resume: { memento, seq: 0 } })) // the session has the topic: its resume reads it
    await settle()
    headGate.open()
    await settle()
    readGate.open()
    await settle()
    expect(c2.frames[0]?.type).toBe('welcome')
    const lastSeq = store.headNow('t:room').lastSeq
    const seqs = c2.frames.filter((frame) => frame.topic === 'room' && typeof frame.seq === 'number')
    expect(seqs.map((frame) => frame.seq)).toEqual(Array.from({ length: lastSeq }, (_, i) => i + 1))
  })

  it('LL-EPOCH-3: a join cursor of another incarnation, or without one, never recovers', async () => {
    const store = new MemoryStore(new SimulatedClock())
    const w = await world({ store })
    for (let i = 0; i < 3; i++) await w.server.publish('room', i)
    const { epoch } = await store.head('t:room')
    const joins = [
      { from: 1, epoch, recovered: true },
      { from: 1, epoch: 'another', recovered: false },
      { from: 1, recovered: false },
    ]
    for (const [i, join] of joins.entries()) {
      const c = rawClient(w.network, `c${i}`)
      await settle()
      await open(c)
      const frame = {
        type: 'join',
        topic: 'room',
        from: join.from,
        ...(join.epoch ? { epoch: join.epoch } : {}),
      }
      const { lastSeq } = await store.head('t:room')
      c.send(frame)
      await settle()
      expect(c.last('joined'), JSON.stringify(frame)).toMatchObject({
        seq: join.recovered ? join.from : lastSeq,
        epoch,
        recovered: join.recovered,
      })
    }
  })

  it('LL-EPOCH-4: a stream started again under a subscribed session closes with 4100, and the resume reports it lost', async () => {
    const store = new MemoryStore(new SimulatedClock())
    const w = await world({ store })
    const c = rawClient(w.network, 'c')
    await settle()
    const { memento } = await open(c)
    c.send({ type: 'join', topic: 'room' })
    await settle()
    const first = c.last('joined')?.epoch
    await store.dropStream('t:room') // the log is made again: a new incarnation
    await w.server.publish('room', 'of the new incarnation')
    await settle()
    expect(c.last('bye')).toMatchObject({ code: CloseCode.INTERNAL_ERROR, reconnect: true })
    expect(c.frames.filter((f) => f.type === 'msg')).toEqual([])
    const head = await store.head('t:room')
    expect(head.epoch).not.toBe(first)
    const r = rawClient(w.network, 'r')
    await settle()
    r.send(hello({ resume: { memento, seq: 0, topics: { room: 1 }, epochs: { room: first } } }))
    await settle()
    expect(r.last('welcome')?.lost).toEqual({ topics: { room: { seq: head.lastSeq, epoch: head.epoch } } })
  })
})
