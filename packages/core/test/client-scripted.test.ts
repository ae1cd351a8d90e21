/**
 * The client against a scripted server: the test plays the server frame by frame, so it can resume,
 * replay, repeat and misbehave exactly as each rule needs.
 */
import { ProtocolError, type Welcome } from '@lifeline/protocol'
import { describe, expect, it } from 'vitest'
import type { ClientOptions } from '../src/client/options.js'
import {
  type CloseInfo,
  createClient,
  type InboundMessage,
  type LifelineClient,
  memoryStorage,
  type PresenceChange,
  SendRejectedError,
  ServerClosedError,
  type ServerTransportConnection,
} from '../src/index.js'
import { FakeNetwork, SimulatedClock } from '../src/testing.js'
import { settle } from './helpers.js'

type Frame = { readonly type: string } & Readonly<Record<string, unknown>>

interface ScriptedLink {
  /** Frames the client sent on this link, batches split. */
  readonly frames: Frame[]
  closed: CloseInfo | undefined
  send(frame: object | string): void
  /** A server close, after an optional bye. */
  close(code: number, reason: string): void
  sent(type: string): Frame[]
}

const welcome = (overrides: Partial<Welcome> = {}): Welcome => ({
  type: 'welcome',
  version: 1,
  sid: 's_one',
  memento: 'm1',
  resumed: false,
  recovered: false,
  ackedSeq: 0,
  topics: [],
  heartbeatMs: 25_000,
  heartbeatTimeoutMs: 10_000,
  graceMs: 120_000,
  limits: { maxFrameBytes: 1024 * 1024, maxTopics: 100 },
  ...overrides,
})

/** A server played by the test: it answers pings, and hellos with `onHello` (default: a welcome). */
class ScriptedServer {
  readonly links: ScriptedLink[] = []
  onHello: (link: ScriptedLink, hello: Frame, index: number) => void = (link) => link.send(welcome())

  constructor(network: FakeNetwork) {
    void network.serverTransport().listen((connection: ServerTransportConnection) => {
      const frames: Frame[] = []
      const link: ScriptedLink = {
        frames,
        closed: undefined,
        send: (frame) => connection.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
        close: (code, reason) => connection.close(code, reason),
        sent: (type) => frames.filter((frame) => frame.type === type),
      }
      this.links.push(link)
      const index = this.links.length - 1
      return {
        message: (payload) => {
          const value: unknown = typeof payload === 'string' ? JSON.parse(payload) : payload
          for (const frame of (Array.isArray(value) ? value : [value]) as Frame[]) {
            frames.push(frame)
            if (frame.type === 'hello') this.onHello(link, frame, index)
            if (frame.type === 'ping') link.send({ type: 'pong', id: frame.id })
          }
        },
        close: (info) => {
          link.closed = info
        },
        protocolError: (reason) => {
          throw new Error(`the client broke the transport's rules: ${reason}`)
        },
      }
    })
  }

  get last(): ScriptedLink {
    const link = this.links[this.links.length - 1]
    if (link === undefined) throw new Error('no connection yet')
    return link
  }

  /** Every frame of a type the client sent, over all links. */
  sent(type: string): Frame[] {
    return this.links.flatMap((link) => link.sent(type))
  }

  /** Says bye and closes, as a server does (LL-INTENT-5). */
  bye(link: ScriptedLink, bye: Record<string, unknown> & { code: number; reason: string }): void {
    link.send({ type: 'bye', reconnect: true, ...bye })
    link.close(bye.code, bye.reason)
  }
}

function setup(options: Partial<ClientOptions> = {}) {
  const clock = new SimulatedClock()
  const network = new FakeNetwork(clock)
  const server = new ScriptedServer(network)
  const client: LifelineClient = createClient({
    transport: network.client('c1'),
    clock,
    random: () => 0.5,
    idPrefix: 'px',
    ...options,
  })
  const messages: InboundMessage[] = []
  const presence: PresenceChange[] = []
  const errors: Error[] = []
  client.on('message', (message) => messages.push(message))
  client.on('presence', (change) => presence.push(change))
  client.on('error', (error) => errors.push(error))
  const advance = async (ms: number) => {
    await settle()
    clock.advance(ms)
    await settle()
  }
  return { clock, network, server, client, messages, presence, errors, advance }
}

