import { describe, expect, it } from 'vitest'
import {
  BufferOverflowError,
  type ClientEnvironment,
  type ClientStatus,
  type ClientTransport,
  ConnectionClosedError,
  createClient,
  type DroppedMessage,
  type EnvironmentHandlers,
  JoinError,
  type LifelineClient,
  MessageTooLargeError,
  memoryStorage,
  PublicError,
  SendRejectedError,
  ServerClosedError,
  type SessionEvent,
  type UnrecoveredEvent,
  type WebStorageLike,
  webStorage,
} from '../src/index.js'
import { createServer, type RecoverContext } from '../src/server.js'
import { type Direction, FakeNetwork, SimulatedClock } from '../src/testing.js'
import { settle, type World, world } from './helpers.js'

type Frame = { readonly type: string } & Readonly<Record<string, unknown>>

/** Every frame that crossed the fake network, decoded (batches split), in delivery order. */
function tapWire(w: World) {
  const log: Array<{ client: string; direction: Direction; frame: Frame }> = []
  w.network.tap = (client, direction, payload) => {
    let value: unknown
    try {
      value = typeof payload === 'string' ? JSON.parse(payload) : payload
    } catch {
      return
    }
    for (const frame of Array.isArray(value) ? value : [value]) {
      log.push({ client, direction, frame: frame as Frame })
    }
  }
  const pick = (client: string, direction: Direction, type?: string) =>
    log
      .filter((e) => e.client === client && e.direction === direction)
      .map((e) => e.frame)
      .filter((frame) => type === undefined || frame.type === type)
  return {
    log,
    sent: (client: string, type?: string) => pick(client, 'c2s', type),
    received: (client: string, type?: string) => pick(client, 's2c', type),
  }
}

/** Host signals under the test's control (LL-BEAT-4). */
class FakeEnvironment implements ClientEnvironment {
  online = true
  handlers: EnvironmentHandlers | undefined
  unsubscribed = 0

  isOnline(): boolean {
    return this.online
  }

  subscribe(handlers: EnvironmentHandlers): () => void {
    this.handlers = handlers
    return () => {
      this.handlers = undefined
      this.unsubscribed++
    }
  }

  fire(signal: keyof EnvironmentHandlers): void {
    if (signal === 'online') this.online = true
    if (signal === 'offline') this.online = false
    this.handlers?.[signal]()
  }
}

class FakeWebStorage implements WebStorageLike {
  readonly items = new Map<string, string>()
  getItem(key: string): string | null {
    return this.items.get(key) ?? null
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value)
  }
  removeItem(key: string): void {
    this.items.delete(key)
  }
}

/** Observes a promise without awaiting it. */
function watch(promise: Promise<unknown>): () => 'pending' | 'resolved' | Error {
  let outcome: 'pending' | 'resolved' | Error = 'pending'
  promise.then(
    () => {
      outcome = 'resolved'
    },
    (error: unknown) => {
      outcome = error instanceof Error ? error : new Error(String(error))
    },
  )
  return () => outcome
}

function statusLog(client: LifelineClient): ClientStatus[] {
  const statuses: ClientStatus[] = []
  client.on('status', (status) => statuses.push(status))
  return statuses
}

function closedError(client: LifelineClient): Error | undefined {
  const status = client.status
  return status.type === 'closed' ? status.error : undefined
}

async function open(client: LifelineClient): Promise<string> {
  client.connect()
  await settle()
  const status = client.status
  if (status.type !== 'open') throw new Error(`expected open, got ${status.type}`)
  return status.sid
}

/** Lets simulated time pass in steps with deliveries in between, as on a live network. */
async function run(w: World, ms: number, step = 1000): Promise<void> {
  for (let elapsed = 0; elapsed < ms; elapsed += step) await w.advance(Math.min(step, ms - elapsed))
}

/** A send whose rejection is observed at once, so it never counts as unhandled. */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {})
  return promise
}

/** Drops the link and keeps the server unreachable until `reachable()` is called. */
async function dropAndStayAway(w: World, id = 'c1'): Promise<{ reachable(): void }> {
  const transport = w.network.client(id)
  transport.refusing = true
  transport.reset()
  await settle()
  return {
    reachable: () => {
      transport.refusing = false
    },
  }
}

describe('LifelineClient: status and counters', () => {
  it('LL-HELLO-6, LL-CLIENT-1: status goes idle -> connecting -> open -> waiting -> connecting -> open', async () => {
    const w = await world()
    const client = w.client('c1')
    expect(client.status).toEqual({ type: 'idle' })
    const statuses = statusLog(client)
    const sid = await open(client)
    w.network.client('c1').reset()
    await settle()
    await w.advance(0)
    expect(statuses.map((s) => s.type)).toEqual(['connecting', 'open', 'waiting', 'connecting', 'open'])
    expect(statuses[0]).toEqual({ type: 'connecting', attempt: 0, transport: 'fake' })
    expect(statuses[1]).toEqual({ type: 'open', sid, resumed: false, recovered: false, transport: 'fake' })
    expect(statuses[2]).toEqual({ type: 'waiting', attempt: 0, delayMs: 0, reason: 'backoff' })
    expect(statuses[3]).toEqual({ type: 'connecting', attempt: 0, transport: 'fake' })
    expect(statuses[4]).toEqual({ type: 'open', sid, resumed: true, recovered: true, transport: 'fake' })
    expect(client.sid).toBe(sid)
    client.close()
    expect(statuses.map((s) => s.type).slice(-1)).toEqual(['closed'])
    expect(client.status).toEqual({ type: 'closed', error: undefined })
  })

  it('LL-INTENT-6, LL-HELLO-4: wasReconnected, reconnectAttempts, recovered and hello.attempt', async () => {
    const attempts: number[] = []
    const w = await world({
      authenticate: (_auth, context) => {
        attempts.push(context.attempt)
        return { subject: 'alice' }
      },
    })
    const client = w.client('c1', { retryDelay: () => 100 })
    expect([client.wasReconnected, client.reconnectAttempts, client.recovered, client.sid]).toEqual([
      false,
      0,
      false,
      undefined,
    ])
    await open(client)
    expect([client.wasReconnected, client.reconnectAttempts, client.recovered]).toEqual([false, 0, false])
    const link = await dropAndStayAway(w)
    await w.advance(0) // the immediate retry is refused
    expect(client.status).toEqual({ type: 'waiting', attempt: 1, delayMs: 100, reason: 'backoff' })
    await w.advance(100) // refused again
    expect(client.status).toEqual({ type: 'waiting', attempt: 2, delayMs: 100, reason: 'backoff' })
    expect(client.reconnectAttempts).toBe(2)
    expect(client.wasReconnected).toBe(false)
    link.reachable()
    await w.advance(100)
    expect(client.status).toMatchObject({ type: 'open', resumed: true, recovered: true })
    expect([client.wasReconnected, client.reconnectAttempts, client.recovered]).toEqual([true, 3, true])
    // Refused dials never reach the server; the hello that does says two attempts failed.
    expect(attempts).toEqual([0, 2])
    client.close()
  })

  it('LL-CLIENT-5: pending rises while offline and returns to 0 once the resent sends are acked', async () => {
    const processed: unknown[] = []
    const w = await world({
      onMessage: (message) => {
        processed.push(message.data)
      },
    })
    const client = w.client('c1', { retryDelay: () => 100 })
    await open(client)
    const counts: number[] = []
    client.on('pending', (count) => counts.push(count))
    const link = await dropAndStayAway(w)
    await w.advance(0)
    expect(client.status.type).toBe('waiting')
    const sends = [client.send({ n: 1 }), client.send({ n: 2 }), client.send({ n: 3 })]
    expect(client.pending).toBe(3)
    expect(counts).toEqual([1, 2, 3])
    await w.advance(100)
    expect(client.pending).toBe(3)
    link.reachable()
    await w.advance(100)
    await Promise.all(sends)
    expect(client.pending).toBe(0)
    expect(counts[counts.length - 1]).toBe(0)
    for (let i = 3; i < counts.length; i++) expect(counts[i]).toBeLessThanOrEqual(counts[i - 1] ?? 0)
    expect(processed).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }])
    client.close()
  })

  it('LL-INTENT-1: status events stop after close and the emitter removes listeners via the function on returns', async () => {
    const w = await world()
    const client = w.client('c1')
    const seen: string[] = []
    const before = client.listenerCount
    const off = client.on('status', (status) => seen.push(status.type))
    const offPending = client.on('pending', () => seen.push('pending'))
    expect(client.listenerCount).toBe(before + 2)
    await open(client)
    expect(seen).toEqual(['connecting', 'open', 'pending'])
    off()
    off() // removing twice is harmless
    offPending()
    expect(client.listenerCount).toBe(before)
    void client.send('x').catch(() => {})
    w.network.client('c1').reset()
    await settle()
    await w.advance(0)
    client.close()
    expect(seen).toEqual(['connecting', 'open', 'pending'])
  })
})

