/**
 * What the multi-node simulation checks (the single-node one has its own checker, checker.ts): each
 * client's sends, acks and deliveries are recorded as it sees them, then checked against what the
 * server app processed.
 */
import type { LifelineClient } from '../../src/index.js'

export interface ClientRecord {
  readonly actor: string
  readonly client: LifelineClient
  /** Data ids acked by the server (the send promise resolved). */
  readonly acked: Set<string>
  /** Every send, in order. */
  readonly sent: string[]
  /** Deliveries per stream: stream -> seqs in delivery order. */
  readonly received: Map<string, number[]>
  /** Number of times the client was told something could not be recovered. */
  unrecovered: number
  /** Sessions this client had; deliveries are checked per session for the direct stream. */
  sessions: number
  maxPending: number
  /** Set when the server restarted while this client had a session: an unrecovered signal must follow. */
  lostSession: boolean
  /** Bumped by a leave: a later join starts a new, separately checked run of the topic. */
  readonly epochs: Map<string, number>
}

export class SimulationFailure extends Error {
  override name = 'SimulationFailure'
}

/** Records what a client sees; `sidOwner` maps session ids to actors for the server app. */
export function watchClient(
  client: LifelineClient,
  actor: string,
  sidOwner: Map<string, string>,
  now: () => number,
  log?: (line: string) => void,
): ClientRecord {
  const record: ClientRecord = {
    actor,
    client,
    acked: new Set(),
    sent: [],
    received: new Map(),
    unrecovered: 0,
    sessions: 0,
    maxPending: 0,
    lostSession: false,
    epochs: new Map(),
  }
  client.on('session', (event) => {
    sidOwner.set(event.sid, actor)
    if (!event.resumed) record.sessions++
  })
  client.on('unrecovered', () => record.unrecovered++)
  client.on('status', (status) => log?.(`${now()} ${actor} status ${JSON.stringify(status)}`))
  client.on('joined', (event) => {
    if (event.recovered === false) record.unrecovered++
    // Each answer to a join starts a run of the topic, checked on its own: a join crossing a leave
    // in flight may be answered for the earlier one.
    record.epochs.set(event.topic, (record.epochs.get(event.topic) ?? 0) + 1)
  })
  const key = (topic: string) => `${topic}#${record.epochs.get(topic) ?? 0}`
  client.on('message', (message) => {
    const stream = message.topic === undefined ? `direct#${record.sessions}` : key(message.topic)
    const list = record.received.get(stream) ?? []
    list.push(message.seq)
    record.received.set(stream, list)
  })
  client.on('presence', (presence) => {
    const list = record.received.get(key(presence.topic)) ?? []
    list.push(presence.seq)
    record.received.set(key(presence.topic), list)
  })
  client.on('pending', (pending) => {
    record.maxPending = Math.max(record.maxPending, pending)
  })
  return record
}

/**
 * Every client is open with nothing pending; every acked send was processed, once and in order (unless
 * a store that lost everything restarted); every stream delivered in order and without a gap, unless
 * an explicit signal said something was lost.
 */
export function checkClients(
  records: readonly ClientRecord[],
  processed: ReadonlyMap<string, readonly string[]>,
  restarts: number,
  maxPending: number,
  fail: (message: string) => never,
): void {
  for (const record of records) {
    const { actor, client } = record
    if (client.status.type !== 'open') fail(`${actor} is ${client.status.type} after healing`)
    if (client.pending !== 0) fail(`${actor} still has ${client.pending} pending sends after healing`)
    if (record.maxPending > maxPending) fail(`${actor} outbox held ${record.maxPending} > ${maxPending}`)
    const seen = processed.get(actor) ?? []
    const counts = new Map<string, number>()
    for (const id of seen) counts.set(id, (counts.get(id) ?? 0) + 1)
    // Server to client: a gap is allowed only after an explicit signal (unrecovered, or a join that
    // could not recover). A restart with the memory store must produce that signal.
    const lossAllowed = restarts > 0 || record.unrecovered > 0
    if (record.lostSession && record.unrecovered === 0)
      fail(`${actor}: the server lost its session but no signal came`)
    for (const id of record.acked) {
      if (!counts.has(id)) fail(`${actor}: ${id} was acked but never processed`)
    }
    // Client to server: the de-duplication window outlives sessions; only a restart of the memory store
    // may let a resent message through twice, or out of order.
    for (const [id, count] of counts) {
      if (count > 1 && restarts === 0) fail(`${actor}: ${id} processed ${count} times`)
    }
    const order = seen.filter((id, i) => seen.indexOf(id) === i).map((id) => record.sent.indexOf(id))
    for (let i = 1; i < order.length; i++) {
      if ((order[i] as number) < (order[i - 1] as number) && restarts === 0)
        fail(`${actor}: processed out of order`)
    }
    for (const [stream, seqs] of record.received) {
      for (let i = 1; i < seqs.length; i++) {
        const previous = seqs[i - 1] as number
        const current = seqs[i] as number
        if (current <= previous && restarts === 0)
          fail(`${actor}: ${stream} delivered seq ${current} after ${previous}`)
        // Every entry after the first one delivered arrives: a gap needs an explicit signal.
        if (current !== previous + 1 && !lossAllowed)
          fail(`${actor}: ${stream} skipped from ${previous} to ${current}`)
      }
    }
  }
}
