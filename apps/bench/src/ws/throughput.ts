/**
 * Steady traffic over ws: server to one client (a burst, and one message per tick), client to server,
 * and fan-out of a topic to many sessions. Servers run here; clients run in a peer process.
 */
import { here, type Peer } from '../framework/peer.js'
import type { BenchOptions, RunContext, Scenario, Side } from '../framework/types.js'
import { payloads, type RawSide, startLifeline, startRaw, until } from './servers.js'
import { startSocketIo } from './sio.js'

const CLIENTS = here(import.meta.url, './clients.ts')
const SIO = here(import.meta.url, './sio-clients.ts')
const RAW = 'raw ws, one send per message'
const RAW_BATCHED = 'raw ws batched per tick'

const nextTick = () => new Promise<void>((resolve) => setImmediate(resolve))

type Timed = {
  readonly rate: number
  readonly cpu: number
}

/**
 * Runs `send(count)` (synchronously or per tick) and waits for the peer to have `count` messages. A
 * warm-up of a tenth as many goes first, untimed: each side runs in a fresh peer process, and the
 * figure is the steady state, not how long the JIT takes to compile the side's code (all sides alike).
 */
async function timed(
  peer: Peer,
  total: number,
  send: (count: number) => void | Promise<void>,
): Promise<Timed> {
  const warm = Math.ceil(total / 10)
  await peer.call(CLIENTS, 'reset')
  const warmed = peer.call(CLIENTS, 'expect', { total: warm })
  await send(warm)
  await warmed
  await peer.call(CLIENTS, 'reset')
  const cpu = process.cpuUsage()
  const started = performance.now()
  const arrived = peer.call(CLIENTS, 'expect', { total })
  await send(total)
  await arrived
  const seconds = (performance.now() - started) / 1000
  const used = process.cpuUsage(cpu)
  return { rate: total / seconds, cpu: (used.user + used.system) / total }
}

function lifelineToOne(messages: number, perTick: boolean): Side {
  return {
    name: 'Lifeline, full protocol',
    run: async (context) => {
      // A burst this size is far beyond a real app's; lift the slow-consumer cut-off so it is measured.
      const side = await startLifeline({ maxBufferedBytes: 1 << 30 })
      try {
        const peer = await context.peer()
        const [sid] = await peer.call<string[]>(CLIENTS, 'lifeline', { url: side.url, count: 1 })
        const { rate, cpu } = await timed(peer, messages, async (count) => {
          for (let i = 0; i < count; i++) {
            void side.server.send(sid as string, payloads[i % payloads.length])
            if (perTick) await nextTick()
          }
        })
        return { rate, cpu }
      } finally {
        await side.close()
      }
    },
  }
}

function rawToOne(name: string, batched: boolean, messages: number, perTick: boolean): Side {
  return {
    name,
    run: async (context) => {
      const side = await startRaw(batched)
      try {
        const peer = await context.peer()
        await peer.call(CLIENTS, 'raw', { url: side.url, count: 1 })
        await side.connected(1)
        const socket = side.sockets[0] as RawSide['sockets'][number]
        return await timed(peer, messages, async (count) => {
          for (let i = 0; i < count; i++) {
            side.send(socket, JSON.stringify(payloads[i % payloads.length]))
            if (perTick) await nextTick()
          }
        })
      } finally {
        await side.close()
      }
    },
  }
}

export function throughputScenarios(options: BenchOptions): Scenario[] {
  const burst = options.quick ? 20_000 : 100_000
  const ticks = options.quick ? 2_000 : 20_000
  return [
    {
      id: 'ws.s2c-burst',
      title: 'server→client over ws, burst',
      description: `The server sends ${burst.toLocaleString('en-US')} chat messages to one client in one loop (after an untimed tenth as many to warm up the fresh client process); the client (another process) parses each. Lifeline with everything on (seq, replay log, acks, heartbeats, per-tick batching, LL-WS-2); raw ws JSON-encodes each payload and sends it alone, or batches the tick's payloads into JSON arrays the same way. Server CPU is the bench process's user+system time over the burst.`,
      sides: [
        lifelineToOne(burst, false),
        rawToOne(RAW, false, burst, false),
        rawToOne(RAW_BATCHED, true, burst, false),
      ],
      metrics: [
        {
          key: 'rate',
          title: 'messages per second',
          unit: 'msg/s',
          better: 'higher',
          targets: [
            { against: RAW, min: 0.9 },
            { against: RAW_BATCHED, min: 0.5 },
          ],
        },
        {
          key: 'cpu',
          title: 'server CPU per message',
          unit: 'µs/msg',
          better: 'lower',
          targets: [{ against: RAW_BATCHED, max: 2 }],
        },
      ],
    },
    {
      id: 'ws.s2c-per-tick',
      title: 'server→client over ws, one message per tick',
      description: `The server sends ${ticks.toLocaleString('en-US')} messages to one client, one per event-loop turn (setImmediate), so there is nothing to batch.`,
      sides: [lifelineToOne(ticks, true), rawToOne(RAW, false, ticks, true)],
      metrics: [
        {
          key: 'rate',
          title: 'messages per second',
          unit: 'msg/s',
          better: 'higher',
          targets: [{ against: RAW, min: 0.9 }],
        },
        { key: 'cpu', title: 'server CPU per message', unit: 'µs/msg', better: 'lower' },
      ],
    },
    clientToServer(options),
  ]
}

