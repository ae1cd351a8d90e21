/** The JetStream store and bus against a real nats-server with JetStream, two "nodes" sharing it. */
import type { SessionRecord, StreamEntry } from '@lifeline/core/server'
import { type NatsServer, startNatsServer, waitFor } from '@lifeline/testkit'
import { connect } from '@nats-io/transport-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createJetStream, type JetStream } from '../src/jetstream.js'
import { onCleanup } from './helpers.js'

let nats: NatsServer
beforeAll(async () => {
  nats = await startNatsServer()
})
afterAll(() => nats.stop())

let names = 0
/** Two nodes on one deployment (same name), each with its own NATS connection. */
async function nodes(options: Parameters<typeof createJetStream>[1] = {}): Promise<[JetStream, JetStream]> {
  const name = `T${++names}${Math.random().toString(36).slice(2, 6)}`
  const make = async () => {
    const nc = await connect({ servers: nats.url })
    const js = await createJetStream(nc, { name, directStreamMaxBytes: 8 * 1024 * 1024, ...options })
    onCleanup(async () => {
      await js.bus.close()
      await js.store.close()
      await nc.close()
    })
    return js
  }
  return [await make(), await make()]
}

const msg = (data: unknown, except?: string) => (seq: number) => {
  const frame = { type: 'msg' as const, seq, topic: 'room', data }
  return except === undefined
    ? { frame, text: JSON.stringify(frame) }
    : { frame, text: JSON.stringify(frame), except }
}
const direct = (data: unknown) => (seq: number) => {
  const frame = { type: 'msg' as const, seq, data }
  return { frame, text: JSON.stringify(frame) }
}

const record = (sid: string, term = 1, version = 1): SessionRecord => ({
  sid,
  node: `n${term}`,
  term,
  version,
  subject: 'alice',
  meta: { name: 'Alice' },
  generation: 2,
  proven: 2,
  processedSeq: 7,
  receivedSeq: 7,
  directAcked: 3,
  topics: { room: { seq: 5, epoch: 'e1' } },
  appMemento: 'am',
  expiresAt: undefined,
})