describe('LifelineClient: sends', () => {
  it('LL-SEND-1, LL-SEND-4: send resolves once the server processed it; frames carry seq and id', async () => {
    const processed: Array<{ id: string; seq: number; topic: string | undefined; data: unknown }> = []
    const w = await world({
      onMessage: (message) => {
        processed.push(message)
      },
    })
    const wire = tapWire(w)
    const client = w.client('c1', { idPrefix: 'cafe01' })
    await open(client)
    await client.send({ text: 'hi' })
    await client.send('second', { topic: 'room:1', id: 'my-own-id' })
    expect(processed).toEqual([
      { id: 'cafe01.1', seq: 1, topic: undefined, data: { text: 'hi' } },
      { id: 'my-own-id', seq: 2, topic: 'room:1', data: 'second' },
    ])
    expect(wire.sent('c1', 'send')).toEqual([
      { type: 'send', seq: 1, id: 'cafe01.1', data: { text: 'hi' } },
      { type: 'send', seq: 2, id: 'my-own-id', topic: 'room:1', data: 'second' },
    ])
    expect(wire.sent('c1', 'hello')[0]).toMatchObject({ cid: 'cafe01', attempt: 0, versions: [1] })
    client.close()
  })

  it('LL-SEND-5: an error frame with ref rejects that send with SendRejectedError; it is never resent', async () => {
    let calls = 0
    const w = await world({
      onMessage: (message) => {
        calls++
        if ((message.data as { bad?: boolean }).bad === true) throw new PublicError('no bad data')
      },
    })
    const client = w.client('c1')
    const errors: Error[] = []
    client.on('error', (error) => errors.push(error))
    await open(client)
    const first = client.send({ n: 1 })
    const bad = client.send({ bad: true })
    const last = client.send({ n: 2 })
    await expect(bad).rejects.toBeInstanceOf(SendRejectedError)
    await expect(bad).rejects.toMatchObject({ code: 4300, reason: 'no bad data', name: 'SendRejectedError' })
    await first
    await last
    expect(client.pending).toBe(0)
    expect(errors).toEqual([])
    w.network.client('c1').reset()
    await settle()
    await w.advance(0)
    expect(client.status.type).toBe('open')
    await settle()
    expect(calls).toBe(3)
    client.close()
  })

  it("LL-SEND-6: a send over the welcome's maxFrameBytes rejects with MessageTooLargeError and sends nothing", async () => {
    let calls = 0
    const w = await world({
      maxFrameBytes: 2048,
      onMessage: () => {
        calls++
      },
    })
    const wire = tapWire(w)
    const client = w.client('c1')
    const counts: number[] = []
    client.on('pending', (count) => counts.push(count))
    await open(client)
    const big = client.send('x'.repeat(3000))
    expect(client.pending).toBe(0)
    await expect(big).rejects.toBeInstanceOf(MessageTooLargeError)
    await expect(big).rejects.toMatchObject({ maxBytes: 2048 })
    const error = await big.catch((e: unknown) => e)
    expect((error as MessageTooLargeError).bytes).toBeGreaterThan(3000)
    await settle()
    expect(wire.sent('c1', 'send')).toEqual([])
    expect(counts.filter((n) => n > 0)).toEqual([])
    // The link is fine, and a message within the limit still goes through.
    await client.send('y'.repeat(1000))
    expect(calls).toBe(1)
    expect(client.status.type).toBe('open')
    client.close()
  })

  it('LL-SEND-6, LL-LIMIT-1: before any welcome the default 1 MiB limit applies', async () => {
    const w = await world()
    const client = w.client('c1')
    await expect(client.send('x'.repeat(1024 * 1024))).rejects.toMatchObject({
      name: 'MessageTooLargeError',
      maxBytes: 1024 * 1024,
    })
    expect(client.pending).toBe(0)
  })

  it('LL-SEND-7: a full outbox under reject refuses the new send with BufferOverflowError and reports it', async () => {
    const w = await world()
    const overflowed: Array<[DroppedMessage, Error]> = []
    const client = w.client('c1', {
      idPrefix: 'p',
      outbox: { maxMessages: 2 },
      onOverflow: (message, error) => overflowed.push([message, error]),
    })
    const a = watch(client.send('a'))
    const b = watch(client.send('b', { topic: 'room' }))
    const refused = client.send('c', { topic: 'room' })
    await expect(refused).rejects.toBeInstanceOf(BufferOverflowError)
    await expect(refused).rejects.toMatchObject({ policy: 'reject' })
    expect(overflowed).toHaveLength(1)
    expect(overflowed[0]?.[0]).toEqual({ id: 'p.3', topic: 'room', data: 'c' })
    expect(overflowed[0]?.[1]).toBeInstanceOf(BufferOverflowError)
    expect(client.pending).toBe(2)
    await open(client)
    await settle()
    expect([a(), b()]).toEqual(['resolved', 'resolved'])
    client.close()
  })

  it('LL-SEND-7: drop-oldest settles the oldest queued send with BufferOverflowError and reports it', async () => {
    const processed: unknown[] = []
    const w = await world({
      onMessage: (message) => {
        processed.push(message.data)
      },
    })
    const overflowed: DroppedMessage[] = []
    const client = w.client('c1', {
      idPrefix: 'p',
      outbox: { maxMessages: 2, overflow: 'drop-oldest' },
      onOverflow: (message) => overflowed.push(message),
    })
    const a = client.send('a')
    const b = watch(client.send('b'))
    const c = watch(client.send('c'))
    await expect(a).rejects.toMatchObject({ name: 'BufferOverflowError', policy: 'drop-oldest' })
    expect(overflowed).toEqual([{ id: 'p.1', topic: undefined, data: 'a' }])
    expect(client.pending).toBe(2)
    await open(client)
    await settle()
    expect([b(), c()]).toEqual(['resolved', 'resolved'])
    expect(processed).toEqual(['b', 'c'])
    client.close()
  })

  it('LL-SEND-7, LL-LIMIT-5: drop-newest by bytes drops the newest queued send', async () => {
    const w = await world()
    const overflowed: DroppedMessage[] = []
    const client = w.client('c1', {
      idPrefix: 'p',
      outbox: { maxBytes: 20, overflow: 'drop-newest' },
      onOverflow: (message) => overflowed.push(message),
    })
    const a = watch(client.send('aaaaaaaa')) // 10 bytes of JSON
    const b = client.send('bbbbbbbb')
    const c = watch(client.send('cccc'))
    await expect(b).rejects.toMatchObject({ name: 'BufferOverflowError', policy: 'drop-newest' })
    expect(overflowed).toEqual([{ id: 'p.2', topic: undefined, data: 'bbbbbbbb' }])
    await open(client)
    await settle()
    expect([a(), c()]).toEqual(['resolved', 'resolved'])
    client.close()
  })

  it('LL-FRAME-1, LL-FRAME-8: send with data that is not JSON, or an invalid topic, rejects with TypeError and queues nothing', async () => {
    const w = await world()
    const client = w.client('c1')
    await expect(client.send(undefined)).rejects.toBeInstanceOf(TypeError)
    await expect(client.send(() => 1)).rejects.toBeInstanceOf(TypeError)
    await expect(client.send(Symbol('s'))).rejects.toBeInstanceOf(TypeError)
    for (const topic of ['', 'has space', 'x'.repeat(201), 'caf\u00e9', 'tab\t']) {
      await expect(client.send('ok', { topic })).rejects.toBeInstanceOf(TypeError)
    }
    expect(client.pending).toBe(0)
    // Edge values that are JSON are fine.
    const fine = [
      client.send(null),
      client.send(0),
      client.send(''),
      client.send([]),
      client.send('t', { topic: 'x'.repeat(200) }),
    ]
    expect(client.pending).toBe(5)
    await open(client)
    await Promise.all(fine)
    client.close()
  })

  it('LL-INTENT-1: close() fails every pending send with ConnectionClosedError; later sends and joins reject too', async () => {
    const w = await world({ onMessage: () => new Promise<void>(() => {}) })
    const wire = tapWire(w)
    const client = w.client('c1')
    const counts: number[] = []
    client.on('pending', (count) => counts.push(count))
    await open(client)
    const inFlight = client.send('in flight')
    await settle()
    const stuckJoin = watch(client.join('room'))
    client.close()
    await expect(inFlight).rejects.toBeInstanceOf(ConnectionClosedError)
    await expect(inFlight).rejects.toMatchObject({ code: 1000 })
    await settle()
    expect(stuckJoin()).toBeInstanceOf(ConnectionClosedError)
    expect(client.pending).toBe(0)
    expect(counts[counts.length - 1]).toBe(0)
    await expect(client.send('late')).rejects.toBeInstanceOf(ConnectionClosedError)
    await expect(client.join('room')).rejects.toBeInstanceOf(ConnectionClosedError)
    // LL-INTENT-1: the client said bye and the server ended the session at once, without grace.
    expect(wire.sent('c1', 'bye')).toEqual([{ type: 'bye' }])
    expect(w.server.stats.sessions).toBe(0)
  })

  it('LL-INTENT-1: close() before ever connecting fails queued sends and sends nothing', async () => {
    const w = await world()
    const wire = tapWire(w)
    const client = w.client('c1')
    const queued = client.send('never')
    client.close()
    await expect(queued).rejects.toBeInstanceOf(ConnectionClosedError)
    client.connect() // a closed client cannot be reopened
    await settle()
    expect(client.status.type).toBe('closed')
    expect(w.network.client('c1').dials).toBe(0)
    expect(wire.log).toEqual([])
  })

  it('LL-INTENT-1: close() while waiting cancels the retry and says no bye (there is no link)', async () => {
    const w = await world({ graceMs: 5000 })
    const wire = tapWire(w)
    const client = w.client('c1', { retryDelay: () => 1000 })
    await open(client)
    await dropAndStayAway(w)
    await w.advance(0)
    expect(client.status.type).toBe('waiting')
    const dials = w.network.client('c1').dials
    client.close()
    await w.advance(10_000)
    expect(w.network.client('c1').dials).toBe(dials)
    expect(wire.sent('c1', 'bye')).toEqual([])
    expect(w.server.stats.sessions).toBe(0) // it ended when its grace did
    expect(w.clock.pendingTimers).toBe(0)
  })
})

