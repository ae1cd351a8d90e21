import { CloseCode } from '@lifeline/protocol'
import { describe, expect, it } from 'vitest'
import type { MemoryStore } from '../src/server.js'
import { hello, type RawClient, rawClient, settle, world } from './helpers.js'

type World = Awaited<ReturnType<typeof world>>

const storeOf = (w: World) =>
  (w.server as unknown as { core: { options: { store: MemoryStore } } }).core.options.store

async function open(w: World, id: string): Promise<RawClient> {
  const c = rawClient(w.network, id)
  await settle()
  c.send(hello())
  await settle()
  return c
}

/** Joins, from a cursor (with its incarnation, LL-EPOCH-3) when given one. */
async function joined(
  c: RawClient,
  topic: string,
  from?: { seq: number; epoch: unknown },
): Promise<Record<string, unknown>> {
  c.frames.length = 0
  c.send(
    from === undefined ? { type: 'join', topic } : { type: 'join', topic, from: from.seq, epoch: from.epoch },
  )
  await settle()
  const answer = c.frames.find((f) => (f.type === 'joined' || f.type === 'join_error') && f.topic === topic)
  if (answer === undefined) throw new Error(`no answer to the join of ${topic}`)
  return answer
}

describe('LL-LIMIT-9: a topic log lives while a session can still need it', () => {
  it('LL-LIMIT-9: joining and leaving 20,000 distinct topics leaves no live topic log, and a bounded pool of parked ones', async () => {
    const w = await world({ memory: { releasedTopics: { maxParked: 500 } } })
    const c = await open(w, 'c')
    let answered = 0
    w.network.tap = (_client, direction, payload) => {
      if (direction === 's2c' && String(payload).includes('"type":"joined"')) answered++
    }
    for (let i = 0; i < 20_000; i++) {
      c.send({ type: 'join', topic: `topic-${i}` })
      for (let m = 0; m < 20; m++) await Promise.resolve()
      c.send({ type: 'leave', topic: `topic-${i}` })
      if (i % 500 === 0) await settle()
    }
    await settle()
    expect(answered).toBe(20_000)
    expect(w.server.stats.topics).toBe(0)
    expect(storeOf(w).stats.streams).toBe(0)
    expect(storeOf(w).stats.parked).toBe(500)
  })

  it('LL-LIMIT-9: a session in grace keeps its topic log live; it is parked when the grace ends', async () => {
    const w = await world({ graceMs: 10_000 })
    const away = await open(w, 'away')
    await joined(away, 'room')
    w.network.client('away').reset()
    await settle()
    await w.server.publish('room', 'while away')
    expect(storeOf(w).stats.streams).toBe(1)
    await w.advance(10_001)
    expect(w.server.stats.sessions).toBe(0)
    expect(storeOf(w).stats).toMatchObject({ streams: 0, parked: 1 })
  })

  it('LL-TOPIC-2, LL-LIMIT-9: a parked log still covers a rejoin from a cursor', async () => {
    const w = await world()
    const a = await open(w, 'a')
    const { epoch } = await joined(a, 'room')
    await w.server.publish('room', 'one')
    await settle()
    const cursor = { seq: (a.last('msg') as { seq: number }).seq, epoch }
    a.send({ type: 'leave', topic: 'room' })
    await settle()
    await w.server.publish('room', 'while nobody is in')
    expect(storeOf(w).stats).toMatchObject({ streams: 0, parked: 1 })
    const again = await joined(a, 'room', cursor)
    expect(again.recovered).toBe(true)
    expect(a.frames.filter((f) => f.type === 'msg').map((f) => f.data)).toEqual(['while nobody is in'])
  })

  it('LL-LIMIT-9: parked logs are bounded by count and bytes, oldest first', async () => {
    const w = await world({ memory: { releasedTopics: { maxParked: 3, maxParkedBytes: 8192 } } })
    const a = await open(w, 'a')
    for (const topic of ['t1', 't2', 't3', 't4']) {
      await joined(a, topic)
      a.send({ type: 'leave', topic })
      await settle()
    }
    expect(storeOf(w).stats.parked).toBe(3)
    // Each holds about 5 KB (LL-LIMIT-10): the second one pushes the oldest out, the new one's included.
    await w.server.publish('t4', 'x'.repeat(2500))
    expect(storeOf(w).stats.parked).toBe(3)
    await w.server.publish('t3', 'x'.repeat(2500))
    expect(storeOf(w).stats.parked).toBe(1)
    expect(storeOf(w).stats.streams).toBe(0)
  })

  it('LL-EPOCH-3, LL-LIMIT-9: a topic whose log was dropped comes back as a new incarnation: a cursor from before is not covered, never a gap', async () => {
    const w = await world({ memory: { releasedTopics: { maxParked: 0 } } })
    const a = await open(w, 'a')
    const { epoch } = await joined(a, 'room')
    await w.server.publish('room', 'one')
    await settle()
    const cursor = { seq: (a.last('msg') as { seq: number }).seq, epoch }
    a.send({ type: 'leave', topic: 'room' })
    await settle()
    expect(storeOf(w).stats).toMatchObject({ streams: 0, parked: 0 })
    // Others fill the topic's new incarnation past the old cursor: it must not look covered.
    const b = await open(w, 'b')
    await joined(b, 'room')
    for (let i = 0; i < 5; i++) await w.server.publish('room', `new ${i}`)
    const rejoin = await joined(a, 'room', cursor)
    expect(rejoin.epoch).not.toBe(epoch)
    expect(rejoin.recovered).toBe(false)
    expect(a.frames.filter((f) => f.type === 'msg')).toEqual([])
  })

  it('LL-LIMIT-9: the number of live topics is bounded: beyond it a join is refused with 4101 OVERLOADED', async () => {
    const w = await world({ maxLiveTopics: 3 })
    const a = await open(w, 'a')
    const b = await open(w, 'b')
    for (const topic of ['t1', 't2', 't3']) expect((await joined(a, topic)).type).toBe('joined')
    expect(await joined(b, 't4')).toMatchObject({ type: 'join_error', code: CloseCode.OVERLOADED })
    expect((await joined(b, 't2')).type).toBe('joined') // an existing topic is still joinable
    expect(w.server.stats.topics).toBe(3)
    a.send({ type: 'leave', topic: 't1' })
    await settle()
    expect((await joined(b, 't4')).type).toBe('joined')
  })
})

describe('LL-TOPIC-4: frames of one connection take effect in order', () => {
  it('LL-TOPIC-4: a leave sent right after a join, while the join is decided, leaves the session out of the topic', async () => {
    const w = await world({ onJoin: async () => true })
    const c = await open(w, 'c')
    c.send({ type: 'join', topic: 'room' })
    c.send({ type: 'leave', topic: 'room' })
    await settle()
    expect(w.server.stats.topics).toBe(0)
    expect(c.last('unjoined')).toMatchObject({ topic: 'room' })
    expect(c.frames.filter((f) => f.type === 'joined')).toEqual([])
    // And joining again afterwards works.
    expect((await joined(c, 'room')).type).toBe('joined')
  })
})
