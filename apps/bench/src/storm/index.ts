/**
 * Reconnect storm: thousands of clients, in several processes, all dropped at once, by a restart of
 * the server's listener (sockets cut, port closed for a while, sessions kept: as with a store that
 * outlives the process) or by the server going away with advised pacing. All clients share one
 * address (127.0.0.1), as behind a NAT. Measured: time until every client has resumed with nothing
 * lost either way, and dial attempts per second over time, full jitter against no jitter.
 */
import { createServer } from '@lifeline/core/server'
import { wsServerTransport } from '@lifeline/ws/server'
import { here, type Peer } from '../framework/peer.js'
import type { BenchModule, BenchOptions, RunContext, Scenario, Side } from '../framework/types.js'
import { SECRET } from '../ws/servers.js'
import { BUCKET_MS, type StormReport } from './clients.js'

const CLIENTS = here(import.meta.url, './clients.ts')
const PER_PROCESS = 1000
/** Messages each session gets before the drop, and while it is away. */
const BEFORE = 3
const WHILE_AWAY = 2
const DOWNTIME_MS = 2000
const RETRY_AFTER_MS = 1000
const JITTER_MS = 5000
/** The brief's bound: everyone back within 2x the maximum backoff (30 s). */
const DEADLINE_MS = 60_000
const CHART_BUCKET_MS = 250
const ROOM = 'room'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

type Mode = 'restart' | 'going-away'

interface StormOptions {
  readonly downtimeMs?: number
  /** All clients in one topic: messages go to the topic, presence to every member. */
  readonly room?: boolean
}

function stormSide(
  name: string,
  clients: number,
  mode: Mode,
  jitter: boolean,
  options: StormOptions = {},
): Side {
  const downtimeMs = options.downtimeMs ?? DOWNTIME_MS
  const room = options.room === true ? ROOM : undefined
  return {
    name,
    run: async (context) => {
      const received = new Map<string, number>()
      const sids: string[] = []
      const server = createServer({
        secret: SECRET,
        authenticate: (auth) => ({ subject: String(auth) }),
        onMessage: (_message, session) =>
          void received.set(session.subject, (received.get(session.subject) ?? 0) + 1),
      })
      server.on('session', (event) => {
        if (!event.resumed) sids.push(event.sid)
      })
      let transport = wsServerTransport({ port: 0 })
      await server.attach(transport)
      const port = transport.port
      const url = `ws://127.0.0.1:${port}/lifeline`
      try {
        const peers = await startClients(context, url, clients, jitter, room)
        const send = (from: number, to: number) => {
          for (let n = from; n <= to; n++) {
            if (room !== undefined) void server.publish(room, { n })
            else for (const sid of sids) void server.send(sid, { n })
          }
        }
        send(1, BEFORE)
        await waitReports(peers, (r) => r.lastMessage >= BEFORE, 30_000)
        const droppedAt = Date.now()
        await Promise.all(peers.map((peer) => peer.call(CLIENTS, 'arm', { at: droppedAt })))
        if (mode === 'restart') {
          await transport.close()
        } else {
          server.goAway({ retryAfterMs: RETRY_AFTER_MS, jitterMs: jitter ? JITTER_MS : 0 })
        }
        send(BEFORE + 1, BEFORE + WHILE_AWAY)
        await Promise.all(peers.map((peer) => peer.call(CLIENTS, 'sendOne')))
        if (mode === 'restart') {
          await sleep(downtimeMs)
          transport = wsServerTransport({ port })
          await server.attach(transport)
        }
        context.progress('waiting for every client to resume')
        const done = (r: StormReport) =>
          r.resumed === r.clients && r.lastMessage >= BEFORE + WHILE_AWAY && r.pending === 0
        const reports = await waitReports(peers, done, DEADLINE_MS * 2, (r) =>
          context.progress(`${r.resumed}/${r.clients} resumed ${JSON.stringify(r.notResumed)}`),
        )
        const total = sum(reports)
        if (Object.keys(total.notResumed).length > 0) {
          console.error(
            `\n${name}: sessions not resumed, by welcome reason: ${JSON.stringify(total.notResumed)}`,
          )
        }
        const seconds = (Math.max(...reports.map((r) => r.lastResumeAt)) - droppedAt) / 1000
        let c2sWrong = 0
        for (let i = 0; i < clients; i++) if (received.get(`storm-${i}`) !== 1) c2sWrong++
        const perBucket = total.buckets
        const chart: Array<[number, number]> = []
        const ratio = CHART_BUCKET_MS / BUCKET_MS
        for (let i = 0; i * ratio < perBucket.length; i++) {
          let attempts = 0
          for (let j = 0; j < ratio; j++) attempts += perBucket[i * ratio + j] ?? 0
          chart.push([(i * CHART_BUCKET_MS) / 1000, attempts / (CHART_BUCKET_MS / 1000)])
        }
        context.series({ name, points: chart })
        return {
          seconds: total.resumed === clients ? seconds : Number.NaN,
          resumed: total.resumed,
          unrecovered: clients - total.recovered,
          lost:
            total.lost +
            total.duplicated +
            c2sWrong +
            Math.max(0, BEFORE + WHILE_AWAY - total.lastMessage) * clients,
          peak: Math.max(0, ...chart.map(([, rate]) => rate)),
          attempts: perBucket.reduce((a, b) => a + (b ?? 0), 0),
        }
      } finally {
        await server.shutdown({ jitterMs: 0 })
      }
    },
  }
}

