/**
 * One session across transports (LL-RESUME-10): a client given ws and Socket.IO long-polling, behind a
 * proxy that starts refusing WebSocket upgrades and later long-polling requests. The session moves from
 * ws to Socket.IO and back, and every message in both directions arrives exactly once, in order.
 */
import { createServer as createHttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createClient, type LifelineClient, silentLogger } from '@lifeline/core'
import { createServer, type LifelineServer } from '@lifeline/core/server'
import { waitFor } from '@lifeline/testkit'
import { wsTransport } from '@lifeline/ws/node'
import { wsServerTransport } from '@lifeline/ws/server'
import { Server } from 'socket.io'
import { describe, expect, it } from 'vitest'
import { socketIoTransport } from '../src/index.js'
import { socketIoServerTransport } from '../src/server.js'
import { onCleanup } from './helpers.js'
import { UpgradeBlockingProxy } from './upgrade-proxy.js'

interface Setup {
  readonly server: LifelineServer
  readonly proxy: UpgradeBlockingProxy
  readonly origin: string
  readonly processed: unknown[]
  readonly sessions: { transport: string; resumed: boolean; recovered: boolean }[]
}

/** One HTTP server carrying both endpoints, one Lifeline server behind both, a proxy in front. */
async function setup(): Promise<Setup> {
  const http = createHttpServer()
  const processed: unknown[] = []
  const server = createServer({
    secret: 'cross-transport-tests-secret-0123456789',
    logger: silentLogger,
    heartbeatMs: 500,
    heartbeatTimeoutMs: 500,
    onMessage: (message) => void processed.push(message.data),
  })
  const io = new Server(http)
  await server.attach(wsServerTransport({ server: http }))
  await server.attach(socketIoServerTransport(io))
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  const proxy = new UpgradeBlockingProxy((http.address() as AddressInfo).port)
  const port = await proxy.start()
  onCleanup(async () => {
    await server.shutdown()
    await proxy.close()
    http.closeAllConnections()
    await new Promise<void>((resolve) => void io.close(() => resolve()))
  })
  const sessions: Setup['sessions'] = []
  server.on('session', (event) => void sessions.push(event))
  return { server, proxy, origin: `http://127.0.0.1:${port}`, processed, sessions }
}

/** Publishes `count` numbered messages and sends `count / 2` numbered ones from the client. */
async function traffic(
  server: LifelineServer,
  client: LifelineClient,
  counter: { published: number; sent: number },
  count: number,
): Promise<Promise<void>[]> {
  const sends: Promise<void>[] = []
  for (let i = 0; i < count; i++) {
    await server.publish('room', counter.published++)
    if (i % 2 === 0) sends.push(client.send(counter.sent++))
  }
  return sends
}

describe('one session across transports', () => {
  it('LL-RESUME-10: ws, then Socket.IO long-polling when upgrades are refused, then ws again: exactly once both ways', async () => {
    const { server, proxy, origin, processed, sessions } = await setup()
    const client = createClient({
      transport: [
        wsTransport(`${origin.replace('http', 'ws')}/lifeline`),
        socketIoTransport(origin, { transports: ['polling'], name: 'socket.io-polling' }),
      ],
      retryDelay: () => 20,
      connectTimeoutMs: 1000,
      logger: silentLogger,
    })
    onCleanup(() => client.close())
    const received: unknown[] = []
    const opened: string[] = []
    client.on('message', (message) => void received.push(message.data))
    client.on('status', (status) => {
      if (status.type === 'open') opened.push(status.transport)
    })
    client.connect()
    await client.join('room')
    const sid = client.sid
    const counter = { published: 0, sent: 0 }
    const sends: Promise<void>[] = []

    sends.push(...(await traffic(server, client, counter, 200))) // over ws
    await waitFor(() => received.length === counter.published, { what: 'the ws phase' })
    proxy.block() // the proxy now refuses WebSocket upgrades, and cuts the one open
    sends.push(...(await traffic(server, client, counter, 200))) // while it falls back
    await waitFor(() => client.status.type === 'open' && opened.length === 2, { what: 'the fallback' })
    expect(client.status).toMatchObject({
      transport: 'socket.io-polling',
      sid,
      resumed: true,
      recovered: true,
    })
    expect(proxy.upgradesRefused).toBeGreaterThanOrEqual(2)
    sends.push(...(await traffic(server, client, counter, 200))) // over long-polling
    await waitFor(() => received.length === counter.published, { what: 'the polling phase' })

    proxy.blockUpgrades = false // and now long-polling is what fails
    proxy.blockRequests = true
    sends.push(...(await traffic(server, client, counter, 200)))
    await waitFor(() => client.status.type === 'open' && opened.length === 3, {
      what: 'the way back',
      timeoutMs: 8000,
    })
    expect(client.status).toMatchObject({ transport: 'ws', sid, resumed: true, recovered: true })
    sends.push(...(await traffic(server, client, counter, 200))) // over ws again
    await Promise.all(sends)
    await waitFor(() => received.length === counter.published, { what: 'everything' })

    expect(counter).toEqual({ published: 1000, sent: 500 })
    expect(received).toEqual(Array.from({ length: 1000 }, (_, i) => i)) // none lost, none twice, in order
    expect(processed).toEqual(Array.from({ length: 500 }, (_, i) => i))
    expect(opened).toEqual(['ws', 'socket.io-polling', 'ws'])
    expect(sessions.map((event) => event.transport)).toEqual(['ws', 'socket.io', 'ws'])
    expect(sessions.slice(1).every((event) => event.resumed && event.recovered)).toBe(true)
    expect(client.pending).toBe(0)
  })

  it('LL-RESUME-10: a session started over Socket.IO resumes over ws, by an injected policy', async () => {
    const { server, origin, processed, sessions } = await setup()
    const transports = [
      socketIoTransport(origin, { transports: ['websocket'] }),
      wsTransport(`${origin.replace('http', 'ws')}/lifeline`),
    ]
    // The app's own rule: Socket.IO first, ws for every attempt after a drop.
    const client = createClient({
      transport: transports,
      transportPolicy: ({ lastOpen }) => (lastOpen === undefined ? 0 : 1),
      retryDelay: () => 20,
      logger: silentLogger,
    })
    onCleanup(() => client.close())
    const received: unknown[] = []
    client.on('message', (message) => void received.push(message.data))
    client.connect()
    await client.join('room')
    const counter = { published: 0, sent: 0 }
    const sends = await traffic(server, client, counter, 100)
    await waitFor(() => received.length === 100, { what: 'the Socket.IO phase' })
    expect(client.status).toMatchObject({ type: 'open', transport: 'socket.io' })
    const sid = client.sid as string
    server.drop(sid) // the link fails under the session
    sends.push(...(await traffic(server, client, counter, 100)))
    await Promise.all(sends)
    await waitFor(() => received.length === 200, { what: 'everything' })
    expect(client.status).toMatchObject({
      type: 'open',
      transport: 'ws',
      sid,
      resumed: true,
      recovered: true,
    })
    expect(received).toEqual(Array.from({ length: 200 }, (_, i) => i))
    expect(processed).toEqual(Array.from({ length: 100 }, (_, i) => i))
    expect(sessions.map((event) => event.transport)).toEqual(['socket.io', 'ws'])
  })
})
