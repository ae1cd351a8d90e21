/** Shared helpers for the Socket.IO tests: a real Socket.IO server with Lifeline on it, and cleanup. */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type ClientOptions, createClient, inertEnvironment, type LifelineClient } from '@lifeline/core'
import { createServer, type LifelineServer, type ServerOptions } from '@lifeline/core/server'
import { FaultProxy, waitFor } from '@lifeline/testkit'
import { type ServerOptions as IoOptions, Server } from 'socket.io'
import { afterEach } from 'vitest'
import { type SocketIoTransportOptions, socketIoTransport } from '../src/index.js'
import { type SocketIoServerOptions, socketIoServerTransport } from '../src/server.js'

const cleanups: (() => unknown)[] = []

/** Runs `cleanup` after the current test, last registered first. */
export function onCleanup(cleanup: () => unknown): void {
  cleanups.push(cleanup)
}

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

export type Mode = 'websocket' | 'polling'
export const MODES: readonly Mode[] = ['websocket', 'polling']

/** An HTTP server with a Socket.IO server on it, listening on a free port, closed after the test. */
export async function ioServer(options: Partial<IoOptions> = {}): Promise<{
  io: Server
  http: HttpServer
  port: number
}> {
  const http = createHttpServer()
  const io = new Server(http, options)
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  const { port } = http.address() as AddressInfo
  onCleanup(async () => {
    const closed = new Promise<void>((resolve) => void io.close(() => resolve()))
    http.closeAllConnections() // a long-poll left hanging (a dial to a wrong path) must not hold the test
    await closed
  })
  return { io, http, port }
}

export interface Stack {
  readonly server: LifelineServer
  readonly io: Server
  readonly proxy: FaultProxy
  /** Through the proxy. */
  readonly url: string
  /** Straight to the server. */
  readonly directUrl: string
  readonly away: { sid: string; code: number }[]
}

/** A Lifeline server on Socket.IO, behind a fault proxy. */
export async function stack(
  options: ServerOptions = {},
  transport: SocketIoServerOptions = {},
  io: Partial<IoOptions> = {},
): Promise<Stack> {
  const served = await ioServer(io)
  const server = createServer({ heartbeatMs: 200, heartbeatTimeoutMs: 200, graceMs: 1000, ...options })
  await server.attach(socketIoServerTransport(served.io, transport))
  const proxy = new FaultProxy(served.port)
  const proxyPort = await proxy.start()
  onCleanup(async () => {
    await server.shutdown()
    await proxy.close()
  })
  const away: { sid: string; code: number }[] = []
  server.on('away', (event) => away.push(event))
  return {
    server,
    io: served.io,
    proxy,
    url: `http://127.0.0.1:${proxyPort}`,
    directUrl: `http://127.0.0.1:${served.port}`,
    away,
  }
}

export interface TestClient {
  readonly client: LifelineClient
  readonly messages: { topic: string | undefined; data: unknown }[]
  readonly presence: { sid: string; event: string }[]
}

/** A connected client over Socket.IO in the given mode. */
export async function open(
  url: string,
  mode: Mode,
  options: Partial<ClientOptions> = {},
  transport: SocketIoTransportOptions = {},
): Promise<TestClient> {
  const client = createClient({
    transport: socketIoTransport(url, { transports: [mode], ...transport }),
    environment: inertEnvironment,
    retryDelay: () => 50,
    connectTimeoutMs: 1000,
    ...options,
  })
  const test: TestClient = { client, messages: [], presence: [] }
  client.on('message', (message) => test.messages.push({ topic: message.topic, data: message.data }))
  client.on('presence', (change) => test.presence.push({ sid: change.sid, event: change.event }))
  onCleanup(() => client.close())
  client.connect()
  await waitFor(() => client.status.type === 'open', { what: 'the client to open' })
  return test
}

export const dataOf = (test: TestClient, topic: string | undefined) =>
  test.messages.filter((message) => message.topic === topic).map((message) => message.data)

export const resumedAgain = (client: LifelineClient) => client.status.type === 'open' && client.wasReconnected

export function sidOf(client: LifelineClient): string {
  const sid = client.sid
  if (sid === undefined) throw new Error('no session')
  return sid
}
