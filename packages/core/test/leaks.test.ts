/**
 * Leaks: thousands of cycles of connect, join, send, drop, resume, drop again and expire, with the
 * real client and server on simulated time. After them every session, timer, listener, subscription
 * and log is back at its baseline, and the heap is within 5% of where it was after a warm-up.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { createClient, type LifelineClient } from '../src/index.js'
import { createServer, MemoryBus, MemoryStore } from '../src/server.js'
import { FakeNetwork, SimulatedClock } from '../src/testing.js'
import { settle } from './helpers.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

function heapUsed(): number {
  for (let i = 0; i < 3; i++) gc()
  return process.memoryUsage().heapUsed
}

const CYCLES = Number(process.env.LEAK_CYCLES ?? 10_000)
const GRACE_MS = 1000

describe('leaks over many connect, drop, resume and expire cycles', () => {
  it(`LL-LIMIT-4, LL-GRACE-2: ${CYCLES.toLocaleString('en')} cycles after as many to warm up leave sessions, timers, listeners and logs at baseline; heap within 5%`, async () => {
    const clock = new SimulatedClock()
    const network = new FakeNetwork(clock)
    // Ended sessions' tombstones are bounded (maxTombstones, LL-NODE-4); a bounded Map that churns
    // doubles its table once before it is steady, so the bound is one the warm-up takes past that.
    const store = new MemoryStore(clock, { maxTombstones: 2000 })
    const bus = new MemoryBus()
    const processed = { count: 0 }
    const server = createServer({
      secret: 'x'.repeat(32),
      clock,
      store,
      bus,
      graceMs: GRACE_MS,
      heartbeatMs: 10_000,
      authenticate: (auth) => ({ subject: `user-${(auth as { n: number }).n % 10}` }),
      onMessage: async () => {
        processed.count++
      },
    })
    await server.attach(network.serverTransport())
    const listenersAtStart = (server as unknown as { core: { listenerCount: number } }).core.listenerCount

    async function cycle(i: number): Promise<void> {
      const id = `c${i % 50}`
      const client: LifelineClient = createClient({
        transport: network.client(id),
        clock,
        random: () => 0.5,
        auth: { n: i },
      })
      const transport = network.client(id)
      client.connect()
      await settle(3)
      void client.join(`room-${i % 7}`)
      void client.send({ i })
      await settle(3)
      await server.publish(`room-${i % 7}`, { i })
      transport.reset() // drop: the session goes away, in grace
      await settle(3)
      clock.advance(1) // the client's immediate retry resumes it
      await settle(3)
      if (client.status.type !== 'open' || !client.recovered) throw new Error(`cycle ${i}: not resumed`)
      transport.reset() // drop again, and this time the client gives up
      client.close()
      await settle(2)
      clock.advance(GRACE_MS + 1) // the grace ends: the session expires
      await settle(2)
    }

    // The warm-up fills what is bounded on purpose (10,000 ended session ids answer `expired`,
    // LL-RESUME-4), so what the measured cycles add is what leaks.
    for (let i = 0; i < CYCLES; i++) await cycle(i)
    const baseline = heapUsed()
    for (let i = CYCLES; i < 2 * CYCLES; i++) await cycle(i)
    await settle()
    const after = heapUsed()

    expect(processed.count).toBe(2 * CYCLES)
    expect(server.stats).toEqual({
      sessions: 0,
      connected: 0,
      away: 0,
      connections: 0,
      topics: 0,
      pendingSends: 0,
    })
    expect(clock.pendingTimers).toBe(0)
    expect(bus.subscriptions).toBe(0)
    expect((server as unknown as { core: { listenerCount: number } }).core.listenerCount).toBe(
      listenersAtStart,
    )
    expect(store.stats).toMatchObject({ sessions: 0, streams: 0 })
    expect(store.stats.parked).toBeLessThanOrEqual(7)
    expect(store.stats.subjects).toBeLessThanOrEqual(10)
    // Within 5% of the baseline after the warm-up.
    console.log(`heap after warm-up ${baseline}, after all cycles ${after}`)
    expect(after - baseline, `heap ${baseline} -> ${after}`).toBeLessThan(0.05 * baseline)
    await server.shutdown()
  }, 300_000)
})
