import { CloseCode } from '@lifeline/protocol'
import { describe, expect, it } from 'vitest'
import { PublicError } from '../src/index.js'
import { MemoryBus, MemoryStore, type SessionStore } from '../src/server.js'
import { SimulatedClock } from '../src/testing.js'
import { hello, rawClient, settle, world } from './helpers.js'

async function open(w: Awaited<ReturnType<typeof world>>, id: string, extra: Record<string, unknown> = {}) {
  const c = rawClient(w.network, id)
  await settle()
  c.send(hello(extra))
  await settle()
  return c
}

describe('client sends on the server', () => {
  it('LL-SEND-2, LL-SEND-4: async handlers run one at a time, in order, acked after they finish', async () => {
    const order: string[] = []
    const releases: Array<() => void> = []
    const w = await world({
      onMessage: (m) =>
        new Promise<void>((resolve) => {
          order.push(`start ${m.data}`)
          releases.push(() => {
            order.push(`end ${m.data}`)
            resolve()
          })
        }),
    })
    const c = await open(w, 'c')
    for (let seq = 1; seq <= 3; seq++) c.send({ type: 'send', seq, id: `c.${seq}`, data: seq })
    await settle()
    expect(order).toEqual(['start 1'])
    expect(c.last('ack')).toBeUndefined()
    releases.shift()?.()
    await settle()
    expect(c.last('ack')).toMatchObject({ seq: 1 })
    releases.shift()?.()
    await settle()
    releases.shift()?.()
    await settle()
    expect(order).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3'])
    expect(c.last('ack')).toMatchObject({ seq: 3 })
  })

  it('LL-SEND-2: a seq sent twice on one connection is no resend: refused, and not processed again', async () => {
    const seen: unknown[] = []
    const w = await world({ onMessage: (m) => void seen.push(m.data) })
    const c = await open(w, 'c')
    c.send({ type: 'send', seq: 1, id: 'c.1', data: 'a' })
    await settle()
    c.frames.length = 0
    c.send({ type: 'send', seq: 1, id: 'c.1', data: 'a' })
    await settle()
    expect(seen).toEqual(['a'])
    expect(c.last('bye')).toMatchObject({ code: CloseCode.PROTOCOL_ERROR })
    expect(c.last('ack')).toBeUndefined()
  })

  it('LL-SEND-5: a rejection is reported with ref, then acked as processed', async () => {
    const w = await world({
      onMessage: (m) => {
        if (m.data === 'no') throw new PublicError('not allowed')
      },
    })
    const c = await open(w, 'c')
    c.send({ type: 'send', seq: 1, id: 'c.1', data: 'no' })
    c.send({ type: 'send', seq: 2, id: 'c.2', data: 'yes' })
    await settle()
    expect(c.last('error')).toMatchObject({ code: CloseCode.REJECTED, reason: 'not allowed', ref: 1 })
    expect(c.last('ack')).toMatchObject({ seq: 2 })
  })

  it('LL-SEND-3: an id seen from the subject in another session is not processed again', async () => {
    const seen: unknown[] = []
    const w = await world({ onMessage: (m) => void seen.push(m.data) })
    const a = await open(w, 'a')
    a.send({ type: 'send', seq: 1, id: 'same-id', data: 'first' })
    await settle()
    const b = await open(w, 'b')
    b.send({ type: 'send', seq: 1, id: 'same-id', data: 'again' })
    await settle()
    expect(seen).toEqual(['first'])
    expect(b.last('ack')).toMatchObject({ seq: 1 })
  })

  it('LL-SEND-3: an asynchronous store is awaited in order, and its failure rejects the message', async () => {
    const clock = new SimulatedClock()
    const memory = new MemoryStore(clock)
    let fail = false
    const store: SessionStore = Object.assign(Object.create(memory) as MemoryStore, {
      seenMessageId: async (subject: string, id: string) => {
        if (fail) throw new Error('store down')
        return memory.seenMessageId(subject, id)
      },
    })
    const seen: unknown[] = []
    const errors: string[] = []
    const w = await world({ store, bus: new MemoryBus(), onMessage: (m) => void seen.push(m.data) })
    w.server.on('error', (error) => errors.push(error.message))
    const c = await open(w, 'c')
    c.send({ type: 'send', seq: 1, id: 'c.1', data: 1 })
    c.send({ type: 'send', seq: 2, id: 'c.2', data: 2 })
    await settle()
    expect(seen).toEqual([1, 2])
    fail = true
    c.send({ type: 'send', seq: 3, id: 'c.3', data: 3 })
    await settle()
    expect(c.last('error')).toMatchObject({ code: CloseCode.REJECTED, ref: 3 })
    expect(errors).toEqual(['store down'])
  })
})

