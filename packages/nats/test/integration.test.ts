/**
 * The whole stack over a real nats-server: LifelineServer and LifelineClient from @lifeline/core and
 * the NATS transports, with the client's NATS link cut through a fault proxy, the nats-server itself
 * SIGKILLed, and two server nodes sharing one queue group. Every wait polls with a deadline.
 */

import { FaultProxy, type NatsServer, sleep, startNatsServer, waitFor } from '@lifeline/testkit'
import { headers } from '@nats-io/nats-core'
import { connect } from '@nats-io/transport-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SEQ_HEADER } from '../src/binding.js'
import { natsTransport } from '../src/node.js'
import { exactlyOnce, node, onCleanup, open, uniquePrefix } from './helpers.js'

let nats: NatsServer
beforeAll(async () => {
  nats = await startNatsServer({ jetstream: false })
})
afterAll(() => nats.stop())

const resumed = (test: { client: { status: { type: string }; wasReconnected: boolean } }) =>
  test.client.status.type === 'open' && test.client.wasReconnected

/** Sends 1..n from the client and publishes 1..n to `room`, calling `fault` halfway. */
async function flow(
  send: (i: number) => void,
  publish: (i: number) => void,
  n: number,
  fault: () => unknown,
): Promise<void> {
  for (let i = 1; i <= n; i++) {
    send(i)
    publish(i)
    if (i === n / 2) await fault()
    if (i % 10 === 0) await sleep(2)
  }
}

