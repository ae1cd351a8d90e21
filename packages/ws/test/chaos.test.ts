import { chaosContract } from '@lifeline/testkit/contract'
import { wsTransport } from '../src/node.js'
import { wsServerTransport } from '../src/server.js'

// Over ws in CI for a minute, Socket.IO with connection state recovery alongside under the same faults.
// The soak script (scripts/chaos-soak.ts) runs the same for as long as asked.
chaosContract('ws', {
  durationMs: Number(process.env.CHAOS_MS ?? 60_000),
  compareWithSocketIo: true,
  start: async () => {
    const server = wsServerTransport({ port: 0 })
    return {
      server,
      // `port` is read once listening: the suite attaches the server before it reads the target.
      get target() {
        return { port: server.port }
      },
      client: (proxyPort) => wsTransport(`ws://127.0.0.1:${proxyPort}/lifeline`),
      stop: () => server.close(),
    }
  },
})
