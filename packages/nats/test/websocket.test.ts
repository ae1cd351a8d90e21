/**
 * The browser entry (`@lifeline/nats`) over the NATS server's websocket listener. Node 20 has no
 * global WebSocket, so the test hands nats.js the `ws` package through `wsFactory`, as a browser
 * would its own WebSocket.
 */
import { FaultProxy, type NatsServer, sleep, startNatsServer, waitFor } from '@lifeline/testkit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { natsTransport } from '../src/index.js'
import { exactlyOnce, node, onCleanup, open, uniquePrefix } from './helpers.js'

let nats: NatsServer
beforeAll(async () => {
  nats = await startNatsServer({ jetstream: false, websocket: true })
})
afterAll(() => nats.stop())

const wsFactory = async (url: string) => ({
  socket: new WebSocket(url) as unknown as globalThis.WebSocket,
  encrypted: false,
})

describe('NATS over websocket (the browser transport)', () => {
  it('runs a session through the NATS websocket listener and resumes after the socket is cut', async () => {
    const prefix = uniquePrefix()
    const { server, processed } = await node({ servers: nats.url }, prefix)
    const proxy = new FaultProxy(Number(new URL(nats.wsUrl).port))
    const port = await proxy.start()
    onCleanup(() => proxy.close())
    const alice = await open(
      natsTransport({ servers: `ws://127.0.0.1:${port}`, connection: { wsFactory } }, { prefix }),
    )
    await alice.client.join('room')
    const n = 100
    for (let i = 1; i <= n; i++) {
      void alice.client.send(i)
      void server.publish('room', i)
      if (i === n / 2) proxy.reset()
      if (i % 10 === 0) await sleep(2)
    }
    await waitFor(
      () =>
        processed.length >= n &&
        alice.received.length >= n &&
        alice.client.wasReconnected &&
        alice.client.pending === 0,
      {
        what: 'everything after the cut, every send acked',
        timeoutMs: 10_000,
      },
    )
    expect(exactlyOnce(processed, n)).toBe(true)
    expect(exactlyOnce(alice.received, n)).toBe(true)
    expect(alice.client.status).toMatchObject({ type: 'open', resumed: true, recovered: true })
    expect(proxy.dials).toBeGreaterThanOrEqual(2)
  })
})
