/**
 * NATS rows: server→client throughput over NATS with the full protocol against plain NATS pub/sub
 * (one publish per message, and batched per tick into JSON arrays the same way Lifeline batches), and
 * the JetStream store against the memory store (topic appends, replay reads). Each side starts its own
 * nats-server (Debian's, via @lifeline/testkit) outside the timed part.
 */
import { systemClock } from '@lifeline/core'
import { createServer, MemoryStore, type SessionStore, type StreamEntry } from '@lifeline/core/server'
import { createJetStream } from '@lifeline/nats/jetstream'
import { natsServerTransport } from '@lifeline/nats/server'
import { type NatsServer, startNatsServer } from '@lifeline/testkit'
import { connect } from '@nats-io/transport-node'
import { here, type Peer } from '../framework/peer.js'
import type { BenchModule, BenchOptions, RunContext, Scenario, Side } from '../framework/types.js'
import { payloads } from '../ws/servers.js'

const CLIENTS = here(import.meta.url, './clients.ts')
const PLAIN = 'plain NATS pub/sub, one publish per message'
const PLAIN_BATCHED = 'plain NATS batched per tick'
const MEMORY = 'memory store'

async function withNats<T>(run: (nats: NatsServer) => Promise<T>): Promise<T> {
  const nats = await startNatsServer({ jetstream: true })
  try {
    return await run(nats)
  } finally {
    await nats.stop()
  }
}

async function timed(peer: Peer, total: number, send: () => void | Promise<void>): Promise<{ rate: number }> {
  await peer.call(CLIENTS, 'reset')
  const started = performance.now()
  const arrived = peer.call(CLIENTS, 'expect', { total })
  await send()
  await arrived
  return { rate: total / ((performance.now() - started) / 1000) }
}

function lifelineS2c(messages: number): Side {
  return {
    name: 'Lifeline over NATS, full protocol',
    run: (context: RunContext) =>
      withNats(async (nats) => {
        const server = createServer({ maxFrameBytes: 512 * 1024, maxBufferedBytes: 1 << 30 })
        await server.attach(natsServerTransport({ connection: { servers: nats.url }, prefix: 'bench' }))
        const peer = await context.peer()
        try {
          const sid = await peer.call<string>(CLIENTS, 'lifeline', { servers: nats.url, prefix: 'bench' })
          return await timed(peer, messages, () => {
            for (let i = 0; i < messages; i++) void server.send(sid, payloads[i % payloads.length])
          })
        } finally {
          await peer.call(CLIENTS, 'close')
          await server.shutdown()
        }
      }),
  }
}

function plainS2c(name: string, messages: number, batched: boolean): Side {
  return {
    name,
    run: (context: RunContext) =>
      withNats(async (nats) => {
        const nc = await connect({ servers: nats.url })
        const peer = await context.peer()
        try {
          await peer.call(CLIENTS, 'plain', { servers: nats.url, subject: 'bench.plain' })
          return await timed(peer, messages, () => {
            if (!batched) {
              for (let i = 0; i < messages; i++)
                nc.publish('bench.plain', JSON.stringify(payloads[i % payloads.length]))
              return
            }
            // What Lifeline does per tick (LL-WS-2, LL-NATS-2): arrays of up to 1024 frames.
            for (let i = 0; i < messages; i += 1024) {
              const batch: string[] = []
              for (let j = i; j < Math.min(messages, i + 1024); j++)
                batch.push(JSON.stringify(payloads[j % payloads.length]))
              nc.publish('bench.plain', `[${batch.join(',')}]`)
            }
          })
        } finally {
          await peer.call(CLIENTS, 'close')
          await nc.close()
        }
      }),
  }
}

const entry = (i: number) => (seq: number) => {
  const frame = { type: 'msg' as const, seq, topic: 'room', data: payloads[i % payloads.length] }
  return { frame, text: JSON.stringify(frame) }
}

/** Appends `count` entries to one topic with up to `window` in flight, then reads 1000 back. */
async function storeRun(store: SessionStore, count: number): Promise<{ appends: number; replay: number }> {
  const window = 1000
  const started = performance.now()
  let inFlight: Promise<StreamEntry>[] = []
  for (let i = 0; i < count; i++) {
    const appended = store.append('t:room', entry(i))
    if (appended instanceof Promise) inFlight.push(appended)
    if (inFlight.length >= window) {
      await Promise.all(inFlight)
      inFlight = []
    }
  }
  await Promise.all(inFlight)
  const appends = count / ((performance.now() - started) / 1000)
  const readStarted = performance.now()
  let after = count - 1000
  while (after < count) {
    const read = await store.read('t:room', after, 1000)
    after = read.entries[read.entries.length - 1]?.seq ?? count
  }
  return { appends, replay: performance.now() - readStarted }
}

function storeSides(count: number): Side[] {
  return [
    {
      name: 'JetStream store (R1, file)',
      run: () =>
        withNats(async (nats) => {
          const nc = await connect({ servers: nats.url })
          try {
            const { store } = await createJetStream(nc, {
              topicLog: { maxEntries: count, maxBytes: 256 << 20 },
              directStreamMaxBytes: 16 << 20,
            })
            return await storeRun(store, count)
          } finally {
            await nc.close()
          }
        }),
    },
    {
      name: MEMORY,
      run: async () => {
        const store = new MemoryStore(systemClock, {
          topicLog: { maxEntries: count, maxBytes: 256 << 20 },
        })
        return storeRun(store, count)
      },
    },
  ]
}

export function natsScenarios(options: BenchOptions): Scenario[] {
  const burst = options.quick ? 10_000 : 100_000
  const appends = options.quick ? 2_000 : 20_000
  return [
    {
      id: 'nats.s2c-burst',
      title: 'server→client over NATS, burst',
      description: `The server sends ${burst.toLocaleString('en-US')} chat messages to one client (another process) through one nats-server. Lifeline with everything on (seq, replay log, acks, heartbeats, per-tick batching, the binding's per-connection counter header); plain NATS publishes each JSON payload on a subject the client subscribes to, or batches them into JSON arrays of 1024 the same way.`,
      sides: [lifelineS2c(burst), plainS2c(PLAIN, burst, false), plainS2c(PLAIN_BATCHED, burst, true)],
      metrics: [
        {
          key: 'rate',
          title: 'messages per second',
          unit: 'msg/s',
          better: 'higher',
          targets: [{ against: PLAIN, min: 0.85 }],
        },
      ],
    },
    {
      id: 'nats.store',
      title: 'JetStream store against the memory store',
      description: `${appends.toLocaleString('en-US')} appends to one topic log (up to 1000 in flight), then 1,000 entries read back as a replay would. The JetStream store acknowledges each append from the stream leader on a local nats-server (file storage, one replica); the memory store answers in the caller's tick.`,
      sides: storeSides(appends),
      metrics: [
        {
          key: 'appends',
          title: 'appends per second',
          unit: 'appends/s',
          better: 'higher',
          targets: [{ against: MEMORY }],
        },
        {
          key: 'replay',
          title: 'replay read of 1,000 entries',
          unit: 'ms',
          better: 'lower',
          targets: [{ against: MEMORY }],
        },
      ],
    },
  ]
}

export const natsBench: BenchModule = { name: 'nats', scenarios: natsScenarios }