async function connected(options: Partial<ClientOptions> = {}) {
  const world = setup(options)
  world.client.connect()
  await settle()
  expect(world.client.status.type).toBe('open')
  return world
}

const msg = (seq: number, data: unknown, extra: Record<string, unknown> = {}) => ({
  type: 'msg',
  seq,
  data,
  ...extra,
})

describe('scripted server: protocol errors (LL-FRAME-3, LL-FRAME-4, LL-FRAME-6)', () => {
  const corrupt: Array<[string, string]> = [
    ['text that is not JSON', '{"type":"msg",'],
    ['an unknown frame type', '{"type":"surprise"}'],
    ['a msg without data', '{"type":"msg","seq":2}'],
    ['a msg with seq 0', '{"type":"msg","seq":0,"data":1}'],
    ['a JSON value that is not an object', '"hello"'],
    ['a batch holding an invalid frame', '[{"type":"pong"},{"type":"ack"}]'],
  ]

  for (const [name, payload] of corrupt) {
    it(`LL-FRAME-6: ${name} drops the link without a bye, emits error, and the client resumes at once`, async () => {
      const { server, client, messages, errors, advance } = await connected()
      const first = server.last
      first.send(payload)
      await settle()
      expect(errors).toHaveLength(1)
      expect(errors[0]).toBeInstanceOf(ProtocolError)
      expect(messages).toEqual([])
      expect(first.closed).toBeDefined()
      expect(first.sent('bye')).toEqual([])
      expect(client.status).toEqual({ type: 'waiting', attempt: 0, delayMs: 0, reason: 'backoff' })
      await advance(0)
      expect(server.links).toHaveLength(2)
      expect(server.last.sent('hello')[0]).toMatchObject({ attempt: 0, resume: { memento: 'm1', seq: 0 } })
      expect(client.status.type).toBe('open')
      client.close()
    })
  }

  it('LL-FRAME-4: a frame larger than the welcome limits.maxFrameBytes is refused before parsing', async () => {
    const { server, client, messages, errors } = setup()
    server.onHello = (link) => link.send(welcome({ limits: { maxFrameBytes: 2048, maxTopics: 10 } }))
    client.connect()
    await settle()
    server.last.send(msg(1, 'x'.repeat(2000)))
    server.last.send(msg(2, 'x'.repeat(2100)))
    await settle()
    expect(messages.map((m) => m.seq)).toEqual([1])
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ name: 'ProtocolError', kind: 'too-large' })
    expect(client.status.type).toBe('waiting')
    client.close()
  })

  it('LL-FRAME-6, LL-WS-2: a batch holding one corrupt frame is refused whole: none of it is processed', async () => {
    const { server, client, messages, errors } = await connected()
    server.last.send(JSON.stringify([msg(1, 'a'), msg(2, 'b'), { type: 'msg', seq: 3 }, msg(4, 'd')]))
    await settle()
    expect(messages).toEqual([])
    expect(errors).toHaveLength(1)
    expect(client.status.type).toBe('waiting')
    client.close()
  })
})