describe('LifelineClient: attempts, auth and failures', () => {
  it('LL-AUTH-4: an auth function is called for every attempt, may be async, and its value goes in hello.auth', async () => {
    const auths: unknown[] = []
    const w = await world({
      authenticate: (auth) => {
        auths.push(auth)
        return { subject: 'alice' }
      },
    })
    let calls = 0
    const client = w.client('c1', {
      auth: async () => {
        calls++
        await Promise.resolve()
        return { token: `t${calls}` }
      },
    })
    await open(client)
    w.network.client('c1').reset()
    await settle()
    await w.advance(0)
    expect(client.status).toMatchObject({ type: 'open', resumed: true })
    expect(calls).toBe(2)
    expect(auths).toEqual([{ token: 't1' }, { token: 't2' }])
    client.close()
  })

  it('LL-AUTH-4, LL-HELLO-1: no hello is sent until a slow auth function answers', async () => {
    const w = await world()
    const wire = tapWire(w)
    const client = w.client('c1', {
      auth: () => new Promise((resolve) => w.clock.setTimeout(() => resolve('late-token'), 50)),
    })
    client.connect()
    await settle()
    expect(client.status.type).toBe('connecting')
    expect(wire.sent('c1')).toEqual([])
    await w.advance(50)
    expect(wire.sent('c1', 'hello')[0]).toMatchObject({ auth: 'late-token' })
    expect(client.status.type).toBe('open')
    client.close()
  })

  it('LL-AUTH-4: a plain auth value is sent as is on every attempt', async () => {
    const auths: unknown[] = []
    const w = await world({
      authenticate: (auth) => {
        auths.push(auth)
        return { subject: 'alice' }
      },
    })
    const client = w.client('c1', { auth: { token: 'static' } })
    await open(client)
    w.network.client('c1').reset()
    await settle()
    await w.advance(0)
    expect(auths).toEqual([{ token: 'static' }, { token: 'static' }])
    client.close()
  })

  it('LL-AUTH-2, LL-INTENT-2: a refused authentication closes the client with UNAUTHORIZED and no retry', async () => {
    const w = await world({
      authenticate: () => {
        throw new PublicError('bad token')
      },
    })
    const client = w.client('c1')
    const sent = handled(client.send('x'))
    client.connect()
    await settle()
    const error = closedError(client)
    expect(error).toBeInstanceOf(ServerClosedError)
    expect(error).toMatchObject({ code: 4003, codeName: 'UNAUTHORIZED', reason: 'bad token' })
    await expect(sent).rejects.toBe(error)
    await w.advance(60_000)
    expect(w.network.client('c1').dials).toBe(1)
  })

  it('LL-CLIENT-3: a probe that fails or rejects counts as a failed attempt and is backed off; no dial is made', async () => {
    const attempts: number[] = []
    const w = await world({
      authenticate: (_auth, context) => {
        attempts.push(context.attempt)
        return { subject: 'alice' }
      },
    })
    const fake = w.network.client('c1')
    let probes = 0
    const transport: ClientTransport = {
      encoding: fake.encoding,
      name: 'probed',
      connect: (handlers) => fake.connect(handlers),
      probe: async () => {
        probes++
        if (probes === 1) return false
        if (probes === 2) throw new Error('HEAD failed')
        return true
      },
    }
    const client = w.client('c1', { transport })
    client.connect()
    await settle()
    // fullJitter with random 0.5: attempt 1 waits 250 ms, attempt 2 waits 500 ms.
    expect(client.status).toEqual({ type: 'waiting', attempt: 1, delayMs: 250, reason: 'backoff' })
    expect(fake.dials).toBe(0)
    await w.advance(249)
    expect(probes).toBe(1)
    await w.advance(1)
    expect(probes).toBe(2)
    expect(client.status).toEqual({ type: 'waiting', attempt: 2, delayMs: 500, reason: 'backoff' })
    expect(fake.dials).toBe(0)
    await w.advance(500)
    expect(probes).toBe(3)
    expect(fake.dials).toBe(1)
    expect(client.status.type).toBe('open')
    expect(attempts).toEqual([2])
    client.close()
  })

  it('LL-CLIENT-3, LL-INTENT-1: close() while a probe is under way dials nothing afterwards', async () => {
    const w = await world()
    const fake = w.network.client('c1')
    let answer: (value: boolean) => void = () => {}
    const transport: ClientTransport = {
      encoding: fake.encoding,
      name: 'probed',
      connect: (handlers) => fake.connect(handlers),
      probe: () => new Promise<boolean>((resolve) => (answer = resolve)),
    }
    const client = w.client('c1', { transport })
    client.connect()
    await settle()
    expect(client.status.type).toBe('connecting')
    client.close()
    answer(true)
    await settle()
    expect(fake.dials).toBe(0)
    expect(client.status.type).toBe('closed')
  })

  it('LL-HELLO-3, LL-HELLO-4: no welcome before the connect timeout counts as a failed attempt', async () => {
    const attempts: number[] = []
    const w = await world({
      authenticate: (_auth, context) => {
        attempts.push(context.attempt)
        // The first hello is never answered.
        return attempts.length === 1 ? new Promise(() => {}) : { subject: 'alice' }
      },
    })
    const client = w.client('c1', { connectTimeoutMs: 1000 })
    const statuses = statusLog(client)
    client.connect()
    await w.advance(999)
    expect(client.status).toEqual({ type: 'connecting', attempt: 0, transport: 'fake' })
    await w.advance(1)
    expect(client.status).toEqual({ type: 'waiting', attempt: 1, delayMs: 250, reason: 'backoff' })
    await w.advance(250)
    expect(client.status.type).toBe('open')
    expect(attempts).toEqual([0, 1])
    expect(statuses.map((s) => s.type)).toEqual(['connecting', 'waiting', 'connecting', 'open'])
    client.close()
  })

  it('LL-CLIENT-2: after maxAttempts failed attempts the client closes with MaxAttemptsError', async () => {
    const w = await world()
    w.network.client('c1').refusing = true
    const client = w.client('c1', { maxAttempts: 3, retryDelay: () => 10 })
    const sent = handled(client.send('x'))
    client.connect()
    await w.advance(10)
    await w.advance(10)
    const error = closedError(client)
    expect(error).toMatchObject({ name: 'MaxAttemptsError', attempts: 3 })
    await expect(sent).rejects.toBe(error)
    expect(w.network.client('c1').dials).toBe(3)
    await w.advance(10_000)
    expect(w.network.client('c1').dials).toBe(3)
    expect(w.clock.pendingTimers).toBe(0)
  })

  it('LL-INTENT-2: a kick closes with ServerClosedError 4005, fails pending sends and never dials again', async () => {
    const w = await world({ onMessage: () => new Promise<void>(() => {}) })
    const storage = memoryStorage()
    const environment = new FakeEnvironment()
    const client = w.client('c1', { storage, environment })
    const statuses = statusLog(client)
    const sid = await open(client)
    expect(storage.load()?.memento).toEqual(expect.any(String))
    const pending = handled(client.send('unprocessed'))
    await settle()
    expect(await w.server.kick(sid, 'banned by moderator')).toBe(true)
    await settle()
    const error = closedError(client)
    expect(error).toBeInstanceOf(ServerClosedError)
    expect(error).toMatchObject({ code: 4005, codeName: 'KICKED', reason: 'banned by moderator' })
    await expect(pending).rejects.toBe(error)
    expect(client.pending).toBe(0)
    expect(statuses.filter((s) => s.type === 'closed')).toHaveLength(1)
    const dials = w.network.client('c1').dials
    environment.fire('online')
    await w.advance(600_000)
    expect(w.network.client('c1').dials).toBe(dials)
    expect(storage.load()).toBeUndefined()
    expect(environment.unsubscribed).toBe(1)
  })

  it('LL-INTENT-3, LL-CLIENT-4: a GOING_AWAY bye with retryAfterMs is honoured, then the session resumes', async () => {
    const w = await world()
    const environment = new FakeEnvironment()
    const client = w.client('c1', { environment })
    const sid = await open(client)
    const fake = w.network.client('c1')
    const dials = fake.dials
    w.server.goAway({ retryAfterMs: 2000, jitterMs: 1000 })
    await settle()
    // 2000 + 1000 * 0.5
    expect(client.status).toEqual({ type: 'waiting', attempt: 0, delayMs: 2500, reason: 'server' })
    environment.fire('online') // does not jump the server's queue
    await w.advance(2499)
    expect(fake.dials).toBe(dials)
    expect(client.status.type).toBe('waiting')
    await w.advance(1)
    expect(fake.dials).toBe(dials + 1)
    expect(client.status).toEqual({ type: 'open', sid, resumed: true, recovered: true, transport: 'fake' })
    client.close()
  })

  it('LL-RESUME-8: SESSION_REPLACED (4006) closes the older client for good; the newer one resumes', async () => {
    const w = await world()
    const storageA = memoryStorage()
    const a = w.client('tab-a', { storage: storageA })
    const sid = await open(a)
    const copy = storageA.load()
    expect(copy?.memento).toEqual(expect.any(String))
    const b = w.client('tab-b', { storage: memoryStorage(copy) })
    b.connect()
    await settle()
    expect(b.status).toEqual({ type: 'open', sid, resumed: true, recovered: true, transport: 'fake' })
    const error = closedError(a)
    expect(error).toBeInstanceOf(ServerClosedError)
    expect(error).toMatchObject({ code: 4006, codeName: 'SESSION_REPLACED' })
    const dials = w.network.client('tab-a').dials
    await run(w, 120_000)
    expect(w.network.client('tab-a').dials).toBe(dials)
    expect(storageA.load()).toBeUndefined()
    expect(b.status.type).toBe('open')
    b.close()
  })

  it('LL-BEAT-3: a black-holed link is detected by heartbeat and the client resumes', async () => {
    const w = await world({ heartbeatMs: 1000, heartbeatTimeoutMs: 500 })
    const client = w.client('c1')
    const statuses = statusLog(client)
    const sid = await open(client)
    w.network.client('c1').blackhole()
    await w.advance(1499)
    expect(client.status.type).toBe('open')
    await w.advance(1)
    await w.advance(0)
    expect(statuses.map((s) => s.type)).toEqual(['connecting', 'open', 'waiting', 'connecting', 'open'])
    expect(client.status).toMatchObject({ type: 'open', sid, resumed: true })
    client.close()
  })
})

