import type { ClientOptions } from '../src/client/options.js'
import { createClient, type LifelineClient } from '../src/index.js'
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
      createClient({ transport: network.client(id), clock, random: () => 0.5, ...options }),
    advance: async (ms) => {
      await settle()
      clock.advance(ms)
      await settle()
    },
  }
}