describe('scripted server: batches and streams (LL-WS-2, LL-SEQ-3, LL-SEQ-4, LL-ACK-1)', () => {
  it('LL-WS-2: a batch is handled in array order, as if the frames came one by one', async () => {
    const { server, client, messages } = await connected()
    server.last.send(JSON.stringify([msg(1, 'a'), msg(2, 'b'), msg(3, 'c')]))
    await settle()
    expect(messages).toEqual([
      { topic: undefined, data: 'a', seq: 1 },
      { topic: undefined, data: 'b', seq: 2 },
      { topic: undefined, data: 'c', seq: 3 },
    ])
    client.close()
  })

  it('LL-SEQ-3, LL-REPLAY-4: replayed duplicates are dropped; every entry is delivered exactly once', async () => {
    const { server, client, messages, advance } = await connected()
    server.last.send(msg(1, 'a'))
    server.last.send(msg(2, 'b'))
    await settle()
    server.onHello = (link) => link.send(welcome({ memento: 'm2', resumed: true, recovered: true }))
    server.last.close(1006, 'gone')
    await advance(0)
    expect(server.last.sent('hello')[0]).toMatchObject({ resume: { seq: 2 } })
    // The server replays from an older cursor, and at the live boundary sends 3 twice (LL-REPLAY-2).
    server.last.send(JSON.stringify([msg(1, 'a'), msg(2, 'b'), msg(3, 'c'), msg(3, 'c')]))
    await settle()
    expect(messages.map((m) => m.seq)).toEqual([1, 2, 3])
    await advance(200)
    expect(server.last.sent('ack')).toEqual([{ type: 'ack', seq: 3 }])
    client.close()
  })

  it('LL-SEQ-4: a gap is accepted without complaint and acked cumulatively', async () => {
    const { server, client, messages, errors, advance } = await connected()
    server.last.send(msg(1, 'a'))
    server.last.send(msg(5, 'e'))
    server.last.send(msg(9, 'i'))
    await advance(200)
    expect(messages.map((m) => m.seq)).toEqual([1, 5, 9])
    expect(errors).toEqual([])
    expect(server.last.sent('ack')).toEqual([{ type: 'ack', seq: 9 }])
    expect(client.status.type).toBe('open')
    client.close()
  })

  it('LL-ACK-1: pending acks are not sent on a dead link; the next hello carries the cursor instead', async () => {
    const { server, client, advance } = await connected()
    server.last.send(msg(1, 'a'))
    await settle()
    server.last.close(1006, 'gone')
    await advance(0)
    expect(server.links[0]?.sent('ack')).toEqual([])
    expect(server.last.sent('hello')[0]).toMatchObject({ resume: { seq: 1 } })
    await advance(1000)
    expect(server.last.sent('ack')).toEqual([])
    client.close()
  })
})

describe('scripted server: resends (LL-RESUME-5, LL-RESUME-6)', () => {
  it('LL-RESUME-5: after resumed:true, sends up to ackedSeq settle and the rest go again with the same seq and id first', async () => {
    const { server, client, advance } = await connected()
    const a = client.send('a')
    const b = client.send('b')
    await settle()
    expect(server.last.sent('send')).toEqual([
      { type: 'send', seq: 1, id: 'px.1', data: 'a' },
      { type: 'send', seq: 2, id: 'px.2', data: 'b' },
    ])
    server.onHello = (link) =>
      link.send(welcome({ memento: 'm2', resumed: true, recovered: true, ackedSeq: 1 }))
    server.last.close(1006, 'gone')
    await settle()
    const c = client.send('c') // sent while disconnected
    await advance(0)
    await a
    expect(client.pending).toBe(2)
    expect(server.last.sent('send')).toEqual([
      { type: 'send', seq: 2, id: 'px.2', data: 'b' },
      { type: 'send', seq: 3, id: 'px.3', data: 'c' },
    ])
    server.last.send({ type: 'ack', seq: 3 })
    await Promise.all([b, c])
    expect(client.pending).toBe(0)
    client.close()
  })

  it('LL-RESUME-6: after resumed:false, every pending send goes again numbered from 1 with its original id', async () => {
    const { server, client, advance } = await connected()
    const sends = [client.send('a'), client.send('b')]
    await settle()
    server.onHello = (link) => link.send(welcome({ sid: 's_two', memento: 'm9', reason: 'unknown' }))
    server.last.close(1006, 'gone')
    await advance(0)
    sends.push(client.send('c'))
    await settle()
    expect(server.last.sent('send')).toEqual([
      { type: 'send', seq: 1, id: 'px.1', data: 'a' },
      { type: 'send', seq: 2, id: 'px.2', data: 'b' },
      { type: 'send', seq: 3, id: 'px.3', data: 'c' },
    ])
    server.last.send({ type: 'ack', seq: 3 })
    await Promise.all(sends)
    client.close()
  })

  it('LL-RESUME-6: a new session resets the direct cursor, so its seq 1 is delivered', async () => {
    const { server, client, messages, advance } = await connected()
    server.last.send(msg(1, 'old'))
    server.last.send(msg(2, 'old'))
    await settle()
    server.onHello = (link) => link.send(welcome({ sid: 's_two', memento: 'm9', reason: 'expired' }))
    server.last.close(1006, 'gone')
    await advance(0)
    server.last.send(msg(1, 'new'))
    await settle()
    expect(messages.map((m) => `${m.seq}:${String(m.data)}`)).toEqual(['1:old', '2:old', '1:new'])
    client.close()
  })

  it('LL-SEND-5: an error with ref settles that send as rejected; error without ref is an error event', async () => {
    const { server, client, errors } = await connected()
    const a = client.send('a')
    const b = client.send('b')
    await settle()
    server.last.send({ type: 'error', code: 4300, reason: 'not allowed', ref: 2 })
    server.last.send({ type: 'error', code: 4300, reason: 'about seq 99', ref: 99 })
    server.last.send({ type: 'error', code: 4100, reason: 'general trouble' })
    await expect(b).rejects.toBeInstanceOf(SendRejectedError)
    expect(client.pending).toBe(1)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ name: 'SendRejectedError', code: 4100, reason: 'general trouble' })
    server.last.send({ type: 'ack', seq: 2 })
    await a
    expect(client.pending).toBe(0)
    expect(client.status.type).toBe('open')
    client.close()
  })
})

