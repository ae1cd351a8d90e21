import { CloseCode } from '@lifeline/protocol'
import { describe, expect, it } from 'vitest'
import { createClient, inertEnvironment } from '../src/index.js'
import { createServer } from '../src/server.js'
import { FakeNetwork, SimulatedClock } from '../src/testing.js'
import { hello, rawClient, settle, world } from './helpers.js'

type W = Awaited<ReturnType<typeof world>>

async function open(w: W, id: string, extra: Record<string, unknown> = {}) {
  const c = rawClient(w.network, id)
  await settle()
  c.send(hello(extra))
  await settle()
  return c
}

describe('rules checked on the server', () => {
  it('LL-HELLO-2: hello is answered by exactly one welcome, and nothing comes before it', async () => {
    const w = await world()
    const c = await open(w, 'c')
    expect(c.frames.map((f) => f.type)).toEqual(['welcome'])
  })

  it('LL-AUTH-3, LL-AUTH-1: credentials travel in hello.auth and reach authenticate on every hello', async () => {
    const seen: unknown[] = []
    const w = await world({
      authenticate: (auth, context) => {
        seen.push({ auth, resuming: context.resuming, attempt: context.attempt })
        return { subject: 'a' }
      },
    })
    const c = await open(w, 'c', { auth: { token: 't1' } })
    const memento = c.last('welcome')?.memento
    const again = await open(w, 'd', { auth: { token: 't2' }, attempt: 3, resume: { memento, seq: 0 } })
    expect(again.last('welcome')?.resumed).toBe(true)
    expect(seen).toEqual([
      { auth: { token: 't1' }, resuming: false, attempt: 0 },
      { auth: { token: 't2' }, resuming: true, attempt: 3 },
    ])
  })

  it('LL-MEMENTO-5, LL-RESUME-2: every resume rotates the memento; the previous one works until the new one is used', async () => {
    const w = await world()
    const a = await open(w, 'a')
    const m1 = a.last('welcome')?.memento
    const b = await open(w, 'b', { resume: { memento: m1, seq: 0 } })
    const m2 = b.last('welcome')?.memento
    expect(b.last('welcome')).toMatchObject({ resumed: true, sid: a.last('welcome')?.sid })
    expect(m2).not.toBe(m1)
    // The welcome to b was "lost": b never spoke, so m1 still resumes.
    const c = await open(w, 'c', { resume: { memento: m1, seq: 0 } })
    const m3 = c.last('welcome')?.memento
    expect(c.last('welcome')?.resumed).toBe(true)
    c.send({ type: 'ping' }) // proves c holds m3: every earlier memento is now refused
    await settle()
    for (const old of [m1, m2]) {
      const late = await open(w, `late-${String(old).slice(-4)}`, { resume: { memento: old, seq: 0 } })
      expect(late.last('welcome')).toMatchObject({ resumed: false, reason: 'invalid' })
    }
    const d = await open(w, 'd', { resume: { memento: m3, seq: 0 } })
    expect(d.last('welcome')?.resumed).toBe(true)
  })

  it('LL-ACK-3: an ack above what was sent is capped, one below the current ack is ignored', async () => {
    const w = await world()
    const c = await open(w, 'c')
    const sid = c.last('welcome')?.sid as string
    for (let i = 1; i <= 5; i++) await w.server.send(sid, i)
    await settle()
    c.send({ type: 'ack', seq: 99 }) // capped to 5
    c.send({ type: 'ack', seq: 2 }) // ignored
    await settle()
    c.close()
    await settle()
    for (let i = 6; i <= 7; i++) await w.server.send(sid, i)
    const r = await open(w, 'r', { resume: { memento: c.last('welcome')?.memento, seq: 0 } })
    expect(r.frames.filter((f) => f.type === 'msg').map((f) => f.data)).toEqual([6, 7])
  })

  it('LL-SEQ-2, LL-REPLAY-1, LL-REPLAY-2: entries published during a resume follow the replay, none lost or repeated', async () => {
    const w = await world()
    const c = await open(w, 'c')
    const sid = c.last('welcome')?.sid as string
    c.send({ type: 'join', topic: 't' })
    await settle()
    c.close()
    await settle()
    for (let i = 1; i <= 3; i++) await w.server.publish('t', `before ${i}`)
    const r = rawClient(w.network, 'r')
    await settle()
    r.send(hello({ resume: { memento: c.last('welcome')?.memento, seq: 0, topics: { t: 1 } } }))
    // Published while the resume's replay is being read.
    void w.server.publish('t', 'during')
    await settle()
    await w.server.publish('t', 'after')
    await w.server.send(sid, 'direct')
    await settle()
    const entries = r.frames
      .filter((f) => f.type === 'msg' || f.type === 'presence')
      .filter((f) => f.topic === 't')
    const seqs = entries.map((f) => f.seq as number)
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
    expect(new Set(seqs).size).toBe(seqs.length)
    expect(entries.filter((f) => f.type === 'msg').map((f) => f.data)).toEqual([
      'before 1',
      'before 2',
      'before 3',
      'during',
      'after',
    ])
  })

  it('LL-PRESENCE-2: presence entries are sequenced in the topic stream and replayed like messages', async () => {
    const w = await world()
    const a = await open(w, 'a')
    a.send({ type: 'join', topic: 't' })
    await settle()
    const b = await open(w, 'b')
    b.send({ type: 'join', topic: 't' })
    await settle()
    b.close()
    await settle()
    await w.server.publish('t', 'x')
    const r = await open(w, 'r', {
      resume: { memento: b.last('welcome')?.memento, seq: 0, topics: { t: 2 } },
    })
    const replay = r.frames
      .filter((f) => f.topic === 't')
      .map((f) => `${f.type}:${f.seq}:${f.event ?? f.data}`)
    expect(replay).toEqual(['presence:3:away', 'msg:4:x', 'presence:5:reconnected'])
  })

  it('LL-BEAT-1, LL-BEAT-2: an idle server pings; a ping is answered with a pong of the same id', async () => {
    const w = await world({ heartbeatMs: 1000, heartbeatTimeoutMs: 500 })
    const c = await open(w, 'c')
    c.send({ type: 'ping', id: 42 })
    await settle()
    expect(c.last('pong')).toEqual({ type: 'pong', id: 42 })
    await w.advance(1000)
    expect(c.last('ping')).toMatchObject({ type: 'ping' })
  })

  it('LL-BEAT-3, LL-INTENT-5: silence past heartbeat + timeout closes with bye 4201 first', async () => {
    const w = await world({ heartbeatMs: 1000, heartbeatTimeoutMs: 500 })
    const c = await open(w, 'c')
    await w.advance(1499)
    expect(c.closed).toBeUndefined()
    await w.advance(1)
    expect(c.last('bye')).toMatchObject({ code: CloseCode.HEARTBEAT_TIMEOUT, reconnect: true })
    expect(c.closed?.code).toBe(CloseCode.HEARTBEAT_TIMEOUT)
    expect(w.server.stats.away).toBe(1)
  })

  it('LL-RESUME-10: a session started over one transport resumes over another', async () => {
    const clock = new SimulatedClock()
    const text = new FakeNetwork(clock, { encoding: 'text' })
    const objects = new FakeNetwork(clock, { encoding: 'object' })
    const server = createServer({ secret: 'x'.repeat(32), clock })
    await server.attach(text.serverTransport())
    await server.attach(objects.serverTransport())
    const storage = { saved: undefined as unknown }
    const make = (network: FakeNetwork) =>
      createClient({
        transport: network.client('c'),
        clock,
        environment: inertEnvironment,
        storage: {
          load: () => storage.saved as undefined,
          save: (session) => {
            storage.saved = session
          },
          clear: () => {},
        },
      })
    const first = make(text)
    first.connect()
    await settle()
    const sid = first.sid
    await first.join('t')
    text.client('c').reset() // the page moves to another transport while the session is away
    await settle()
    await server.publish('t', 'missed')
    const second = make(objects)
    const received: unknown[] = []
    second.on('message', (m) => received.push(m.data))
    void second.join('t')
    second.connect()
    await settle()
    expect(second.status).toMatchObject({ type: 'open', sid, resumed: true, recovered: true })
    expect(received).toEqual(['missed'])
    first.close()
    second.close()
    await server.shutdown()
  })
})
