/**
 * Complexity budgets: the cost of one message must not grow with the number of messages (10³ to 10⁶
 * through the whole pipeline). A regression to O(n) per message (a log walked, a window rebuilt) shows
 * as a ratio in the hundreds; the budget is 3×, far above the noise of a shared machine, so it fails CI
 * only on a real regression. No absolute time is asserted anywhere.
 */
import { createClient, inertEnvironment, type LifelineClient } from '@lifeline/core'
import { wsTransport } from '@lifeline/ws/node'
import type { BenchOptions, Scenario, Side } from '../framework/types.js'
import { payloads, startLifeline } from './servers.js'

/** Sent per event-loop turn, and most messages in flight, so memory stays bounded at any count. */
const CHUNK = 1000
const WINDOW = 20_000
const DEADLINE_MS = 60_000
export const COMPLEXITY_BUDGET = 3

const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

async function openClient(url: string): Promise<{ client: LifelineClient; sid: string }> {
  const client = createClient({ transport: wsTransport(url), environment: inertEnvironment, auth: 'budget' })
  const sid = await new Promise<string>((resolve) => {
    const off = client.on('status', (status) => {
      if (status.type !== 'open') return
      off()
      resolve(status.sid)
    })
    client.connect()
  })
  return { client, sid }
}

/**
 * Server and client in this process, over loopback ws: CPU time per message for `count` server→client
 * messages (sequenced, logged, batched, decoded, validated, delivered and acked), the least of `repeat`
 * runs on the same session, after 10⁴ unmeasured ones. A run that takes more than a minute (a planted
 * quadratic would take hours) stops there and is charged for the messages delivered so far.
 */
async function pipeline(count: number, repeat: number): Promise<number> {
  const side = await startLifeline({ maxBufferedBytes: 1 << 30 })
  const { client, sid } = await openClient(side.url)
  let received = 0
  client.on('message', () => void received++)
  const run = async (messages: number): Promise<number> => {
    const start = received
    const started = performance.now()
    const cpu = process.cpuUsage()
    let sent = 0
    while (sent < messages && performance.now() - started < DEADLINE_MS) {
      const n = Math.min(CHUNK, messages - sent)
      for (let i = 0; i < n; i++) void side.server.send(sid, payloads[(sent + i) % payloads.length])
      sent += n
      await turn()
      while (sent - (received - start) > WINDOW && performance.now() - started < DEADLINE_MS) await turn()
    }
    while (received - start < sent && performance.now() - started < DEADLINE_MS) await turn()
    const used = process.cpuUsage(cpu)
    return (used.user + used.system) / Math.max(1, received - start)
  }
  try {
    await run(10_000)
    let best = Number.POSITIVE_INFINITY
    for (let i = 0; i < repeat; i++) best = Math.min(best, await run(count))
    return best
  } finally {
    client.close()
    await side.close()
  }
}

export function complexityScenarios(_options: BenchOptions): Scenario[] {
  const small: Side = {
    name: '10³ messages (least of 20 runs)',
    run: async () => ({ us: await pipeline(1_000, 20) }),
  }
  const large: Side = { name: '10⁶ messages', run: async () => ({ us: await pipeline(1_000_000, 1) }) }
  return [
    {
      id: 'budget.per-message',
      title: 'per-message cost, 10³ → 10⁶ messages',
      description:
        'Server and client in one process over loopback ws: CPU time per server→client message (sequenced, logged, batched, decoded, validated, delivered, acked) for 10⁶ messages against 10³. It must stay flat: a budget of 3×.',
      sides: [large, small],
      rounds: 1,
      warmup: false,
      metrics: [
        {
          key: 'us',
          title: 'CPU per message',
          unit: 'µs',
          better: 'lower',
          targets: [{ against: small.name, max: COMPLEXITY_BUDGET, note: 'flat', budget: true }],
        },
      ],
    },
  ]
}
