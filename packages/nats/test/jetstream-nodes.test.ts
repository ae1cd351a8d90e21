/**
 * Two Lifeline server nodes on one nats-server, sharing the JetStream store and bus, clients spread
 * over both by the NATS queue group: a topic's messages reach every client exactly once, in order,
 * whichever node published them.
 */
import { type NatsServer, sleep, startNatsServer, waitFor } from '@lifeline/testkit'
import { connect } from '@nats-io/transport-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createJetStream } from '../src/jetstream.js'
import { natsTransport } from '../src/node.js'
import { node, onCleanup, open, uniquePrefix } from './helpers.js'

let nats: NatsServer
beforeAll(async () => {
  nats = await startNatsServer()
})
afterAll(() => nats.stop())

async function clusterNode(prefix: string, name: string) {
  const nc = await connect({ servers: nats.url })
  onCleanup(() => nc.close())
  const { store, bus } = await createJetStream(nc, { name, directStreamMaxBytes: 8 * 1024 * 1024 })
  return node(nc, prefix, { store, bus })
}

describe('several nodes on the JetStream store and bus', () => {
  it('fans a topic out across nodes: every client gets every message once, in order', async () => {
    const prefix = uniquePrefix()
    const name = `N${Math.random().toString(36).slice(2, 8)}`
    const a = await clusterNode(prefix, name)
    const dial = () => open(natsTransport({ servers: nats.url }, { prefix }))
    // Four clients on node a (the only one), then four on node b (a drains): both nodes have members.
    const onA = await Promise.all(Array.from({ length: 4 }, dial))
    const b = await clusterNode(prefix, name)
    a.transport.drain?.(60_000)
    const onB = await Promise.all(Array.from({ length: 4 }, dial))
    const clients = [...onA, ...onB]
    expect(a.transport.connections).toBe(4)
    expect(b.transport.connections).toBe(4)
    for (const test of clients) await test.client.join('room')
    const n = 50
    for (let i = 1; i <= n; i++) await (i % 2 === 0 ? a : b).server.publish('room', i)
    await waitFor(() => clients.every((test) => test.received.length >= n), {
      what: 'every message on every client',
      timeoutMs: 10_000,
    })
    await sleep(100)
    for (const test of clients) expect(test.received).toEqual(Array.from({ length: n }, (_, i) => i + 1))
  })
})
