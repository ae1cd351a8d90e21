/**
 * The Socket.IO row: server→client with the full protocol over Socket.IO against plain Socket.IO `emit`
 * of the same payloads, and against Socket.IO with connection state recovery (every emit stored for
 * replay, as Lifeline's log is). Servers run here; clients run in a peer process.
 *
 * `socketIoThroughput()` runs the same sides as a self-contained measurement and returns the figures.
 */
import { createServer as createHttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createServer } from '@lifeline/core/server'
import { socketIoServerTransport } from '@lifeline/socket.io/server'
import { Server, type Socket } from 'socket.io'
import { here, type Peer } from '../framework/peer.js'
import { runScenario } from '../framework/runner.js'
import type { BenchModule, BenchOptions, RunContext, Scenario, Side } from '../framework/types.js'
import { payloads, SECRET } from '../ws/servers.js'
import { startSocketIo } from '../ws/sio.js'

const CLIENTS = here(import.meta.url, './clients.ts')
export const LIFELINE = 'Lifeline over Socket.IO, full protocol'
export const PLAIN = 'plain Socket.IO emit'
export const RECOVERY = 'Socket.IO emit with connectionStateRecovery'
export const SAME_PACKET = "plain Socket.IO emit, Lifeline's packet"

async function timed(
  peer: Peer,
  total: number,
  send: () => void,
): Promise<{ rate: number; cpu: number; clientCpu: number }> {
  await peer.call(CLIENTS, 'reset')
  const cpu = process.cpuUsage()
  const started = performance.now()
  const arrived = peer.call<number>(CLIENTS, 'expect', { total })
  send()
  const clientCpu = await arrived
  const seconds = (performance.now() - started) / 1000
  const used = process.cpuUsage(cpu)
  return { rate: total / seconds, cpu: (used.user + used.system) / total, clientCpu }
}

function lifelineS2c(messages: number): Side {
  return {
    name: LIFELINE,
    run: async (context: RunContext) => {
      const http = createHttpServer()
      // As the plain side: WebSocket only, no compression.
      const io = new Server(http, { transports: ['websocket'], serveClient: false, perMessageDeflate: false })
      // A burst this size is far beyond a real app's; lift the slow-consumer cut-off so it is measured.
      const server = createServer({ secret: SECRET, maxBufferedBytes: 1 << 30 })
      await server.attach(socketIoServerTransport(io))
      await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
      const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
      const peer = await context.peer()
      try {
        const sid = await peer.call<string>(CLIENTS, 'lifeline', { url })
        return await timed(peer, messages, () => {
          for (let i = 0; i < messages; i++) void server.send(sid, payloads[i % payloads.length])
        })
      } finally {
        await peer.call(CLIENTS, 'close')
        await server.shutdown({ jitterMs: 0 })
        await new Promise<void>((resolve) => void io.close(() => resolve()))
      }
    },
  }
}

/**
 * Plain `emit` sides. `samePacket`: the packet Lifeline's would be (namespace `/lifeline`, event
 * `lifeline`, the payload inside `{ type, seq, data }`), so the wire and Socket.IO's parsing cost the
 * same and the ratio is what Lifeline's protocol itself costs: the fair baseline.
 */
function plainS2c(name: string, recovery: boolean, messages: number, samePacket = false): Side {
  return {
    name,
    run: async (context: RunContext) => {
      const side = await startSocketIo(recovery)
      const namespace = samePacket ? side.io.of('/lifeline') : side.io.of('/')
      const connected = new Promise<Socket>((resolve) => namespace.once('connection', resolve))
      const peer = await context.peer()
      try {
        await peer.call(CLIENTS, 'plain', {
          url: samePacket ? `${side.url}/lifeline` : side.url,
          event: samePacket ? 'lifeline' : 'm',
        })
        const socket = await connected
        return await timed(peer, messages, () => {
          if (samePacket) {
            for (let i = 0; i < messages; i++)
              socket.emit('lifeline', { type: 'msg', seq: i + 1, data: payloads[i % payloads.length] })
          } else for (let i = 0; i < messages; i++) socket.emit('m', payloads[i % payloads.length])
        })
      } finally {
        await peer.call(CLIENTS, 'close')
        await side.close()
      }
    },
  }
}