describe('LifelineClient: environment signals (LL-BEAT-4)', () => {
  it('LL-BEAT-4: connect while offline waits without dialing; online dials at once', async () => {
    const w = await world()
    const environment = new FakeEnvironment()
    environment.online = false
    const client = w.client('c1', { environment })
    client.connect()
    expect(client.status).toEqual({ type: 'waiting', attempt: 0, delayMs: 0, reason: 'offline' })
    await w.advance(60_000)
    expect(w.network.client('c1').dials).toBe(0)
    environment.fire('online')
    expect(client.status.type).toBe('connecting')
    await settle()
    expect(client.status.type).toBe('open')
    client.close()
  })

  it('LL-BEAT-4: offline while waiting cancels the retry; online dials at once', async () => {
    const w = await world()
    const environment = new FakeEnvironment()
    const client = w.client('c1', { environment, retryDelay: () => 5000 })
    await open(client)
    const link = await dropAndStayAway(w)
    await w.advance(0)
    expect(client.status).toEqual({ type: 'waiting', attempt: 1, delayMs: 5000, reason: 'backoff' })
    const fake = w.network.client('c1')
    const dials = fake.dials
    environment.fire('offline')
    expect(client.status).toEqual({ type: 'waiting', attempt: 1, delayMs: 5000, reason: 'offline' })
    await w.advance(60_000)
    expect(fake.dials).toBe(dials)
    link.reachable()
    environment.fire('online')
    expect(fake.dials).toBe(dials + 1)
    await settle()
    expect(client.status).toMatchObject({ type: 'open', resumed: true })
    client.close()
  })

  it('LL-BEAT-4: online while backing off skips the rest of the backoff', async () => {
    const w = await world()
    const environment = new FakeEnvironment()
    const client = w.client('c1', { environment, retryDelay: () => 30_000 })
    await open(client)
    const link = await dropAndStayAway(w)
    await w.advance(0)
    expect(client.status).toMatchObject({ type: 'waiting', delayMs: 30_000 })
    link.reachable()
    environment.fire('online')
    await settle()
    expect(client.status.type).toBe('open')
    client.close()
  })

  it('LL-BEAT-4: becoming visible sends a ping on the open link; the server answers pong', async () => {
    const w = await world()
    const wire = tapWire(w)
    const environment = new FakeEnvironment()
    const client = w.client('c1', { environment })
    await open(client)
    expect(wire.sent('c1', 'ping')).toEqual([])
    environment.fire('visible')
    await settle()
    const pings = wire.sent('c1', 'ping')
    expect(pings).toHaveLength(1)
    expect(wire.received('c1', 'pong')).toEqual([{ type: 'pong', id: pings[0]?.id }])
    client.close()
  })

  it('LL-BEAT-4, LL-ACK-2: becoming hidden flushes pending acks at once', async () => {
    const w = await world()
    const wire = tapWire(w)
    const environment = new FakeEnvironment()
    const client = w.client('c1', { environment })
    const sid = await open(client)
    await w.server.send(sid, { n: 1 })
    await settle()
    expect(wire.sent('c1', 'ack')).toEqual([])
    environment.fire('hidden')
    await settle()
    expect(wire.sent('c1', 'ack')).toEqual([{ type: 'ack', seq: 1 }])
    // Nothing is left for the ack timer to send.
    await w.advance(1000)
    expect(wire.sent('c1', 'ack')).toHaveLength(1)
    client.close()
  })

  it('LL-BEAT-4: close() stops listening to the environment', async () => {
    const w = await world()
    const environment = new FakeEnvironment()
    const client = w.client('c1', { environment })
    await open(client)
    expect(environment.handlers).toBeDefined()
    client.close()
    expect(environment.unsubscribed).toBe(1)
    expect(environment.handlers).toBeUndefined()
  })
})