async function startClients(
  context: RunContext,
  url: string,
  clients: number,
  jitter: boolean,
  room: string | undefined,
): Promise<Peer[]> {
  const peers: Peer[] = []
  for (let first = 0; first < clients; first += PER_PROCESS) peers.push(await context.peer(`storm-${first}`))
  let connected = 0
  await Promise.all(
    peers.map(async (peer, i) => {
      const first = i * PER_PROCESS
      const count = Math.min(PER_PROCESS, clients - first)
      await peer.call(CLIENTS, 'start', { url, count, first, jitter, room })
      connected += count
      context.progress(`${connected}/${clients} clients connected`)
    }),
  )
  return peers
}

async function waitReports(
  peers: readonly Peer[],
  done: (report: StormReport) => boolean,
  timeoutMs: number,
  progress?: (report: StormReport) => void,
): Promise<StormReport[]> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const reports = await Promise.all(peers.map((peer) => peer.call<StormReport>(CLIENTS, 'report')))
    const total = sum(reports)
    progress?.(total)
    if (done(total) || Date.now() > deadline) return reports
    await sleep(250)
  }
}

function sum(reports: readonly StormReport[]): StormReport {
  const buckets: number[] = []
  for (const report of reports) {
    for (const [i, n] of report.buckets.entries()) buckets[i] = (buckets[i] ?? 0) + (n ?? 0)
  }
  const add = (key: 'clients' | 'resumed' | 'recovered' | 'lost' | 'duplicated' | 'pending') =>
    reports.reduce((total, report) => total + report[key], 0)
  const notResumed: Record<string, number> = {}
  for (const report of reports) {
    for (const [reason, count] of Object.entries(report.notResumed))
      notResumed[reason] = (notResumed[reason] ?? 0) + count
  }
  return {
    notResumed,
    clients: add('clients'),
    resumed: add('resumed'),
    recovered: add('recovered'),
    lost: add('lost'),
    duplicated: add('duplicated'),
    pending: add('pending'),
    lastResumeAt: Math.max(...reports.map((r) => r.lastResumeAt)),
    lastMessage: Math.min(...reports.map((r) => r.lastMessage)),
    buckets,
  }
}