describe('NATS integration: LifelineServer and LifelineClient over a real nats-server', () => {
  it('LL-NATS-8: the client NATS link cut mid-stream: resumed, nothing lost or duplicated either way', async () => {
    const prefix = uniquePrefix()
    const { server, processed } = await node({ servers: nats.url }, prefix)
    const proxy = new FaultProxy(nats.port)
    const port = await proxy.start()
    onCleanup(() => proxy.close())
    const alice = await open(natsTransport({ servers: `nats://127.0.0.1:${port}` }, { prefix }))
    await alice.client.join('room')
    const n = 400
    await flow(
      (i) => void alice.client.send(i),
      (i) => void server.publish('room', i),
      n,
      () => proxy.reset(),
    )
    await waitFor(
      () =>
        processed.length >= n && alice.received.length >= n && resumed(alice) && alice.client.pending === 0,
      {
        what: `${n} messages each way after the cut`,
        timeoutMs: 10_000,
      },
    )
    await sleep(100)
    expect(exactlyOnce(processed, n)).toBe(true)
    expect(exactlyOnce(alice.received, n)).toBe(true)
    expect(alice.client.status).toMatchObject({ type: 'open', resumed: true, recovered: true })
    expect(proxy.dials).toBeGreaterThanOrEqual(2)
  })

  it('LL-NATS-8: the nats-server SIGKILLed and restarted mid-stream: every session resumes, counts exact', async () => {
    const own = await startNatsServer({ jetstream: false })
    onCleanup(() => own.stop())
    const prefix = uniquePrefix()
    // The server's NATS connection is long-lived and reconnects by itself; clients dial per attempt.
    const nc = await connect({ servers: own.url, maxReconnectAttempts: -1, reconnectTimeWait: 50 })
    onCleanup(() => nc.close())
    const { server, processed } = await node(nc, prefix)
    const clients = await Promise.all(
      [1, 2, 3].map(() => open(natsTransport({ servers: own.url }, { prefix }))),
    )
    for (const test of clients) await test.client.join('room')
    const n = 200
    await flow(
      (i) => {
        for (const [k, test] of clients.entries()) void test.client.send(k * 1000 + i)
      },
      (i) => void server.publish('room', i),
      n,
      async () => {
        await own.kill()
        await sleep(150)
        await own.restart()
      },
    )
    await waitFor(
      () =>
        processed.length >= 3 * n &&
        clients.every((test) => test.received.length >= n && resumed(test) && test.client.pending === 0),
      { what: 'every client to resume with everything', timeoutMs: 15_000 },
    )
    await sleep(100)
    for (const [k, test] of clients.entries()) {
      expect(exactlyOnce(test.received, n)).toBe(true)
      const mine = processed.filter((v) => typeof v === 'number' && v > k * 1000 && v <= k * 1000 + n)
      expect(
        exactlyOnce(
          mine.map((v) => (v as number) - k * 1000),
          n,
        ),
      ).toBe(true)
      expect(test.client.status).toMatchObject({ type: 'open', resumed: true, recovered: true })
    }
    expect(processed.length).toBe(3 * n)
  })

  it('LL-NATS-6: a message missing from a connection ends it; the client resumes, the stray never delivered', async () => {
    const prefix = uniquePrefix()
    const { server } = await node({ servers: nats.url }, prefix)
    const spy = await connect({ servers: nats.url })
    onCleanup(() => spy.close())
    const seen: string[] = []
    spy.subscribe(`${prefix}.s.*`, {
      callback: (_e, msg) => {
        seen.push(msg.subject)
      },
    })
    await spy.flush()
    const alice = await open(natsTransport({ servers: nats.url }, { prefix }))
    await alice.client.join('room')
    await server.publish('room', 1)
    await waitFor(() => alice.received.length === 1, { what: 'the first message' })
    const subject = seen[seen.length - 1] as string
    // As if messages 2..9 of this connection had vanished in a cluster route: number 10 arrives.
    const h = headers()
    h.set(SEQ_HEADER, '10')
    spy.publish(subject, JSON.stringify({ type: 'msg', seq: 99, topic: 'room', data: 'stray' }), {
      headers: h,
    })
    await waitFor(() => alice.client.reconnectAttempts > 0 && resumed(alice), { what: 'the resume' })
    await server.publish('room', 2)
    await waitFor(() => alice.received.length === 2, { what: 'the next message' })
    expect(alice.received).toEqual([1, 2])
  })

  it('LL-NATS-5: two nodes share the queue group; each connection stays on one node; a draining node takes none', async () => {
    const prefix = uniquePrefix()
    const a = await node({ servers: nats.url }, prefix)
    const b = await node({ servers: nats.url }, prefix)
    const clients = await Promise.all(
      Array.from({ length: 12 }, () => open(natsTransport({ servers: nats.url }, { prefix }))),
    )
    expect(a.transport.connections + b.transport.connections).toBe(12)
    expect(a.transport.connections).toBeGreaterThan(0)
    expect(b.transport.connections).toBeGreaterThan(0)
    for (const [i, test] of clients.entries()) await test.client.send(i)
    expect([...a.processed, ...b.processed].sort((x, y) => Number(x) - Number(y))).toEqual(
      Array.from({ length: 12 }, (_, i) => i),
    )
    // Draining: node a stops taking connections for a while; new ones all land on b.
    const before = b.transport.connections
    a.transport.drain?.(10_000)
    await sleep(50)
    await Promise.all(Array.from({ length: 6 }, () => open(natsTransport({ servers: nats.url }, { prefix }))))
    expect(b.transport.connections).toBe(before + 6)
  })

  it('LL-NATS-5: with no server listening the dial fails at once, and the client keeps trying', async () => {
    const prefix = uniquePrefix()
    const { createClient, inertEnvironment } = await import('@lifeline/core')
    const transport = natsTransport({ servers: nats.url }, { prefix })
    let dials = 0
    const client = createClient({
      transport: {
        ...transport,
        connect: (handlers) => {
          dials++
          return transport.connect(handlers)
        },
      },
      environment: inertEnvironment,
      retryDelay: () => 20,
      connectTimeoutMs: 5000,
    })
    onCleanup(() => client.close())
    const started = performance.now()
    client.connect()
    // Far sooner than the 5 s connect timeout: NATS says nobody subscribed (status 503).
    await waitFor(() => dials >= 4 && client.status.type !== 'open', {
      what: 'three failed dials',
      timeoutMs: 3000,
    })
    expect(performance.now() - started).toBeLessThan(3000)
    const { server } = await node({ servers: nats.url }, prefix)
    await waitFor(() => client.status.type === 'open', { what: 'the client to open once a server listens' })
    expect(server.stats.sessions).toBe(1)
  })
})