describe('LifelineClient: inbound entries and acks (LL-ACK-1, LL-ACK-2)', () => {
  it('LL-ACK-2: acks are batched by count (ackEvery) and by time (ackDelayMs)', async () => {
    const w = await world()
    const wire = tapWire(w)
    const client = w.client('c1', { ackEvery: 3, ackDelayMs: 200 })
    const messages: unknown[] = []
    client.on('message', (message) => messages.push(message))
    const sid = await open(client)
    await w.server.send(sid, 'a')
    await w.server.send(sid, 'b')
    await settle()
    expect(wire.sent('c1', 'ack')).toEqual([])
    await w.server.send(sid, 'c')
    await settle()
    expect(wire.sent('c1', 'ack')).toEqual([{ type: 'ack', seq: 3 }])
    await w.server.send(sid, 'd')
    await w.advance(199)
    expect(wire.sent('c1', 'ack')).toHaveLength(1)
    await w.advance(1)
    expect(wire.sent('c1', 'ack')).toEqual([
      { type: 'ack', seq: 3 },
      { type: 'ack', seq: 4 },
    ])
    expect(messages).toEqual([
      { topic: undefined, data: 'a', seq: 1 },
      { topic: undefined, data: 'b', seq: 2 },
      { topic: undefined, data: 'c', seq: 3 },
      { topic: undefined, data: 'd', seq: 4 },
    ])
    client.close()
  })

  it('LL-ACK-1: topic entries are acked with their topic, one ack per stream', async () => {
    const w = await world()
    const wire = tapWire(w)
    const client = w.client('c1')
    const sid = await open(client)
    await client.join('room')
    await w.server.publish('room', 'm1')
    await w.server.send(sid, 'direct')
    await w.server.publish('room', 'm2')
    await w.advance(200)
    const acks = wire.sent('c1', 'ack')
    expect(acks).toHaveLength(2)
    expect(acks).toContainEqual({ type: 'ack', seq: 1 })
    // The topic stream holds the client's own joined presence (1) and the two messages.
    expect(acks).toContainEqual({ type: 'ack', topic: 'room', seq: 3 })
    client.close()
  })
})

