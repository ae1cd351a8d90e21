/**
 * Reconnect-storm clients, many per peer process. Each checks what it receives (direct messages
 * numbered 1, 2, 3, ... by the server: any gap or repeat is counted as lost or duplicated) and records
 * its dial attempts in 100 ms buckets from the moment of the drop, for the attempts-per-second chart.
 */
import {
  createClient,
  fullJitter,
  inertEnvironment,
  type LifelineClient,
  type RetryDelay,
} from '@lifeline/core'
import { wsTransport } from '@lifeline/ws/node'

export const BUCKET_MS = 100

interface Tracked {
  readonly client: LifelineClient
  last: number
  lost: number
  duplicated: number
  /** Epoch ms of the welcome that resumed this client after the drop, 0 until then. */
  resumedAt: number
  recovered: boolean
}

const tracked: Tracked[] = []
/** Why sessions were not resumed after the drop (welcome reasons), to tell a lost memento from overload. */
let notResumed: Record<string, number> = {}
let droppedAt = 0
let buckets: number[] = []

/** Exponential backoff without jitter: every client that failed together retries together. */
const noJitter: RetryDelay = ({ attempt }) => Math.min(30_000, 500 * 2 ** Math.min(attempt - 1, 16))

export async function start(args: {
  url: string
  count: number
  first: number
  jitter: boolean
  /** Every client joins this topic once open. */
  room?: string
}): Promise<number> {
  const opened: Promise<void>[] = []
  for (let i = 0; i < args.count; i++) {
    const client = createClient({
      transport: wsTransport(args.url),
      environment: inertEnvironment,
      auth: `storm-${args.first + i}`,
      retryDelay: args.jitter ? fullJitter() : noJitter,
    })
    const entry: Tracked = { client, last: 0, lost: 0, duplicated: 0, resumedAt: 0, recovered: false }
    tracked.push(entry)
    client.on('message', ({ data }) => {
      const n = (data as { n: number }).n
      if (n <= entry.last) entry.duplicated++
      else {
        entry.lost += n - entry.last - 1
        entry.last = n
      }
    })
    client.on('session', (event) => {
      if (droppedAt === 0 || event.resumed) return
      const reason = event.reason ?? 'none'
      notResumed[reason] = (notResumed[reason] ?? 0) + 1
    })
    client.on('status', (status) => {
      if (droppedAt === 0) return
      if (status.type === 'connecting') {
        const bucket = Math.floor((Date.now() - droppedAt) / BUCKET_MS)
        if (bucket >= 0) buckets[bucket] = (buckets[bucket] ?? 0) + 1
      } else if (status.type === 'open' && entry.resumedAt === 0) {
        entry.resumedAt = Date.now()
        entry.recovered = status.resumed && status.recovered
      }
    })
    const open = new Promise<void>((resolve) => {
      const off = client.on('status', (status) => {
        if (status.type === 'open') {
          off()
          resolve()
        }
      })
    })
    const room = args.room
    opened.push(room === undefined ? open : open.then(() => client.join(room)))
    client.connect()
    // A few at a time: the initial connect is not what is measured.
    if (opened.length % 50 === 0) await Promise.all(opened)
  }
  await Promise.all(opened)
  return tracked.length
}

/** The drop happens now (epoch ms from the bench process): attempts and resumes count from here. */
export function arm(args: { at: number }): void {
  droppedAt = args.at
  buckets = []
  notResumed = {}
  for (const entry of tracked) entry.resumedAt = 0
}

/** Every client sends one message (queued while it is away): the server must get each exactly once. */
export function sendOne(): void {
  for (const [i, entry] of tracked.entries()) void entry.client.send({ from: i }).catch(() => {})
}

export interface StormReport {
  readonly clients: number
  readonly resumed: number
  readonly recovered: number
  readonly lastResumeAt: number
  readonly lastMessage: number
  readonly lost: number
  readonly duplicated: number
  readonly buckets: number[]
  readonly pending: number
  readonly notResumed: Record<string, number>
}

export function report(): StormReport {
  let resumed = 0
  let recovered = 0
  let lastResumeAt = 0
  let lost = 0
  let duplicated = 0
  let pending = 0
  let lastMessage = Number.POSITIVE_INFINITY
  for (const entry of tracked) {
    if (entry.resumedAt > 0) resumed++
    if (entry.recovered) recovered++
    lastResumeAt = Math.max(lastResumeAt, entry.resumedAt)
    lost += entry.lost
    duplicated += entry.duplicated
    pending += entry.client.pending
    lastMessage = Math.min(lastMessage, entry.last)
  }
  return {
    clients: tracked.length,
    resumed,
    recovered,
    lastResumeAt,
    lastMessage,
    lost,
    duplicated,
    pending,
    buckets: [...buckets],
    notResumed: { ...notResumed },
  }
}
