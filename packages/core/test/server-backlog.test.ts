import { CloseCode } from '@lifeline/protocol'
import { describe, expect, it } from 'vitest'
import { createClient } from '../src/index.js'
import { createServer } from '../src/server.js'
import { FakeNetwork, SimulatedClock } from '../src/testing.js'
import { hello, type RawClient, rawClient, settle } from './helpers.js'

/** Runs queued promise callbacks without waiting for I/O: a handler's end starts the next one. */
async function microtasks(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve()
}

/** An async onMessage that takes `ms` of simulated time, as the core README's pattern does. */
function slowHandler(clock: SimulatedClock, ms: number, processed: unknown[]) {
  return (message: { data: unknown }) =>
    new Promise<void>((resolve) => {
      clock.setTimeout(() => {
        processed.push(message.data)
        resolve()
      }, ms)
    })
}

async function setup(options: { pauseReading: boolean; maxPendingSends?: number }) {
  const clock = new SimulatedClock()
  const network = new FakeNetwork(clock, { pauseReading: options.pauseReading })
  const processed: unknown[] = []
  const server = createServer({
    secret: 'x'.repeat(32),
    clock,
    onMessage: slowHandler(clock, 5, processed),
    heartbeatMs: 1_000_000,
    ...(options.maxPendingSends === undefined ? {} : { maxPendingSends: options.maxPendingSends }),
  })
  await server.attach(network.serverTransport())
  let delivered = 0
  network.tap = (_client, direction, payload) => {
    if (direction !== 'c2s' || typeof payload !== 'string') return
    delivered += (payload.match(/"type":"send"/g) ?? []).length
  }
  const open = async (id: string): Promise<RawClient> => {
    const c = rawClient(network, id)
    await settle()
    c.send(hello())
    await settle()
    return c
  }
  return { clock, network, server, processed, open, delivered: () => delivered }
}

/** Sends `count` sends from seq `from`, in batches of 500 frames (LL-WS-2), as fast as it can. */
function flood(c: RawClient, from: number, count: number, prefix = 'f'): void {
  for (let start = from; start < from + count; start += 500) {
    const batch = []
    for (let seq = start; seq < Math.min(start + 500, from + count); seq++) {
      batch.push({ type: 'send', seq, id: `${prefix}.${seq}`, data: { n: seq, pad: 'x'.repeat(40) } })
    }
    c.sendText(JSON.stringify(batch))
  }
}