const STORM_METRICS: Scenario['metrics'] = [
  {
    key: 'seconds',
    title: 'time until all resumed',
    unit: 's',
    better: 'lower',
    targets: [{ max: DEADLINE_MS / 1000, note: '2× max backoff' }],
  },
  {
    key: 'lost',
    title: 'messages lost or duplicated (both ways)',
    unit: '',
    better: 'lower',
    digits: 0,
    targets: [{ max: 0 }],
  },
  {
    key: 'unrecovered',
    title: 'sessions not recovered',
    unit: '',
    better: 'lower',
    digits: 0,
    targets: [{ max: 0 }],
  },
  { key: 'peak', title: 'peak dial attempts per second', unit: '/s', better: 'lower' },
  { key: 'attempts', title: 'dial attempts in all', unit: '', better: 'lower', digits: 0 },
]

export function stormScenarios(options: BenchOptions): Scenario[] {
  const clients = Number(process.env.STORM_CLIENTS ?? (options.quick ? 100 : 10_000))
  const n = clients.toLocaleString('en-US')
  const goingAway = `going away, retryAfter ${RETRY_AFTER_MS / 1000} s`
  // Quick (CI): a short restart and one going away, enough to show the storm still runs end to end.
  const sides = options.quick
    ? [
        stormSide('restart, full jitter', clients, 'restart', true, { downtimeMs: 500 }),
        stormSide(`${goingAway} + ${JITTER_MS / 1000} s jitter`, clients, 'going-away', true),
      ]
    : [
        stormSide('restart, full jitter', clients, 'restart', true),
        stormSide('restart, no jitter', clients, 'restart', false),
        stormSide(`${goingAway} + ${JITTER_MS / 1000} s jitter`, clients, 'going-away', true),
        stormSide(`${goingAway}, no jitter`, clients, 'going-away', false),
      ]
  return [
    {
      id: 'storm',
      title: `reconnect storm, ${n} clients`,
      description: `${n} clients in ${Math.ceil(clients / PER_PROCESS)} processes, all from 127.0.0.1 (one address, as behind a NAT), each with its own session. Each gets ${BEFORE} direct messages; then all are dropped at once: by a **restart** of the server's listener (sockets cut, port closed for ${DOWNTIME_MS / 1000} s, sessions kept, as a restart with a store that outlives the process would) or by the server **going away** (bye with retryAfterMs ${RETRY_AFTER_MS} and a jitter window). While they are away the server sends each ${WHILE_AWAY} more messages and each client sends one. Measured: time from the drop until every client has resumed; anything lost or duplicated either way (must be 0); dial attempts per second. Clients back off with full jitter (the default, 500 ms doubling to 30 s) or with the same exponential backoff without jitter. The deadline is 2× the maximum backoff (${DEADLINE_MS / 1000} s).`,
      sides,
      rounds: 1,
      warmup: false,
      chart: {
        kind: 'lines',
        title: `Reconnect storm, ${n} clients: dial attempts per second after the drop`,
        xLabel: 'seconds since the drop',
        yLabel: 'attempts per second',
      },
      metrics: STORM_METRICS,
    },
    roomStorm(options),
  ]
}

/** The worst case: a whole room of members dropped at once, presence and messages in one topic. */
function roomStorm(options: BenchOptions): Scenario {
  const members = Number(process.env.STORM_ROOM ?? (options.quick ? 100 : 2_000))
  const n = members.toLocaleString('en-US')
  return {
    id: 'storm.room',
    title: `${n} members of one room dropped at once`,
    description: `${n} clients (one address) all in one room with presence, each dropped at once as in the storm above; the room's messages are published to the topic (${BEFORE} before, ${WHILE_AWAY} while away), so every resume replays the ${n} away entries and the messages, and presence is fanned out to every member (LL-PRESENCE-5, -7). Every member must come back recovered with nothing lost.`,
    // Quick (CI): the restart only.
    sides: [
      stormSide('restart, full jitter', members, 'restart', true, { room: true }),
      ...(options.quick
        ? []
        : [
            stormSide(
              `going away, retryAfter ${RETRY_AFTER_MS / 1000} s + ${JITTER_MS / 1000} s jitter`,
              members,
              'going-away',
              true,
              { room: true },
            ),
          ]),
    ],
    rounds: 1,
    warmup: false,
    metrics: STORM_METRICS,
  }
}

export const stormBench: BenchModule = { name: 'storm', scenarios: stormScenarios }