describe('scripted server: mementos (LL-MEMENTO-1, LL-HELLO-5, LL-APPM-2)', () => {
  it('LL-MEMENTO-1, LL-HELLO-5: the latest memento (welcome or memento frame) goes back untouched in hello.resume', async () => {
    const storage = memoryStorage()
    const { server, client, advance } = await connected({ storage })
    expect(storage.load()).toMatchObject({ memento: 'm1' })
    server.last.send({ type: 'memento', memento: 'm1-refreshed.~!' })
    await settle()
    expect(storage.load()).toMatchObject({ memento: 'm1-refreshed.~!' })
    server.last.close(1006, 'gone')
    await advance(0)
    expect(server.last.sent('hello')[0]).toMatchObject({ resume: { memento: 'm1-refreshed.~!' } })
    client.close()
  })

  it('LL-APPM-2: the am of a msg is kept only once delivered, welcome.am is kept, and hello.am carries the latest', async () => {
    const { server, client, advance } = await connected()
    server.onHello = (link, _hello, index) =>
      link.send(index === 1 ? welcome({ resumed: true, recovered: true, am: 'am-welcome' }) : welcome())
    server.last.send(msg(1, 'a', { am: 'am-1' }))
    server.last.send(msg(1, 'a-again', { am: 'am-duplicate' })) // a duplicate: not delivered, am not kept
    await settle()
    server.last.close(1006, 'gone')
    await advance(0)
    expect(server.last.sent('hello')[0]).toMatchObject({ am: 'am-1' })
    server.last.close(1006, 'gone')
    await advance(0)
    expect(server.last.sent('hello')[0]).toMatchObject({ am: 'am-welcome' })
    client.close()
  })

  it('LL-RESUME-7: unrecovered is emitted with the reason, before the entries of the new connection', async () => {
    const { server, client, messages, advance } = await connected()
    const order: string[] = []
    client.on('unrecovered', (event) =>
      order.push(`unrecovered:${event.reason}:${JSON.stringify(event.appMemento)}`),
    )
    client.on('message', (message) => order.push(`message:${String(message.data)}`))
    server.last.send(msg(1, 'a', { am: 'am-1', amv: { v: 1 } }))
    await settle()
    server.onHello = (link) => {
      link.send(
        JSON.stringify([
          welcome({ sid: 's_one', memento: 'm2', resumed: true, recovered: false, reason: 'overflow' }),
          msg(7, 'after the gap'),
        ]),
      )
    }
    server.last.close(1006, 'gone')
    await advance(0)
    expect(order).toEqual(['message:a', 'unrecovered:overflow:{"v":1}', 'message:after the gap'])
    expect(messages).toHaveLength(2)
    expect(client.status).toEqual({
      type: 'open',
      sid: 's_one',
      resumed: true,
      recovered: false,
      transport: 'fake',
    })
    client.close()
  })

  it('LL-RESUME-7: a first connect (no resume asked) never reports unrecovered', async () => {
    const { client } = setup()
    const events: unknown[] = []
    client.on('unrecovered', (event) => events.push(event))
    client.connect()
    await settle()
    expect(client.status).toMatchObject({ type: 'open', recovered: false })
    expect(events).toEqual([])
    client.close()
  })
})