describe('LL-LIMIT-7: the unprocessed sends of one session are bounded', () => {
  it('LL-LIMIT-7: with an async handler, a flood is held back by backpressure, never by memory; all processed once, in order', async () => {
    const t = await setup({ pauseReading: true, maxPendingSends: 1000 })
    const attacker = await t.open('attacker')
    flood(attacker, 1, 10_000)
    await settle()
    let peak = 0
    for (let round = 0; round < 20_000 && t.processed.length < 10_000; round++) {
      peak = Math.max(peak, t.delivered() - t.processed.length)
      t.clock.advance(5)
      await microtasks()
    }
    await settle()
    // Held unprocessed on the server: at most the bound, while the rest waits in the transport.
    expect(peak).toBeGreaterThan(100)
    expect(peak).toBeLessThanOrEqual(1000)
    expect(attacker.closed).toBeUndefined()
    expect(t.processed).toEqual(Array.from({ length: 10_000 }, (_, i) => ({ n: i + 1, pad: 'x'.repeat(40) })))
    expect(attacker.last('ack')).toMatchObject({ seq: 10_000 })
    expect(t.network.client('attacker').connected).toBe(true)
  })

  it('LL-LIMIT-7: on a transport that cannot pause, a client that keeps sending is closed with 4105; a neighbour is unaffected', async () => {
    const t = await setup({ pauseReading: false, maxPendingSends: 2000 })
    const neighbour = await t.open('neighbour')
    const attacker = await t.open('attacker')
    flood(attacker, 1, 20_000)
    neighbour.send({ type: 'send', seq: 1, id: 'n.1', data: 'neighbour' })
    await settle()
    expect(attacker.closed?.code).toBe(CloseCode.BACKLOG_OVERFLOW)
    expect(attacker.last('bye')).toMatchObject({ code: 4105, reconnect: true })
    expect(t.server.stats.pendingSends).toBeLessThanOrEqual(2000)
    for (let round = 0; round < 20; round++) {
      t.clock.advance(500)
      await settle()
    }
    expect(t.processed).toContain('neighbour')
    expect(neighbour.closed).toBeUndefined()
    expect(neighbour.last('ack')).toMatchObject({ seq: 1 })
    // What was cut off unprocessed is dropped with the connection: the client resends it (LL-SEND-2).
    expect(t.server.stats.pendingSends).toBe(0)
  })

  it('LL-LIMIT-7, LL-SEND-2: after 4105 the client resumes and resends what was dropped: everything processed exactly once', async () => {
    const t = await setup({ pauseReading: false, maxPendingSends: 100 })
    const attacker = await t.open('attacker')
    const welcome = attacker.last('welcome') as { memento: string }
    flood(attacker, 1, 2000)
    await settle()
    expect(attacker.closed?.code).toBe(CloseCode.BACKLOG_OVERFLOW)
    // What was held back is processed while the client is away; then it resumes and resends the rest.
    for (let round = 0; round < 200; round++) {
      t.clock.advance(5)
      await microtasks()
    }
    const again = rawClient(t.network, 'again')
    await settle()
    again.send(hello({ resume: { memento: welcome.memento, seq: 0 } }))
    await settle()
    const resumed = again.last('welcome') as { resumed: boolean; ackedSeq: number; receivedSeq: number }
    expect(resumed.resumed).toBe(true)
    // This time within the window: 90 at a time, the next batch once they are processed.
    for (let from = resumed.ackedSeq + 1; from <= 2000; from += 90) {
      flood(again, from, Math.min(90, 2001 - from))
      await settle()
      for (let round = 0; round < 100; round++) {
        t.clock.advance(5)
        await microtasks()
      }
    }
    await settle()
    expect(again.closed).toBeUndefined()
    expect(t.processed.map((d) => (d as { n: number }).n)).toEqual(
      Array.from({ length: 2000 }, (_, i) => i + 1),
    )
    expect(again.last('ack')).toMatchObject({ seq: 2000 })
  })

  it('LL-LIMIT-7: a real client keeps within the window its server advertises, even on a transport that cannot pause', async () => {
    const clock = new SimulatedClock()
    const network = new FakeNetwork(clock, { pauseReading: false })
    const processed: number[] = []
    const server = createServer({
      secret: 'x'.repeat(32),
      clock,
      onMessage: (m) =>
        new Promise<void>((resolve) => {
          clock.setTimeout(() => {
            processed.push(m.data as number)
            resolve()
          }, 1)
        }),
      maxPendingSends: 100,
      maxPendingSendBytes: 8192,
    })
    await server.attach(network.serverTransport())
    const client = createClient({
      transport: network.client('c'),
      clock,
      random: () => 0.5,
      outbox: { maxMessages: 5000 },
    })
    const closes: number[] = []
    client.on('status', (status) => {
      if (status.type === 'waiting') closes.push(status.attempt)
    })
    let peak = 0
    client.connect()
    await settle()
    const sends = Array.from({ length: 3000 }, (_, i) => client.send(i + 1))
    for (let round = 0; round < 100_000 && processed.length < 3000; round++) {
      clock.advance(1)
      await microtasks()
      peak = Math.max(peak, server.stats.pendingSends)
      if (round % 100 === 0) await settle(1)
    }
    await Promise.all(sends)
    expect(closes).toEqual([])
    expect(peak).toBeGreaterThan(10)
    expect(peak).toBeLessThanOrEqual(100)
    expect(processed).toEqual(Array.from({ length: 3000 }, (_, i) => i + 1))
    expect(client.pending).toBe(0)
    client.close()
    await settle()
  })
})
