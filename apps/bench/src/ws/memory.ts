/**
 * Server memory per idle connected session: the server alone in a fresh process, clients in another;
 * RSS and heap (after a full GC) grow by how much per session, Lifeline against raw ws and Socket.IO.
 */
import { here } from '../framework/peer.js'
import type { BenchOptions, Scenario, Side } from '../framework/types.js'

const SERVER = here(import.meta.url, './memory-server.ts')
const CLIENTS = here(import.meta.url, './clients.ts')
const SIO = here(import.meta.url, './sio-clients.ts')
const RAW = 'raw ws'
/** Connected before the first measurement, so one-time allocations are not counted per session. */
const WARM = 100

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function side(name: string, kind: 'lifeline' | 'raw' | 'socket.io', sessions: number): Side {
  return {
    name,
    run: async (context) => {
      const server = await context.peer('server')
      const clients = await context.peer('clients')
      const url = await server.call<string>(SERVER, 'start', { kind })
      const connect = (count: number) =>
        kind === 'lifeline'
          ? clients.call(CLIENTS, 'lifeline', { url, count })
          : kind === 'raw'
            ? clients.call(CLIENTS, 'raw', { url, count })
            : clients.call(SIO, 'connect', { url, count })
      const connected = async (count: number) => {
        while ((await server.call<number>(SERVER, 'connections')) < count) await settle(20)
        await settle(500)
      }
      await connect(WARM)
      await connected(WARM)
      const before = await server.call<{ rss: number; heap: number }>(SERVER, 'measure')
      context.progress(`${sessions} clients connecting`)
      await connect(sessions)
      await connected(WARM + sessions)
      const after = await server.call<{ rss: number; heap: number }>(SERVER, 'measure')
      return {
        rss: (after.rss - before.rss) / sessions / 1024,
        heap: (after.heap - before.heap) / sessions / 1024,
      }
    },
  }
}

export function memoryScenarios(options: BenchOptions): Scenario[] {
  const sessions = options.quick ? 200 : 5_000
  return [
    {
      id: 'ws.memory',
      title: `server memory per idle session, ${sessions.toLocaleString('en-US')} sessions`,
      description: `A fresh server process; ${WARM} clients connect first, then ${sessions.toLocaleString('en-US')} more (from another process) and stay idle; growth of the server's RSS and heap (after a full GC) divided by ${sessions.toLocaleString('en-US')}.`,
      sides: [
        side('Lifeline', 'lifeline', sessions),
        side(RAW, 'raw', sessions),
        side('Socket.IO', 'socket.io', sessions),
      ],
      rounds: options.quick ? 1 : 3,
      warmup: false,
      metrics: [
        {
          key: 'rss',
          title: 'RSS per session',
          unit: 'KB',
          better: 'lower',
          digits: 1,
          targets: [{ against: RAW, max: 1.5, note: 'stretch 1.2' }],
        },
        {
          key: 'heap',
          title: 'heap per session',
          unit: 'KB',
          better: 'lower',
          digits: 1,
          targets: [{ against: RAW, max: 1.5 }],
        },
      ],
    },
  ]
}