describe('LifelineClient: storage and reloads', () => {
  it('LL-RESUME-1, LL-MEMENTO-1: a new client object on the same webStorage resumes the same sid (a page reload)', async () => {
    const w = await world()
    const wire = tapWire(w)
    const backing = new FakeWebStorage()
    const first = w.client('tab', { storage: webStorage(backing), retryDelay: () => 60_000 })
    const sid = await open(first)
    await w.server.send(sid, 'before reload')
    await w.advance(200) // delivered and acked: the cursor is stored
    const stored = JSON.parse(backing.items.get('lifeline.session') ?? '{}') as Record<string, unknown>
    expect(stored).toMatchObject({ memento: expect.any(String), cursors: { '': 1 } })
    // The page goes away: its link dies and it never comes back.
    w.network.client('tab').refusing = true
    w.network.client('tab').reset()
    await settle()
    const second = w.client('tab-reloaded', { storage: webStorage(backing) })
    const messages: unknown[] = []
    const sessions: SessionEvent[] = []
    second.on('message', (message) => messages.push(message.data))
    second.on('session', (session) => sessions.push(session))
    await w.server.send(sid, 'while reloading')
    second.connect()
    await settle()
    expect(second.status).toEqual({ type: 'open', sid, resumed: true, recovered: true, transport: 'fake' })
    expect(sessions).toEqual([
      { sid, resumed: true, recovered: true, resumeAsked: true, reason: undefined, graceMs: 120_000 },
    ])
    const hello = wire.sent('tab-reloaded', 'hello')[0]
    expect(hello).toMatchObject({ resume: { memento: stored.memento, seq: 1 } })
    // Only what the reloaded page had not seen is delivered.
    expect(messages).toEqual(['while reloading'])
    second.close()
    expect(backing.items.size).toBe(0)
    first.close()
  })

  it('LL-RESUME-1: memoryStorage given to a second client object resumes too, and close() clears it', async () => {
    const w = await world()
    const storage = memoryStorage()
    const first = w.client('one', { storage, retryDelay: () => 60_000 })
    const sid = await open(first)
    w.network.client('one').refusing = true
    w.network.client('one').reset()
    await settle()
    const second = w.client('two', { storage })
    second.connect()
    await settle()
    expect(second.status).toEqual({ type: 'open', sid, resumed: true, recovered: true, transport: 'fake' })
    second.close()
    expect(storage.load()).toBeUndefined()
    first.close()
  })

  it('LL-MEMENTO-1: a memento frame replaces the stored memento', async () => {
    const w = await world({ mementoTtlMs: 10_000, heartbeatMs: 1000 })
    const storage = memoryStorage()
    const client = w.client('c1', { storage })
    await open(client)
    const before = storage.load()?.memento
    await w.advance(6000) // past half-life: the server refreshes the memento (LL-MEMENTO-6)
    const after = storage.load()?.memento
    expect(after).toEqual(expect.any(String))
    expect(after).not.toBe(before)
    client.close()
  })
})

