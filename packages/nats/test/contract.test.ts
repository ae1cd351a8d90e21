import { transportContract } from '@lifeline/core/contract'
import { type NatsServer, startNatsServer } from '@lifeline/testkit'
import { afterAll, beforeAll } from 'vitest'
import { natsTransport } from '../src/node.js'
import { natsServerTransport } from '../src/server.js'

const maxPayload = 64 * 1024
let nats: NatsServer

beforeAll(async () => {
  nats = await startNatsServer({ jetstream: false })
})
afterAll(() => nats.stop())

transportContract('nats', {
  capabilities: { closeCodes: true, probe: false },
  maxPayloadBytes: maxPayload,
  start: async () => {
    // One deployment per test: its own prefix, so tests never see each other's connections.
    const prefix = `lifeline.t${Math.random().toString(36).slice(2, 10)}`
    const server = natsServerTransport({ connection: { servers: nats.url }, prefix, maxPayload })
    return {
      server,
      client: () => natsTransport({ servers: nats.url }, { prefix }),
      stop: () => server.close(),
    }
  },
})