/**
 * Socket.IO's at-least-once sends: ackTimeout and retries make every emit wait for its ack before the
 * next leaves. Fewer messages (they are slow); the rate is what matters.
 */
function socketIoAcked(messages: number): Side {
  return {
    name: 'Socket.IO, ackTimeout + retries',
    run: async (context) => {
      const side = await startSocketIo(false)
      try {
        const peer = await context.peer()
        await peer.call(SIO, 'connect', { url: side.url, count: 1, retries: true })
        const warm = Math.ceil(messages / 10)
        await peer.call(SIO, 'send', { count: warm })
        await until(() => side.received >= warm)
        side.received = 0
        const started = performance.now()
        await peer.call(SIO, 'send', { count: messages })
        await until(() => side.received >= messages)
        return { rate: messages / ((performance.now() - started) / 1000) }
      } finally {
        await side.close()
      }
    },
  }
}

function clientToServer(options: BenchOptions): Scenario {
  const messages = options.quick ? 5_000 : 100_000
  const lifeline = (name: string, window: number | undefined, outbox?: number): Side => ({
    name,
    run: async (context: RunContext) => {
      let processed = 0
      const side = await startLifeline({ onMessage: () => void processed++ })
      try {
        const peer = await context.peer()
        await peer.call(CLIENTS, 'lifeline', { url: side.url, count: 1, outbox })
        // Warm-up, untimed, as for server→client (a fresh peer per side).
        await peer.call(CLIENTS, 'send', { count: Math.ceil(messages / 10), window })
        processed = 0
        const started = performance.now()
        await peer.call(CLIENTS, 'send', { count: messages, window })
        if (processed !== messages) throw new Error(`processed ${processed} of ${messages}`)
        return { rate: messages / ((performance.now() - started) / 1000) }
      } finally {
        await side.close()
      }
    },
  })
  const raw = (name: string, batched: boolean): Side => ({
    name,
    run: async (context) => {
      const side = await startRaw(false)
      try {
        const peer = await context.peer()
        await peer.call(CLIENTS, 'raw', { url: side.url, count: 1 })
        const warm = Math.ceil(messages / 10)
        await peer.call(CLIENTS, 'rawSend', { count: warm, batched })
        await until(() => side.received >= warm)
        side.received = 0
        const started = performance.now()
        await peer.call(CLIENTS, 'rawSend', { count: messages, batched })
        await until(() => side.received >= messages)
        return { rate: messages / ((performance.now() - started) / 1000) }
      } finally {
        await side.close()
      }
    },
  })
  return {
    id: 'ws.c2s',
    title: 'client→server over ws, acked + de-duplicated',
    description: `One client sends ${messages.toLocaleString('en-US')} messages; Lifeline's are numbered, de-duplicated by id on the server, processed by onMessage and acked, and the figure runs until the client saw every ack. "Awaiting each" keeps a window of sends in flight, each awaited, with the default outbox; "send() all" calls send for every message at once, which needs an outbox that holds them all. Raw ws sends the same JSON and the server parses it; no ack. Socket.IO with ackTimeout and retries (its at-least-once mode) sends fewer messages, one acked emit at a time. Every side first sends a tenth as many, untimed (a warm-up in its fresh peer process).`,
    sides: [
      lifeline('Lifeline, awaiting each (window 1,000), default outbox', 1000),
      lifeline('Lifeline, send() all, outbox raised', undefined, messages),
      lifeline('Lifeline, awaiting each (window 100)', 100),
      raw(RAW, false),
      raw(RAW_BATCHED, true),
      socketIoAcked(options.quick ? 1_000 : 20_000),
    ],
    metrics: [
      {
        key: 'rate',
        title: 'messages per second',
        unit: 'msg/s',
        better: 'higher',
        targets: [{ against: RAW, min: 0.85 }],
      },
    ],
  }
}
