import { transportContract } from '@lifeline/core/contract'
import { wsTransport } from '../src/node.js'
import { wsServerTransport } from '../src/server.js'

const maxPayload = 64 * 1024

transportContract('ws', {
  capabilities: { closeCodes: true, probe: true, pauseReading: true },
  maxPayloadBytes: maxPayload,
  start: async () => {
    const server = wsServerTransport({ port: 0, maxPayload })
    return {
      server,
      // `port` is read at dial time: the contract starts listening after start() resolves.
      client: () => wsTransport(`ws://127.0.0.1:${server.port}/lifeline`, { probe: true, maxPayload }),
      stop: () => server.close(),
    }
  },
})
