import type { ClientOptions } from '../src/client/options.js'
import { createClient, type LifelineClient, silentLogger } from '../src/index.js'
import { createServer, type LifelineServer, type ServerOptions } from '../src/server.js'
import { FakeNetwork, SimulatedClock } from '../src/testing.js'

/** Lets every queued microtask and delivery run, without moving simulated time. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}

export interface World {
  clock: SimulatedClock
  network: FakeNetwork
  server: LifelineServer
  client(id?: string, options?: Partial<ClientOptions>): LifelineClient
  advance(ms: number): Promise<void>
}

export async function world(serverOptions: ServerOptions = {}): Promise<World> {
  const clock = new SimulatedClock()
  const network = new FakeNetwork(clock)
  const server = createServer({ secret: 'x'.repeat(32), clock, ...serverOptions })
  await server.attach(network.serverTransport())
  return {
    clock,
    network,
    server,
    client: (id = 'c1', options = {}) =>
      createClient({
        transport: network.client(id),
        clock,
        random: () => 0.5,
        logger: silentLogger,
        ...options,
      }),
    advance: async (ms) => {
      await settle()
      clock.advance(ms)
      await settle()
    },
  }
}

export interface RawClient {
  readonly frames: Array<Record<string, unknown>>
  /** Transport messages received (a batch of frames is one). */
  payloads: number
  closed: { code: number; reason: string } | undefined
  send(frame: unknown): void
  sendText(text: string): void
  close(): void
  /** The last frame of a type, or undefined. */
  last(type: string): Record<string, unknown> | undefined
}

/** A client that speaks raw frames, to drive the server where the real client never would. */
export function rawClient(network: FakeNetwork, id: string): RawClient {
  const client: RawClient = {
    frames: [],
    payloads: 0,
    closed: undefined,
    send: (frame) => link.send(JSON.stringify(frame)),
    sendText: (text) => link.send(text),
    close: () => link.close(1000, 'done'),
    last: (type) => [...client.frames].reverse().find((frame) => frame.type === type),
  }
  const link = network.client(id).connect({
    open: () => {},
    message: (payload) => {
      client.payloads++
      const value: unknown = typeof payload === 'string' ? JSON.parse(payload) : payload
      for (const frame of Array.isArray(value) ? value : [value])
        client.frames.push(frame as Record<string, unknown>)
    },
    close: (info) => {
      client.closed = { code: info.code, reason: info.reason }
    },
    protocolError: () => {},
  })
  return client
}

export const hello = (extra: Record<string, unknown> = {}) => ({
  type: 'hello',
  versions: [1],
  attempt: 0,
  ...extra,
})