describe('scripted server: topics (LL-TOPIC-2, LL-TOPIC-4, LL-TOPIC-7, LL-PRESENCE-3)', () => {
  it('LL-PRESENCE-3: presence at or below membersSeq is delivered as history but does not change members', async () => {
    const { server, client, presence } = await connected()
    const joined = client.join('room')
    await settle()
    server.last.send({
      type: 'joined',
      topic: 'room',
      seq: 40,
      recovered: true,
      membersSeq: 42,
      members: [{ sid: 's_x', state: 'online', meta: { name: 'X' } }],
    })
    await joined
    server.last.send({ type: 'presence', seq: 40, topic: 'room', sid: 's_old', event: 'joined' }) // a duplicate
    server.last.send({ type: 'presence', seq: 41, topic: 'room', sid: 's_x', event: 'left' })
    server.last.send({ type: 'presence', seq: 42, topic: 'room', sid: 's_x', event: 'joined' })
    await settle()
    expect(presence.map((p) => `${p.seq}:${p.sid}:${p.event}`)).toEqual(['41:s_x:left', '42:s_x:joined'])
    expect(Object.fromEntries(client.members('room'))).toEqual({
      s_x: { state: 'online', meta: { name: 'X' } },
    })
    server.last.send({ type: 'presence', seq: 43, topic: 'room', sid: 's_y', event: 'joined', meta: 7 })
    server.last.send({ type: 'presence', seq: 44, topic: 'room', sid: 's_x', event: 'away' })
    await settle()
    expect(Object.fromEntries(client.members('room'))).toEqual({
      s_x: { state: 'away', meta: undefined },
      s_y: { state: 'online', meta: 7 },
    })
    expect(presence[2]).toEqual({ topic: 'room', sid: 's_y', event: 'joined', meta: 7, seq: 43 })
    client.close()
  })

  it('LL-TOPIC-2: the topic cursor is set to joined.seq, even below the old cursor', async () => {
    const { server, client, messages, advance } = await connected()
    const first = client.join('room')
    await settle()
    server.last.send({ type: 'joined', topic: 'room', seq: 50, members: [] })
    await first
    server.last.send(msg(51, 'before restart', { topic: 'room' }))
    await settle()
    // A new session whose server lost the topic log: joined.seq is 3 although the client had 51.
    server.onHello = (link) => link.send(welcome({ sid: 's_two', memento: 'm9', reason: 'unknown' }))
    server.last.close(1006, 'gone')
    await advance(0)
    expect(server.last.sent('join')).toEqual([{ type: 'join', topic: 'room', from: 51 }])
    server.last.send({ type: 'joined', topic: 'room', seq: 3, recovered: false, members: [] })
    server.last.send(msg(4, 'after restart', { topic: 'room' }))
    await settle()
    expect(messages.map((m) => m.data)).toEqual(['before restart', 'after restart'])
    client.close()
  })

  it('LL-TOPIC-4: entries of a topic not joined, or not yet joined again, are not delivered', async () => {
    const { server, client, messages } = await connected()
    server.last.send(msg(1, 'stray', { topic: 'never' }))
    const join = client.join('room')
    await settle()
    server.last.send(msg(5, 'before joined', { topic: 'room' }))
    server.last.send({ type: 'presence', seq: 6, topic: 'room', sid: 's_z', event: 'joined' })
    server.last.send({ type: 'joined', topic: 'room', seq: 6, members: [] })
    server.last.send(msg(7, 'after joined', { topic: 'room' }))
    await join
    await settle()
    expect(messages.map((m) => m.data)).toEqual(['after joined'])
    client.close()
  })

  it('LL-TOPIC-7: unjoined from the server (REMOVED) forgets the topic and reports it', async () => {
    const { server, client, messages } = await connected()
    const unjoined: unknown[] = []
    client.on('unjoined', (event) => unjoined.push(event))
    const join = client.join('room')
    await settle()
    server.last.send({ type: 'joined', topic: 'room', seq: 0, members: [] })
    await join
    server.last.send({ type: 'unjoined', topic: 'room', code: 4304, reason: 'removed by moderator' })
    server.last.send(msg(1, 'late', { topic: 'room' }))
    await settle()
    expect(unjoined).toEqual([{ topic: 'room', code: 4304, reason: 'removed by moderator' }])
    expect(client.joinedTopics).toEqual([])
    expect(messages).toEqual([])
    client.close()
  })

  it('LL-TOPIC-2, LL-TOPIC-4: the joined of a join sent before a leave still unanswered is not taken for the join after it', async () => {
    const { server, client } = await connected()
    const first = client.join('b')
    first.catch(() => {})
    await settle()
    client.leave('b')
    const second = client.join('b')
    const seen: number[] = []
    client.on('joined', (event) => seen.push(event.seq))
    await settle()
    server.last.send({ type: 'joined', topic: 'b', seq: 12, members: [] }) // answers the first join
    await settle()
    expect(seen).toEqual([])
    server.last.send({ type: 'unjoined', topic: 'b' }) // answers the leave
    server.last.send({ type: 'joined', topic: 'b', seq: 13, members: [] }) // answers the second join
    await second
    expect(seen).toEqual([13])
    client.close()
  })

  it('LL-TOPIC-5: on resume, topics in welcome.topics are confirmed without a new join', async () => {
    const { server, client, advance } = await connected()
    const joins = [client.join('a'), client.join('b')]
    await settle()
    server.last.send({ type: 'joined', topic: 'a', seq: 0, members: [] })
    // b's join is in flight when the link drops; the server had processed it.
    server.onHello = (link) =>
      link.send(welcome({ memento: 'm2', resumed: true, recovered: true, topics: ['a', 'b'] }))
    server.last.close(1006, 'gone')
    await advance(0)
    // a is confirmed as it is; b never got its joined, so the app has no join point for it: it is
    // joined again, and resolves with that answer (LL-TOPIC-3 answers with the members).
    expect(server.last.sent('join')).toEqual([{ type: 'join', topic: 'b' }])
    server.last.send({ type: 'joined', topic: 'b', seq: 3, members: [] })
    await Promise.all(joins)
    expect(server.last.sent('leave')).toEqual([])
    expect(server.last.sent('hello')[0]).toMatchObject({ resume: { topics: { a: 0 } } })
    client.close()
  })
})

