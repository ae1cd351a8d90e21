/**
 * The whole stack on real sockets and real time: LifelineServer and LifelineClient from @lifeline/core,
 * the ws transports, and a fault-injecting TCP proxy between them. Timings are short, and every wait
 * is a poll with a deadline; fixed sleeps only assert that nothing happens.
 */
import {
  type ClientOptions,
  type ClientTransport,
  createClient,
  inertEnvironment,
  type LifelineClient,
  ServerClosedError,
  type UnrecoveredEvent,
} from '@lifeline/core'
import {
  createServer,
  type LifelineServer,
  type RecoverContext,
  type ServerOptions,
} from '@lifeline/core/server'
import { FaultProxy, sleep, waitFor } from '@lifeline/testkit'
import { describe, expect, it } from 'vitest'
import { wsTransport } from '../src/node.js'
import { wsServerTransport } from '../src/server.js'
import { onCleanup } from './helpers.js'

const HEARTBEAT_MS = 200
const HEARTBEAT_TIMEOUT_MS = 200

interface Stack {
  readonly server: LifelineServer
  readonly proxy: FaultProxy
  /** Through the proxy. */
  readonly url: string
  /** Straight to the server. */
  readonly directUrl: string
  readonly away: { sid: string; code: number }[]
}

async function stack(options: ServerOptions = {}): Promise<Stack> {
  const server = createServer({
    secret: 'integration-secret-integration-secret',
    heartbeatMs: HEARTBEAT_MS,
    heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
    graceMs: 1000,
    ...options,
  })
  const transport = wsServerTransport({ port: 0 })
  await server.attach(transport)
  const proxy = new FaultProxy(transport.port)
  const proxyPort = await proxy.start()
  onCleanup(async () => {
    await server.shutdown()
    await proxy.close()
  })
  const away: { sid: string; code: number }[] = []
  server.on('away', (event) => away.push(event))
  return {
    server,
    proxy,
    url: `ws://127.0.0.1:${proxyPort}/lifeline`,
    directUrl: `ws://127.0.0.1:${transport.port}/lifeline`,
    away,
  }
}

interface TestClient {
  readonly client: LifelineClient
  readonly messages: { topic: string | undefined; data: unknown }[]
  readonly presence: { sid: string; event: string }[]
  readonly unrecovered: UnrecoveredEvent[]
  /** Every payload the client wrote, to count frames of a type. */
  readonly sent: string[]
}

/** Records what a transport writes. */
function spy(transport: ClientTransport, sent: string[]): ClientTransport {
  return {
    ...transport,
    connect: (handlers) => {
      const link = transport.connect(handlers)
      return {
        send: (payload) => {
          sent.push(String(payload))
          link.send(payload)
        },
        close: (code, reason) => link.close(code, reason),
      }
    },
  }
}

async function open(url: string, options: Partial<ClientOptions> = {}): Promise<TestClient> {
  const sent: string[] = []
  const client = createClient({
    transport: spy(wsTransport(url), sent),
    environment: inertEnvironment,
    retryDelay: () => 50,
    connectTimeoutMs: 1000,
    ...options,
  })
  const test: TestClient = { client, messages: [], presence: [], unrecovered: [], sent }
  client.on('message', (message) => test.messages.push({ topic: message.topic, data: message.data }))
  client.on('presence', (change) => test.presence.push({ sid: change.sid, event: change.event }))
  client.on('unrecovered', (event) => test.unrecovered.push(event))
  onCleanup(() => client.close())
  client.connect()
  await waitFor(() => client.status.type === 'open', { what: 'the client to open' })
  return test
}

const sidOf = (client: LifelineClient): string => {
  const sid = client.sid
  if (sid === undefined) throw new Error('no session')
  return sid
}
const dataOf = (test: TestClient, topic: string | undefined) =>
  test.messages.filter((message) => message.topic === topic).map((message) => message.data)