describe('topics on the server', () => {
  it('LL-TOPIC-8: joins beyond maxTopics fail with 4302; others keep working', async () => {
    const w = await world({ maxTopics: 1 })
    const c = await open(w, 'c')
    c.send({ type: 'join', topic: 'a' })
    c.send({ type: 'join', topic: 'b' })
    await settle()
    expect(c.last('joined')).toMatchObject({ topic: 'a' })
    expect(c.last('join_error')).toMatchObject({ topic: 'b', code: CloseCode.TOO_MANY_TOPICS })
  })

  it('LL-TOPIC-1, LL-TOPIC-8: a refused join is 4301, a failing hook 4303', async () => {
    const w = await world({
      onJoin: (topic) => {
        if (topic === 'boom') throw new PublicError('hook failed')
        return topic !== 'secret'
      },
    })
    const c = await open(w, 'c')
    for (const topic of ['secret', 'boom', 'fine']) c.send({ type: 'join', topic })
    await settle()
    // Joins are answered as each is decided; the protocol promises no order between topics.
    const rank = (topic: unknown) => ['secret', 'boom', 'fine'].indexOf(String(topic))
    const results = c.frames
      .filter((f) => f.type === 'joined' || f.type === 'join_error')
      .sort((a, b) => rank(a.topic) - rank(b.topic))
    expect(results).toEqual([
      { type: 'join_error', topic: 'secret', code: CloseCode.JOIN_DENIED, reason: 'join denied' },
      { type: 'join_error', topic: 'boom', code: CloseCode.JOIN_FAILED, reason: 'hook failed' },
      { type: 'joined', topic: 'fine', seq: 0, epoch: expect.any(String), members: [] },
    ])
  })

  it('LL-TOPIC-3: a second join answers joined again without presence', async () => {
    const w = await world()
    const c = await open(w, 'c')
    c.send({ type: 'join', topic: 't' })
    await settle()
    c.send({ type: 'join', topic: 't' })
    await settle()
    expect(c.frames.filter((f) => f.type === 'joined')).toHaveLength(2)
    expect(c.frames.filter((f) => f.type === 'presence')).toHaveLength(1)
  })

  it('LL-TOPIC-2: join.from above the last seq is not covered and the cursor is the last seq', async () => {
    const w = await world()
    await w.server.publish('t', 1)
    const c = await open(w, 'c')
    c.send({ type: 'join', topic: 't', from: 50 })
    await settle()
    expect(c.last('joined')).toMatchObject({ seq: 1, recovered: false })
  })

  it('LL-SEQ-4: publish can skip one session (the sender), which sees a gap, not a loss', async () => {
    const w = await world()
    const a = await open(w, 'a')
    const b = await open(w, 'b')
    for (const c of [a, b]) c.send({ type: 'join', topic: 't' })
    await settle()
    const sid = a.last('welcome')?.sid as string
    await w.server.publish('t', 'not for a', { except: sid })
    await w.server.publish('t', 'for all')
    await settle()
    expect(a.frames.filter((f) => f.type === 'msg').map((f) => f.data)).toEqual(['for all'])
    expect(b.frames.filter((f) => f.type === 'msg').map((f) => f.data)).toEqual(['not for a', 'for all'])
  })

  it('LL-TOPIC-7: remove sends unjoined 4304 and left to the others', async () => {
    const w = await world()
    const a = await open(w, 'a')
    const b = await open(w, 'b')
    for (const c of [a, b]) c.send({ type: 'join', topic: 't' })
    await settle()
    const sid = a.last('welcome')?.sid as string
    expect(await w.server.remove(sid, 't')).toBe(true)
    expect(await w.server.remove(sid, 't')).toBe(false)
    expect(await w.server.remove('s_nobody', 't')).toBe(false)
    await settle()
    expect(a.last('unjoined')).toMatchObject({ topic: 't', code: CloseCode.REMOVED })
    expect(b.last('presence')).toMatchObject({ sid, event: 'left' })
  })
})

