import { transportContract } from '../src/contract.js'
import { systemClock } from '../src/index.js'
import { FakeNetwork } from '../src/testing.js'

// The contract suite checked against the fake network itself, in both encodings.
for (const encoding of ['text', 'object'] as const) {
  transportContract(`fake network (${encoding})`, {
    capabilities: { closeCodes: true, probe: false, pauseReading: true },
    start: async () => {
      const network = new FakeNetwork(systemClock, { encoding })
      return { server: network.serverTransport(), client: () => network.client(), stop: async () => {} }
    },
  })
}