describe('scripted server: intent (LL-INTENT-2, LL-INTENT-4)', () => {
  it('LL-INTENT-2: a bye with reconnect:false is fatal whatever its code; pending sends fail with it', async () => {
    const { server, client, advance } = await connected()
    const pending = client.send('x')
    pending.catch(() => {})
    await settle()
    server.bye(server.last, { code: 4200, reason: 'go and never come back', reconnect: false })
    await settle()
    const status = client.status
    const error = status.type === 'closed' ? status.error : undefined
    expect(error).toBeInstanceOf(ServerClosedError)
    expect(error).toMatchObject({ code: 4200, reason: 'go and never come back' })
    await expect(pending).rejects.toBe(error)
    await advance(60_000)
    expect(server.links).toHaveLength(1)
  })

  it('LL-INTENT-4: a transport close with a fatal code and no bye is fatal too', async () => {
    const { server, client, advance } = await connected()
    server.last.close(4003, 'unauthorized')
    await settle()
    expect(client.status).toMatchObject({ type: 'closed', error: { code: 4003, codeName: 'UNAUTHORIZED' } })
    await advance(60_000)
    expect(server.links).toHaveLength(1)
  })

  it('LL-INTENT-4: a backoff bye (41xx) from an open connection waits the backoff before dialing', async () => {
    const { server, client, advance } = await connected()
    server.bye(server.last, { code: 4101, reason: 'overloaded' })
    await settle()
    expect(client.status).toEqual({ type: 'waiting', attempt: 1, delayMs: 250, reason: 'backoff' })
    await advance(249)
    expect(server.links).toHaveLength(1)
    await advance(1)
    expect(server.links).toHaveLength(2)
    expect(server.last.sent('hello')[0]).toMatchObject({ attempt: 1 })
    client.close()
  })

  it('LL-INTENT-4, LL-CLIENT-1: a reconnect bye (42xx) without retryAfterMs dials again at once', async () => {
    const { server, client, advance } = await connected()
    server.bye(server.last, { code: 4202, reason: 'slow consumer' })
    await settle()
    expect(client.status).toEqual({ type: 'waiting', attempt: 0, delayMs: 0, reason: 'backoff' })
    await advance(0)
    expect(server.links).toHaveLength(2)
    client.close()
  })

  it('LL-INTENT-3: retryAfterMs and jitterMs of a bye are honoured, rounded', async () => {
    const { server, client, advance } = await connected()
    server.bye(server.last, { code: 4200, reason: 'deploy', retryAfterMs: 1000, jitterMs: 3 })
    await settle()
    expect(client.status).toEqual({ type: 'waiting', attempt: 0, delayMs: 1002, reason: 'server' })
    await advance(1001)
    expect(server.links).toHaveLength(1)
    await advance(1)
    expect(server.links).toHaveLength(2)
    client.close()
  })

  it('LL-RESUME-8: SUPERSEDED (4203) reconnects, SESSION_REPLACED (4006) forgets the memento and stops', async () => {
    const storage = memoryStorage()
    const { server, client, advance } = await connected({ storage })
    server.bye(server.last, { code: 4203, reason: 'superseded' })
    await advance(0)
    expect(server.links).toHaveLength(2)
    expect(server.last.sent('hello')[0]).toMatchObject({ resume: { memento: 'm1' } })
    server.bye(server.last, { code: 4006, reason: 'session resumed elsewhere', reconnect: false })
    await advance(60_000)
    expect(server.links).toHaveLength(2)
    expect(client.status).toMatchObject({ type: 'closed', error: { code: 4006 } })
    expect(storage.load()).toBeUndefined()
  })

  it('LL-INTENT-1: close() says bye and leaves the close to the server; it closes with 1000 only when the server does not', async () => {
    const { server, client, advance } = await connected()
    const link = server.last
    client.close()
    await settle()
    expect(link.frames.map((f) => f.type)).toEqual(['hello', 'bye'])
    expect(client.status.type).toBe('closed')
    await advance(999)
    expect(link.closed).toBeUndefined()
    await advance(1)
    expect(link.closed).toMatchObject({ code: 1000 })
  })

  it('LL-INTENT-1: after its bye the client reads the server bye 4007 and its close, and sets no timer left behind', async () => {
    const { server, client, clock } = await connected()
    const link = server.last
    client.close()
    await settle()
    link.send({ type: 'bye', code: 4007, reason: 'bye', reconnect: false })
    link.close(4007, 'bye')
    await settle()
    expect(link.closed).toMatchObject({ code: 4007 })
    expect(clock.pendingTimers).toBe(0)
  })

  it('LL-INTENT-1: close() while connecting hangs up without a bye', async () => {
    const { server, client } = setup()
    server.onHello = () => {}
    client.connect()
    await settle()
    expect(client.status.type).toBe('connecting')
    const link = server.last
    client.close()
    await settle()
    expect(link.sent('bye')).toEqual([])
    expect(link.closed).toBeDefined()
  })
})