describe('server API and limits', () => {
  it('LL-LIMIT-3: a slow consumer is closed with 4202', async () => {
    const w = await world({ maxBufferedBytes: 1000 })
    const c = await open(w, 'c')
    const sid = c.last('welcome')?.sid as string
    // The fake transport reports no buffer; patch the live connection to report a large one.
    const bufferedBytes = () => 5000
    const [connection] = [
      ...(w.server as unknown as { core: { connections: Set<{ transport: object }> } }).core.connections,
    ]
    Object.assign(connection?.transport ?? {}, { bufferedBytes })
    await w.server.send(sid, 'x')
    await settle()
    expect(c.last('bye')).toMatchObject({ code: CloseCode.SLOW_CONSUMER, reconnect: true })
    expect(w.server.stats.away).toBe(1)
  })

  it('LL-INTENT-2: kick ends the session at once; unknown sessions are reported', async () => {
    const w = await world()
    const ends: string[] = []
    w.server.on('end', (event) => ends.push(event.reason))
    const c = await open(w, 'c')
    const sid = c.last('welcome')?.sid as string
    expect(await w.server.kick('s_nobody')).toBe(false)
    expect(await w.server.kick(sid, 'spam')).toBe(true)
    await settle()
    expect(c.last('bye')).toMatchObject({ code: CloseCode.KICKED, reason: 'spam', reconnect: false })
    expect(ends).toEqual(['kick'])
    expect(w.server.stats.sessions).toBe(0)
    await expect(w.server.send(sid, 'x')).rejects.toThrow(/no session/)
  })

  it('LL-INTENT-3: shutdown tells every client to go away with the advised pacing, and refuses new ones', async () => {
    const w = await world()
    const c = await open(w, 'c')
    await w.server.shutdown({ retryAfterMs: 1500, jitterMs: 3000 })
    await settle()
    expect(c.last('bye')).toMatchObject({ code: CloseCode.GOING_AWAY, retryAfterMs: 1500, jitterMs: 3000 })
    expect(w.clock.pendingTimers).toBe(0)
  })

  it('LL-LIMIT-4: thousands of connect and close cycles leave no session, stream, timer or listener', async () => {
    const w = await world({ graceMs: 1000 })
    const store = (w.server as unknown as { core: { options: { store: MemoryStore; bus: MemoryBus } } }).core
      .options
    for (let i = 0; i < 2000; i++) {
      const c = await open(w, `c${i % 10}`)
      c.send({ type: 'join', topic: `t${i % 3}` })
      c.send({ type: 'send', seq: 1, id: `m.${i}`, data: i })
      await settle()
      if (i % 2 === 0) c.send({ type: 'bye' })
      else c.close()
      await settle()
      if (i % 100 === 0) await w.advance(1001)
    }
    await w.advance(1001)
    expect(w.server.stats).toEqual({
      sessions: 0,
      connected: 0,
      away: 0,
      connections: 0,
      topics: 0,
      pendingSends: 0,
    })
    expect(store.store.stats.sessions).toBe(0)
    expect(store.store.stats.streams).toBe(0) // LL-LIMIT-9: topic logs go with their last session
    expect(store.bus.subscriptions).toBe(0)
    expect(w.clock.pendingTimers).toBe(0)
  })
})

describe('outbound limits', () => {
  it('LL-LIMIT-1: a message larger than maxFrameBytes is refused at publish, before any log', async () => {
    const w = await world({ maxFrameBytes: 4096 })
    const c = await open(w, 'c')
    const sid = c.last('welcome')?.sid as string
    await expect(w.server.publish('t', 'x'.repeat(5000))).rejects.toThrow(/exceeds/)
    await expect(w.server.send(sid, 'é'.repeat(2100))).rejects.toThrow(/exceeds/)
    expect(await w.server.publish('t', 'small')).toBe(1)
  })
})

describe('presence for the app', () => {
  it('LL-PRESENCE-1, LL-PRESENCE-3: members(topic) follows joins, drops and leaves', async () => {
    const w = await world({
      authenticate: (auth) => ({ subject: String(auth), meta: { name: String(auth) } }),
    })
    const a = await open(w, 'a', { auth: 'ann' })
    const b = await open(w, 'b', { auth: 'bob' })
    for (const c of [a, b]) c.send({ type: 'join', topic: 't' })
    await settle()
    const sidA = a.last('welcome')?.sid
    const sidB = b.last('welcome')?.sid
    expect(w.server.members('t')).toEqual([
      { sid: sidA, state: 'online', meta: { name: 'ann' } },
      { sid: sidB, state: 'online', meta: { name: 'bob' } },
    ])
    a.close()
    await settle()
    expect(w.server.members('t')).toContainEqual({ sid: sidA, state: 'away', meta: { name: 'ann' } })
    b.send({ type: 'leave', topic: 't' })
    await settle()
    expect(w.server.members('t').map((m) => m.sid)).toEqual([sidA])
    expect(w.server.members('nowhere')).toEqual([])
  })
})