describe('LifelineClient: a new session after the grace period', () => {
  async function expire(w: World, client: LifelineClient) {
    const link = await dropAndStayAway(w)
    await w.advance(0)
    await w.advance(1500) // the grace (1000 ms) ends while the client is refused
    expect(client.status.type).toBe('waiting')
    link.reachable()
    await w.advance(100)
  }

  it('LL-RESUME-7, LL-APPM-3, LL-APPM-5: unrecovered carries the reason and the last app memento value, before any entry', async () => {
    const recovers: Array<Pick<RecoverContext, 'reason' | 'appMemento'>> = []
    const w = await world({
      graceMs: 1000,
      onRecover: async (context) => {
        recovers.push({ reason: context.reason, appMemento: context.appMemento })
        await context.session.send({ resync: true })
      },
    })
    const wire = tapWire(w)
    const client = w.client('c1', { retryDelay: () => 100 })
    const events: string[] = []
    const unrecovered: UnrecoveredEvent[] = []
    client.on('unrecovered', (event) => {
      unrecovered.push(event)
      events.push(`unrecovered:${event.reason}`)
    })
    client.on('message', (message) => events.push(`message:${JSON.stringify(message.data)}`))
    client.on('session', (session) => events.push(`session:${session.resumed}:${session.resumeAsked}`))
    const sid = await open(client)
    await w.server.send(sid, { doc: 812 }, { appMemento: { last: 812 } })
    await w.advance(200)
    const am = wire.received('c1', 'msg')[0]?.am
    expect(am).toEqual(expect.any(String))
    expect(wire.received('c1', 'msg')[0]?.amv).toEqual({ last: 812 })
    expect(client.appMemento()).toEqual({ last: 812 })
    await expire(w, client)
    await settle()
    const status = client.status
    expect(status).toMatchObject({ type: 'open', resumed: false, recovered: false })
    expect(status.type === 'open' ? status.sid : sid).not.toBe(sid)
    expect(unrecovered).toEqual([{ reason: 'expired', appMemento: { last: 812 }, direct: true, topics: [] }])
    expect(events).toEqual([
      'session:false:false',
      'message:{"doc":812}',
      'session:false:true',
      'unrecovered:expired',
      'message:{"resync":true}',
    ])
    expect(recovers).toEqual([{ reason: 'expired', appMemento: { last: 812 } }])
    expect(wire.sent('c1', 'hello').at(-1)).toMatchObject({ am, resume: { seq: 1 } })
    expect(client.recovered).toBe(false)
    client.close()
  })

  it('LL-RESUME-6: pending sends go again in the new session, numbered from 1, with their ids', async () => {
    const processed: Array<{ id: string; seq: number; data: unknown }> = []
    const w = await world({
      graceMs: 1000,
      onMessage: (message) => {
        processed.push({ id: message.id, seq: message.seq, data: message.data })
      },
    })
    const client = w.client('c1', { retryDelay: () => 100, idPrefix: 'px' })
    await open(client)
    await client.send('one')
    const link = await dropAndStayAway(w)
    const two = client.send('two')
    const three = client.send('three')
    await w.advance(1500)
    link.reachable()
    await w.advance(100)
    await Promise.all([two, three])
    expect(processed).toEqual([
      { id: 'px.1', seq: 1, data: 'one' },
      { id: 'px.2', seq: 1, data: 'two' },
      { id: 'px.3', seq: 2, data: 'three' },
    ])
    client.close()
  })

  it('LL-TOPIC-6: the rejoin hook chooses which topics a new session joins again, with from = cursor', async () => {
    const w = await world({ graceMs: 1000 })
    const wire = tapWire(w)
    const offered: string[][] = []
    const client = w.client('c1', {
      retryDelay: () => 100,
      rejoin: async (topics) => {
        offered.push([...topics])
        return topics.filter((topic) => topic !== 'b')
      },
    })
    await open(client)
    await Promise.all([client.join('a'), client.join('b'), client.join('c')])
    await w.server.publish('a', 'a-1')
    await w.advance(200)
    const joinsBefore = wire.sent('c1', 'join').length
    await expire(w, client)
    await settle()
    expect(offered).toEqual([['a', 'b', 'c']])
    const rejoins = wire.sent('c1', 'join').slice(joinsBefore)
    expect(rejoins).toEqual([
      { type: 'join', topic: 'a', from: 2, epoch: expect.any(String) },
      { type: 'join', topic: 'c', from: 1, epoch: expect.any(String) },
    ])
    expect(client.joinedTopics).toEqual(['a', 'c'])
    expect([...(w.server.session(client.sid ?? '')?.topics ?? [])].sort()).toEqual(['a', 'c'])
    client.close()
  })

  it('LL-TOPIC-6: without a rejoin hook a new session joins every topic again', async () => {
    const w = await world({ graceMs: 1000 })
    const client = w.client('c1', { retryDelay: () => 100 })
    await open(client)
    await Promise.all([client.join('a'), client.join('b')])
    await expire(w, client)
    await settle()
    expect(client.status).toMatchObject({ type: 'open', resumed: false })
    expect([...(w.server.session(client.sid ?? '')?.topics ?? [])].sort()).toEqual(['a', 'b'])
    client.close()
  })
})

describe('LifelineClient: topics', () => {
  it('LL-TOPIC-1: join of an invalid topic rejects with TypeError and sends nothing', async () => {
    const w = await world()
    const wire = tapWire(w)
    const client = w.client('c1')
    await open(client)
    for (const topic of ['', 'a b', 'x'.repeat(201), '\u00e9']) {
      await expect(client.join(topic)).rejects.toBeInstanceOf(TypeError)
    }
    await settle()
    expect(wire.sent('c1', 'join')).toEqual([])
    expect(client.joinedTopics).toEqual([])
    client.close()
  })

  it('LL-TOPIC-1: a refused join rejects with JoinError and emits joinError; other joins succeed', async () => {
    const w = await world({ onJoin: (topic) => topic !== 'secret' })
    const client = w.client('c1')
    const joinErrors: unknown[] = []
    const joined: unknown[] = []
    client.on('joinError', (event) => joinErrors.push(event))
    client.on('joined', (event) => joined.push(event))
    await open(client)
    const secret = client.join('secret')
    const room = client.join('room')
    await expect(secret).rejects.toBeInstanceOf(JoinError)
    await expect(secret).rejects.toMatchObject({ topic: 'secret', code: 4301 })
    await room
    expect(joinErrors).toEqual([{ topic: 'secret', code: 4301, reason: 'join denied' }])
    expect(joined).toEqual([{ topic: 'room', recovered: undefined, presence: true, seq: 0 }])
    expect(client.joinedTopics).toEqual(['room'])
    client.close()
  })

  it('LL-TOPIC-1: a join asked before connecting is sent after welcome', async () => {
    const w = await world()
    const client = w.client('c1')
    const joined = client.join('early')
    expect(client.joinedTopics).toEqual(['early'])
    client.connect()
    await joined
    expect([...(w.server.session(client.sid ?? '')?.topics ?? [])]).toEqual(['early'])
    client.close()
  })

  it('LL-TOPIC-4: leave sends leave, the server answers unjoined, and the topic delivers nothing more', async () => {
    const w = await world()
    const wire = tapWire(w)
    const client = w.client('c1')
    const messages: unknown[] = []
    const unjoined: unknown[] = []
    client.on('message', (message) => messages.push(message.data))
    client.on('unjoined', (event) => unjoined.push(event))
    const sid = await open(client)
    await client.join('room')
    await w.server.publish('room', 'in')
    await settle()
    client.leave('room')
    client.leave('room') // a second leave sends nothing
    client.leave('never-joined')
    await settle()
    expect(wire.sent('c1', 'leave')).toEqual([{ type: 'leave', topic: 'room' }])
    expect(unjoined).toEqual([{ topic: 'room', code: undefined, reason: undefined }])
    expect(client.joinedTopics).toEqual([])
    await w.server.publish('room', 'out')
    await settle()
    expect(messages).toEqual(['in'])
    expect([...(w.server.session(sid)?.topics ?? [])]).toEqual([])
    client.close()
  })

  it('LL-TOPIC-5: on resume the client joins topics the server lacks and leaves the ones it no longer wants', async () => {
    const w = await world()
    const wire = tapWire(w)
    const client = w.client('c1', { retryDelay: () => 100 })
    const sid = await open(client)
    await Promise.all([client.join('keep'), client.join('drop')])
    const link = await dropAndStayAway(w)
    client.leave('drop')
    const added = client.join('add')
    link.reachable()
    await w.advance(0)
    await added
    expect(client.status).toMatchObject({ type: 'open', sid, resumed: true })
    const afterResume = wire
      .sent('c1')
      .filter((f) => f.type === 'join' || f.type === 'leave')
      .slice(2)
    expect(afterResume).toHaveLength(2)
    expect(afterResume).toContainEqual({ type: 'leave', topic: 'drop' })
    expect(afterResume).toContainEqual({ type: 'join', topic: 'add' })
    expect(client.joinedTopics).toEqual(['keep', 'add'])
    expect([...(w.server.session(sid)?.topics ?? [])].sort()).toEqual(['add', 'keep'])
    client.close()
  })

  it('LL-PRESENCE-1, LL-PRESENCE-3: members() follows joined, away, reconnected and left', async () => {
    const w = await world({ graceMs: 60_000 })
    const one = w.client('one')
    const two = w.client('two', { retryDelay: () => 100 })
    const presence: Array<[string, string]> = []
    one.on('presence', (change) => presence.push([change.sid, change.event]))
    await open(one)
    await one.join('room')
    const twoSid = await open(two)
    await two.join('room')
    await settle()
    expect(one.members('room').get(twoSid)?.state).toBe('online')
    const link = await dropAndStayAway(w, 'two')
    await settle()
    expect(one.members('room').get(twoSid)?.state).toBe('away')
    link.reachable()
    await w.advance(0)
    await w.advance(100)
    await settle()
    expect(two.status.type).toBe('open')
    expect(one.members('room').get(twoSid)?.state).toBe('online')
    two.close()
    await settle()
    expect(one.members('room').has(twoSid)).toBe(false)
    expect(presence.filter(([sid]) => sid === twoSid).map(([, event]) => event)).toEqual([
      'joined',
      'away',
      'reconnected',
      'left',
    ])
    expect(one.members('nowhere').size).toBe(0)
    one.close()
  })
})