export function socketIoScenarios(options: BenchOptions): Scenario[] {
  const burst = options.quick ? 10_000 : 100_000
  return [
    {
      id: 'sio.s2c-burst',
      title: 'server→client over Socket.IO, burst',
      description: `The server sends ${burst.toLocaleString('en-US')} chat messages to one client (another process) over Socket.IO's websocket transport. Lifeline with everything on (seq, replay log, acks, heartbeats), one frame per \`lifeline\` event (LL-SIO-1); plain Socket.IO emits each payload as an \`m\` event, without and with connection state recovery (which stores every emit for replay), and, as the fair baseline, emits Lifeline's own packet (namespace \`/lifeline\`, event \`lifeline\`, \`{ type, seq, data }\`) so the wire and Socket.IO's parsing cost the same. Server CPU is the bench process's user+system time over the burst, client CPU the peer's.`,
      sides: [
        lifelineS2c(burst),
        plainS2c(PLAIN, false, burst),
        plainS2c(SAME_PACKET, false, burst, true),
        plainS2c(RECOVERY, true, burst),
      ],
      metrics: [
        {
          key: 'rate',
          title: 'messages per second',
          unit: 'msg/s',
          better: 'higher',
          targets: [{ against: PLAIN, min: 0.9 }, { against: SAME_PACKET }, { against: RECOVERY }],
        },
        {
          key: 'cpu',
          title: 'server CPU per message',
          unit: 'µs/msg',
          better: 'lower',
          targets: [{ against: PLAIN }],
        },
        {
          // Steadier than msg/s on a shared machine: where the time goes, each side apart.
          key: 'clientCpu',
          title: 'client CPU per message',
          unit: 'µs/msg',
          better: 'lower',
          targets: [{ against: PLAIN }, { against: SAME_PACKET }],
        },
      ],
    },
  ]
}

export const socketIoBench: BenchModule = { name: 'sio', scenarios: socketIoScenarios }

/** The row's figures from one run: medians of interleaved rounds, and ratios computed round by round. */
export interface SocketIoThroughput {
  /** Median msg/s of each side, by side name. */
  readonly rates: Readonly<Record<string, number>>
  /** Lifeline / plain Socket.IO emit, median of per-round ratios, with its spread (min..max). */
  readonly vsPlain: { readonly median: number; readonly min: number; readonly max: number }
  /** Lifeline / Socket.IO emit with connection state recovery. */
  readonly vsRecovery: { readonly median: number; readonly min: number; readonly max: number }
  /** Lifeline / plain emit of Lifeline's own packet (the fair baseline: same wire, same parsing). */
  readonly vsSamePacket: { readonly median: number; readonly min: number; readonly max: number }
}

/** Runs the Socket.IO row by itself (for the framework's report, `pnpm bench --only sio`). */
export async function socketIoThroughput(
  options: BenchOptions = { quick: false },
): Promise<SocketIoThroughput> {
  const [scenario] = socketIoScenarios(options)
  const result = await runScenario(scenario as Scenario, options, () => {})
  if (result.error !== undefined) throw new Error(result.error)
  const rate = result.metrics.find((metric) => metric.metric.key === 'rate')
  const ratio = (against: string) => {
    const summary = rate?.ratios.find((r) => r.against === against)?.summary
    return {
      median: summary?.median ?? Number.NaN,
      min: summary?.min ?? Number.NaN,
      max: summary?.max ?? Number.NaN,
    }
  }
  return {
    rates: Object.fromEntries((rate?.values ?? []).map(({ side, summary }) => [side, summary.median])),
    vsPlain: ratio(PLAIN),
    vsRecovery: ratio(RECOVERY),
    vsSamePacket: ratio(SAME_PACKET),
  }
}