describe('JetStreamStore', () => {
  it('LL-NODE-2, LL-NODE-4: session records seen by every node; an older term never hides a newer one; tombstones', async () => {
    const [a, b] = await nodes()
    await a.store.putSession(record('s_1'))
    expect(await b.store.getSession('s_1')).toEqual(record('s_1'))
    await a.store.putSession(record('s_1', 1, 2))
    await b.store.putSession(record('s_1', 2, 1))
    // The node that held term 1 writes late: the reader still takes term 2's record.
    await a.store.putSession(record('s_1', 1, 3))
    expect(await a.store.getSession('s_1')).toEqual(record('s_1', 2, 1))
    await b.store.putSession({ ...record('s_1', 3, 1), ended: 'kicked', expiresAt: undefined })
    expect(await a.store.getSession('s_1')).toMatchObject({ term: 3, ended: 'kicked' })
    expect(await a.store.getSession('never')).toBeUndefined()
  })

  it('LL-NODE-7: topic members of every node, removed when they leave', async () => {
    const [a, b] = await nodes()
    await a.store.setMember('t:room', 's_a', { sid: 's_a', state: 'online', meta: { n: 1 } })
    await b.store.setMember('t:room', 's_b', { sid: 's_b', state: 'away' })
    await b.store.setMember('t:other', 's_c', { sid: 's_c', state: 'online' })
    const sorted = async (js: JetStream) =>
      [...(await js.store.members('t:room'))].sort((x, y) => x.sid.localeCompare(y.sid))
    expect(await sorted(b)).toEqual([
      { sid: 's_a', state: 'online', meta: { n: 1 } },
      { sid: 's_b', state: 'away' },
    ])
    await a.store.setMember('t:room', 's_b', { sid: 's_b', state: 'online' })
    await b.store.setMember('t:room', 's_a', undefined)
    expect(await sorted(a)).toEqual([{ sid: 's_b', state: 'online' }])
    expect(await a.store.members('t:nobody')).toEqual([])
  })

  it('LL-SEQ-1: two nodes appending to one topic at once get seqs 1..n, each once, in stream order', async () => {
    const [a, b] = await nodes()
    const appends = Array.from({ length: 100 }, (_, i) =>
      (i % 2 === 0 ? a : b).store.append('t:room', msg(i)),
    )
    const entries = await Promise.all(appends)
    expect(entries.map((e) => e.seq).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 100 }, (_, i) => i + 1),
    )
    for (const entry of entries) {
      expect(entry.frame.seq).toBe(entry.seq)
      expect(JSON.parse(entry.text)).toEqual(entry.frame)
    }
    const read = await b.store.read('t:room', 0, 1000)
    expect(read).toMatchObject({ covered: true, lastSeq: 100 })
    expect(read.entries.map((e) => e.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1))
    expect((await a.store.head('t:room')).lastSeq).toBe(100)
    const page = await a.store.read('t:room', 40, 10)
    expect(page.entries.map((e) => e.seq)).toEqual([41, 42, 43, 44, 45, 46, 47, 48, 49, 50])
  })

  it('LL-REPLAY-3: a topic log bounded by count says when it no longer covers a cursor; seqs never go back', async () => {
    const [a] = await nodes({ topicLog: { maxEntries: 5 } })
    for (let i = 1; i <= 12; i++) await a.store.append('t:small', msg(i, i === 12 ? 's_x' : undefined))
    expect(await a.store.read('t:small', 3, 100)).toMatchObject({ covered: false, entries: [], lastSeq: 12 })
    const kept = await a.store.read('t:small', 7, 100)
    expect(kept.covered).toBe(true)
    expect(kept.entries.map((e) => e.frame)).toEqual(
      [8, 9, 10, 11, 12].map((i) => ({ type: 'msg', seq: i, topic: 'room', data: i })),
    )
    expect(kept.entries[4]?.except).toBe('s_x')
    expect(await a.store.read('t:small', 12, 100)).toMatchObject({ covered: true, entries: [], lastSeq: 12 })
    expect(await a.store.read('t:unknown', 0, 100)).toMatchObject({ covered: true, entries: [], lastSeq: 0 })
    expect(await a.store.read('t:unknown', 4, 100)).toMatchObject({ covered: false, lastSeq: 0 })
  })

  it('LL-ACK-4: a direct stream trimmed by acks keeps its seq, also for another node taking over', async () => {
    const [a, b] = await nodes()
    for (let i = 1; i <= 6; i++) expect((await a.store.append('d:s_2', direct(i))).seq).toBe(i)
    await a.store.trim('d:s_2', 6)
    expect(await a.store.read('d:s_2', 6, 100)).toMatchObject({ covered: true, entries: [], lastSeq: 6 })
    expect(await a.store.read('d:s_2', 2, 100)).toMatchObject({ covered: false })
    // Another node takes the session over: it continues the numbering from the store.
    expect((await b.store.head('d:s_2')).lastSeq).toBe(6)
    expect((await b.store.append('d:s_2', direct(7))).seq).toBe(7)
    const read = await b.store.read('d:s_2', 6, 100)
    expect(read).toMatchObject({ covered: true, lastSeq: 7 })
    expect(read.entries.map((e) => e.frame)).toEqual([{ type: 'msg', seq: 7, data: 7 }])
    await b.store.dropStream('d:s_2')
    expect(await b.store.read('d:s_2', 0, 100)).toMatchObject({ entries: [], lastSeq: 0 })
  })

  it('LL-NODE-8: an append with an id another node already appended answers the first entry', async () => {
    const [a, b] = await nodes()
    const first = await a.store.append('t:ids', msg('one'), { id: 'alice\u0000m1' })
    const again = await b.store.append('t:ids', msg('one'), { id: 'alice\u0000m1' })
    const other = await b.store.append('t:ids', msg('two'), { id: 'alice\u0000m2' })
    expect([first.seq, again.seq, other.seq]).toEqual([1, 1, 2])
    expect((await a.store.read('t:ids', 0, 10)).entries.map((e) => e.frame)).toEqual([
      { type: 'msg', seq: 1, topic: 'room', data: 'one' },
      { type: 'msg', seq: 2, topic: 'room', data: 'two' },
    ])
  })

  it('LL-SEND-3, LL-NODE-8: a message id recorded as processed is seen by every node, per subject', async () => {
    const [a, b] = await nodes()
    expect(await b.store.seenMessageId('alice', 'm1')).toBe(false)
    await a.store.recordMessageId('alice', 'm1')
    expect(await b.store.seenMessageId('alice', 'm1')).toBe(true)
    expect(await b.store.seenMessageId('bob', 'm1')).toBe(false)
    expect(await a.store.seenMessageId('alice', 'm2')).toBe(false)
  })
})

describe('JetStreamBus', () => {
  it('carries a topic to every node in seq order, whoever appended, none twice', async () => {
    const [a, b] = await nodes()
    const onA: StreamEntry[] = []
    const onB: StreamEntry[] = []
    a.bus.subscribe('t:chat', (e) => onA.push(e))
    b.bus.subscribe('t:chat', (e) => onB.push(e))
    const entries = await Promise.all(
      Array.from({ length: 60 }, (_, i) => (i % 3 === 0 ? a : b).store.append('t:chat', msg(i))),
    )
    for (const entry of entries) (entry.seq % 2 === 0 ? a : b).bus.publish('t:chat', entry)
    await waitFor(() => onA.length === 60 && onB.length === 60, { what: 'every entry on both nodes' })
    const seqs = Array.from({ length: 60 }, (_, i) => i + 1)
    expect(onA.map((e) => e.seq)).toEqual(seqs)
    expect(onB.map((e) => e.seq)).toEqual(seqs)
    expect(onB.map((e) => e.text)).toEqual(entries.sort((x, y) => x.seq - y.seq).map((e) => e.text))
  })

  it('carries a direct stream from its writer to a listener on another node, and locally at once', async () => {
    const [a, b] = await nodes()
    const local: number[] = []
    const remote: number[] = []
    a.bus.subscribe('d:s_3', (e) => local.push(e.seq))
    b.bus.subscribe('d:s_3', (e) => remote.push(e.seq))
    await new Promise((resolve) => setTimeout(resolve, 50))
    for (let i = 1; i <= 20; i++) a.bus.publish('d:s_3', await a.store.append('d:s_3', direct(i)))
    expect(local).toHaveLength(20)
    await waitFor(() => remote.length === 20, { what: 'the remote node' })
    expect(remote).toEqual(local)
  })
})