const frames = (test: TestClient, type: string) =>
  test.sent.reduce((count, text) => count + (text.match(new RegExp(`"type":"${type}"`, 'g'))?.length ?? 0), 0)
const resumedAgain = (client: LifelineClient) => client.status.type === 'open' && client.wasReconnected

/** Cuts the link abruptly and keeps the server unreachable until `restore` is called. */
function cut(proxy: FaultProxy): { restore(): void } {
  proxy.refuse(true)
  proxy.reset()
  return { restore: () => proxy.refuse(false) }
}

describe('ws integration: LifelineServer and LifelineClient over real sockets', () => {
  it('(a) resumes with replay after a drop: everything exactly once, in order, sends included', async () => {
    const processed: unknown[] = []
    const { server, proxy, url, away } = await stack({
      onMessage: (message) => void processed.push(message.data),
    })
    const alice = await open(url)
    await alice.client.join('room')
    await alice.client.send('before')
    await server.publish('room', 1)
    await waitFor(() => dataOf(alice, 'room').length === 1, { what: 'the first message' })
    const sid = sidOf(alice.client)

    const link = cut(proxy)
    await waitFor(() => away.some((event) => event.sid === sid) && alice.client.status.type !== 'open', {
      what: 'both sides to see the drop',
    })
    await server.publish('room', 2)
    await server.publish('room', 3)
    await server.send(sid, 'direct while away')
    const sending = alice.client.send('while away')
    link.restore()

    await waitFor(() => resumedAgain(alice.client), { what: 'the resume' })
    expect(alice.client.status).toMatchObject({ type: 'open', sid, resumed: true, recovered: true })
    await sending
    proxy.sliceNext() // the next write is split mid-frame: framing must survive it
    await server.publish('room', 4)
    await waitFor(() => dataOf(alice, 'room').length === 4, { what: 'the replay and a live message' })
    expect(dataOf(alice, 'room')).toEqual([1, 2, 3, 4])
    expect(dataOf(alice, undefined)).toEqual(['direct while away'])
    expect(processed).toEqual(['before', 'while away'])
    expect(alice.unrecovered).toEqual([])
  })

  it('(b) ends the session after the grace period, tells peers it left, and recovers via the app memento', async () => {
    const recovered: RecoverContext[] = []
    const { server, proxy, url, directUrl } = await stack({
      onRecover: (context) => void recovered.push(context),
    })
    const peer = await open(directUrl)
    await peer.client.join('room')
    const alice = await open(url)
    await alice.client.join('room')
    const sid = sidOf(alice.client)
    await server.send(sid, { doc: 812 }, { appMemento: { lastAnnotation: 812 } })
    await waitFor(() => dataOf(alice, undefined).length === 1, { what: 'the message with the app memento' })

    const link = cut(proxy)
    await waitFor(() => peer.presence.some((change) => change.sid === sid && change.event === 'left'), {
      what: 'the peer to see alice leave',
      timeoutMs: 4000,
    })
    expect(peer.presence.filter((change) => change.sid === sid).map((change) => change.event)).toEqual([
      'joined',
      'away',
      'left',
    ])
    link.restore()

    await waitFor(() => resumedAgain(alice.client), { what: 'a new session' })
    expect(alice.client.status).toMatchObject({ type: 'open', resumed: false, recovered: false })
    expect(alice.client.sid).not.toBe(sid)
    expect(alice.unrecovered).toEqual([
      { reason: 'expired', appMemento: { lastAnnotation: 812 }, direct: true, topics: [] },
    ])
    await waitFor(() => recovered.length === 1, { what: 'the recover hook' })
    expect(recovered[0]).toMatchObject({ reason: 'expired', appMemento: { lastAnnotation: 812 } })
    expect(recovered[0]?.session.sid).toBe(alice.client.sid)
  })

  it('(c) a kick closes the client for good: no reconnect', async () => {
    const { server, proxy, url } = await stack()
    const alice = await open(url)
    const dials = proxy.dials
    expect(await server.kick(sidOf(alice.client), 'banned')).toBe(true)
    await waitFor(() => alice.client.status.type === 'closed', { what: 'the client to close' })
    const status = alice.client.status
    const error = status.type === 'closed' ? status.error : undefined
    expect(error).toBeInstanceOf(ServerClosedError)
    expect(error).toMatchObject({ code: 4005, reason: 'banned' })
    await sleep(500) // nothing may happen: no new dial
    expect(proxy.dials).toBe(dials)
    expect(server.stats.sessions).toBe(0)
  })

  it('(d) going away means coming back after the advised delay, and resuming', async () => {
    const { server, proxy, url } = await stack()
    const alice = await open(url)
    const sid = sidOf(alice.client)
    const dials = proxy.dials
    const wentAway = performance.now()
    server.goAway({ retryAfterMs: 300, jitterMs: 0 })
    await waitFor(() => alice.client.status.type === 'waiting', { what: 'the client to wait' })
    expect(alice.client.status).toMatchObject({ type: 'waiting', reason: 'server', delayMs: 300 })
    await sleep(200) // nothing may happen before the advised delay
    expect(proxy.dials).toBe(dials)
    await waitFor(() => resumedAgain(alice.client), { what: 'the resume' })
    expect((proxy.lastDialAt ?? 0) - wentAway).toBeGreaterThanOrEqual(295) // timers may fire ~1 ms early
    expect(proxy.dials).toBe(dials + 1)
    expect(alice.client.status).toMatchObject({ type: 'open', sid, resumed: true, recovered: true })
  })

  it('(e) a topic joined after connect is restored on resume, without a new join', async () => {
    const { server, proxy, url, away } = await stack()
    const alice = await open(url)
    await alice.client.join('late')
    const sid = sidOf(alice.client)
    const joins = frames(alice, 'join')
    expect(joins).toBe(1)

    const link = cut(proxy)
    await waitFor(() => away.some((event) => event.sid === sid), { what: 'the server to see the drop' })
    await server.publish('late', 'while away')
    link.restore()

    await waitFor(() => resumedAgain(alice.client), { what: 'the resume' })
    expect(alice.client.status).toMatchObject({ sid, resumed: true, recovered: true })
    await server.publish('late', 'live')
    await waitFor(() => dataOf(alice, 'late').length === 2, { what: 'both messages' })
    expect(dataOf(alice, 'late')).toEqual(['while away', 'live'])
    expect(frames(alice, 'join')).toBe(joins)
    expect(server.session(sid)?.topics.has('late')).toBe(true)
  })

  it('(f) a black-holed link is detected by heartbeat on both sides, then the client resumes', async () => {
    const { server, proxy, url, away } = await stack({ graceMs: 5000 })
    const alice = await open(url, { connectTimeoutMs: 500 })
    await alice.client.join('room')
    const sid = sidOf(alice.client)

    proxy.blackhole()
    const started = performance.now()
    const deadline = HEARTBEAT_MS + HEARTBEAT_TIMEOUT_MS + 300
    await waitFor(() => away.some((event) => event.sid === sid) && alice.client.status.type !== 'open', {
      what: 'both sides to declare the link dead',
      timeoutMs: deadline,
    })
    expect(performance.now() - started).toBeLessThan(deadline)
    expect(away.find((event) => event.sid === sid)?.code).toBe(4201) // HEARTBEAT_TIMEOUT
    await server.publish('room', 'while away')
    proxy.pass()

    await waitFor(() => resumedAgain(alice.client), { what: 'the resume through the proxy', timeoutMs: 3000 })
    expect(alice.client.status).toMatchObject({ type: 'open', sid, resumed: true, recovered: true })
    await waitFor(() => dataOf(alice, 'room').length === 1, { what: 'the replayed message' })
    expect(dataOf(alice, 'room')).toEqual(['while away'])
  })
})