describe('LifelineClient: nothing left behind', () => {
  it('LL-INTENT-1: no timers are left after close()', async () => {
    const w = await world()
    const client = w.client('c1')
    const sid = await open(client)
    await client.join('room')
    await w.server.send(sid, 'x') // arms the ack timer
    await settle()
    client.close()
    await w.advance(0)
    expect(w.server.stats.sessions).toBe(0)
    expect(w.clock.pendingTimers).toBe(0)
  })

  it('LL-INTENT-3: after a server shutdown and close() no timers are left', async () => {
    const w = await world()
    const client = w.client('c1')
    await open(client)
    await w.server.shutdown({ retryAfterMs: 100, jitterMs: 0 })
    await settle()
    expect(client.status).toMatchObject({ type: 'waiting', reason: 'server', delayMs: 100 })
    await w.advance(100) // the server is gone: the dial is refused and backed off
    expect(client.status).toMatchObject({ type: 'waiting', reason: 'backoff', attempt: 1 })
    client.close()
    await settle()
    expect(w.clock.pendingTimers).toBe(0)
  })
})

describe('LifelineClient: transports and encodings', () => {
  it('LL-SIO-1: over an object transport, frames travel as objects and sends keep their topic', async () => {
    const clock = new SimulatedClock()
    const network = new FakeNetwork(clock, { encoding: 'object' })
    const processed: Array<{ topic: string | undefined; data: unknown }> = []
    const server = createServer({
      secret: 'y'.repeat(32),
      clock,
      onMessage: (message) => {
        processed.push({ topic: message.topic, data: message.data })
      },
    })
    await server.attach(network.serverTransport())
    const payloads: unknown[] = []
    network.tap = (_client, direction, payload) => {
      if (direction === 'c2s') payloads.push(payload)
    }
    const client = createClient({ transport: network.client('obj'), clock, random: () => 0.5 })
    client.connect()
    await settle()
    expect(client.status.type).toBe('open')
    await client.send({ n: 1 })
    await client.send('topical', { topic: 'room' })
    expect(processed).toEqual([
      { topic: undefined, data: { n: 1 } },
      { topic: 'room', data: 'topical' },
    ])
    expect(payloads.every((payload) => typeof payload === 'object')).toBe(true)
    expect(payloads).toContainEqual(
      expect.objectContaining({ type: 'send', seq: 2, topic: 'room', data: 'topical' }),
    )
    client.close()
    await server.shutdown()
  })

  it('LL-WS-2: frames ready in the same tick leave as one batch; batch:false sends them one by one', async () => {
    for (const batch of [true, false]) {
      const w = await world()
      const payloads: string[] = []
      w.network.tap = (_client, direction, payload) => {
        if (direction === 'c2s' && typeof payload === 'string') payloads.push(payload)
      }
      const client = w.client('c1', { batch })
      await open(client)
      payloads.length = 0
      await Promise.all([client.send('a'), client.send('b'), client.send('c')])
      const sends = payloads.filter((p) => p.includes('"send"'))
      if (batch) {
        expect(sends).toHaveLength(1)
        expect(JSON.parse(sends[0] ?? '[]')).toHaveLength(3)
      } else {
        expect(sends).toHaveLength(3)
        expect(sends.every((p) => p.startsWith('{'))).toBe(true)
      }
      client.close()
    }
  })

  it('LL-CLIENT-1, LL-CLIENT-2: a transport whose connect throws counts as a failed attempt', async () => {
    const w = await world()
    let dials = 0
    const transport: ClientTransport = {
      encoding: 'text',
      name: 'broken',
      connect: () => {
        dials++
        throw new SyntaxError('invalid url')
      },
    }
    const client = w.client('c1', { transport, maxAttempts: 3, retryDelay: () => 10 })
    client.connect()
    expect(client.status).toEqual({ type: 'waiting', attempt: 1, delayMs: 10, reason: 'backoff' })
    await w.advance(10)
    expect(client.status).toEqual({ type: 'waiting', attempt: 2, delayMs: 10, reason: 'backoff' })
    await w.advance(10)
    expect(client.status).toMatchObject({ type: 'closed', error: { name: 'MaxAttemptsError', attempts: 3 } })
    expect(dials).toBe(3)
    expect(w.clock.pendingTimers).toBe(0)
  })

  it('LL-TOPIC-6: a rejoin hook that fails is reported as an error event and joins nothing', async () => {
    const w = await world({ graceMs: 1000 })
    const wire = tapWire(w)
    const client = w.client('c1', {
      retryDelay: () => 100,
      rejoin: () => Promise.reject(new Error('cannot decide')),
    })
    const errors: Error[] = []
    client.on('error', (error) => errors.push(error))
    await open(client)
    await client.join('a')
    const joins = wire.sent('c1', 'join').length
    const link = await dropAndStayAway(w)
    await w.advance(0)
    await w.advance(1500)
    link.reachable()
    await w.advance(100)
    await settle()
    expect(client.status).toMatchObject({ type: 'open', resumed: false })
    expect(errors.map((e) => e.message)).toEqual(['cannot decide'])
    expect(wire.sent('c1', 'join')).toHaveLength(joins)
    client.close()
  })

  it('LL-BEAT-4: visible and hidden signals without a link are harmless', async () => {
    const w = await world()
    const environment = new FakeEnvironment()
    const client = w.client('c1', { environment, retryDelay: () => 1000 })
    await open(client)
    await dropAndStayAway(w)
    await w.advance(0)
    expect(client.status.type).toBe('waiting')
    environment.fire('visible')
    environment.fire('hidden')
    await settle()
    expect(client.status).toMatchObject({ type: 'waiting', attempt: 1 })
    client.close()
  })
})
