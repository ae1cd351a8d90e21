import { type NatsServer, startNatsServer } from '@lifeline/testkit'
import { chaosContract } from '@lifeline/testkit/contract'
import { natsTransport } from '../src/node.js'
import { natsServerTransport } from '../src/server.js'

// The chaos contract over NATS: the fault proxy sits between the clients and the nats-server they
// dial (the Lifeline server's own NATS connection is direct), so resets, drops without a word, black
// holes, slices, latency and bandwidth limits hit each client's NATS connection, which Lifeline's
// heartbeat, resume and replay repair (LL-NATS-8). 30 s in CI (CHAOS_MS overrides it).
chaosContract('nats', {
  durationMs: Number(process.env.CHAOS_MS ?? 30_000),
  // NATS's max_payload (1 MiB) less the binding's headers (LL-NATS-4).
  serverOptions: { maxFrameBytes: 512 * 1024 },
  start: async () => {
    const nats: NatsServer = await startNatsServer({ jetstream: false })
    const prefix = `lifeline.chaos${Math.random().toString(36).slice(2, 8)}`
    const server = natsServerTransport({ connection: { servers: nats.url }, prefix })
    return {
      server,
      target: { port: nats.port },
      client: (proxyPort) => natsTransport({ servers: `nats://127.0.0.1:${proxyPort}` }, { prefix }),
      stop: async () => {
        await server.close()
        await nats.stop()
      },
    }
  },
})
