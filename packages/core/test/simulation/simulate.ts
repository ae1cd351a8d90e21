/**
 * Deterministic simulation: one seed drives a random schedule of sends, publishes, drops, black holes,
 * latency, clock jumps and server restarts against the real client and server on simulated time,
 * then checks the invariants of exactly-once delivery (or an explicit unrecoverable signal), order,
 * bounds, and that nothing is left behind after close.
 */
import { createClient, inertEnvironment, type LifelineClient } from '../../src/index.js'
import { createServer, type LifelineServer } from '../../src/server.js'
import { FakeNetwork, SimulatedClock, seededRandom } from '../../src/testing.js'

const TOPICS = ['t:a', 't:b']
const MAX_PENDING = 20
const GRACE_MS = 4000
const HEARTBEAT_MS = 1000
const HEARTBEAT_TIMEOUT_MS = 500

interface ClientRecord {
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

/** Lets every queued microtask run; all of the core's asynchrony is microtasks or clock timers. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve))

export async function simulate(seed: number, log?: (line: string) => void): Promise<void> {
  const random = seededRandom(seed)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
  const clock = new SimulatedClock()
  const network = new FakeNetwork(clock)
  const processed = new Map<string, string[]>() // actor -> data ids the server app processed, in order
  let restarts = 0
  const sidOwner = new Map<string, string>()

  const makeServer = () =>
    createServer({
      secret: 'simulation-secret-simulation-secret',
      clock,
      randomBytes: (size) => Uint8Array.from({ length: size }, () => Math.floor(random() * 256)),
      graceMs: GRACE_MS,
      heartbeatMs: HEARTBEAT_MS,
      heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
      memory: { topicLog: { maxEntries: 50 }, directLog: { maxEntries: 50 } },
      authenticate: (auth) => ({ subject: String((auth as { token: string }).token) }),
      onMessage: (message, session) => {
        const actor = sidOwner.get(session.sid) ?? session.subject
        const list = processed.get(actor) ?? []
        list.push(String(message.data))
        processed.set(actor, list)
      },
    })
  if (log !== undefined) {
    network.tap = (client, direction, payload) =>
      log(`${clock.now()} ${client} ${direction} ${String(payload).slice(0, 300)}`)
  }
  let server: LifelineServer = makeServer()
  await server.attach(network.serverTransport())

  const records: ClientRecord[] = []
  for (const actor of ['c1', 'c2']) {
    const client = createClient({
      transport: network.client(actor),
      clock,
      random,
      environment: inertEnvironment,
      auth: { token: actor },
      idPrefix: actor,
      outbox: { maxMessages: MAX_PENDING, overflow: 'reject' },
      retryDelay: ({ attempt }) => Math.min(2000, 100 * 2 ** attempt) * random(),
    })
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
    client.on('status', (status) => log?.(`${clock.now()} ${actor} status ${JSON.stringify(status)}`))
    client.on('joined', (event) => {
      if (event.recovered === false) record.unrecovered++
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
    records.push(record)
    client.connect()
    for (const topic of TOPICS) if (random() < 0.7) client.join(topic).catch(() => {})
  }

  let next = 0
  const steps = 20 + Math.floor(random() * 40)
  for (let step = 0; step < steps; step++) {
    const roll = random()
    const record = pick(records)
    const transport = network.client(record.actor)
    if (roll < 0.3) {
      const id = `${record.actor}-${next++}`
      record.sent.push(id)
      record.client.send(id).then(
        () => record.acked.add(id),
        () => {},
      )
      log?.(`${clock.now()} ${record.actor} send ${id}`)
    } else if (roll < 0.45) {
      const topic = pick(TOPICS)
      server.publish(topic, `p${next++}`).catch(() => {})
      log?.(`${clock.now()} publish ${topic}`)
    } else if (roll < 0.52) {
      const sid = record.client.sid
      if (sid !== undefined) server.send(sid, `d${next++}`).catch(() => {})
      log?.(`${clock.now()} direct to ${record.actor}`)
    } else if (roll < 0.6) {
      transport.reset()
      log?.(`${clock.now()} ${record.actor} reset`)
    } else if (roll < 0.64) {
      transport.clientLoses()
      log?.(`${clock.now()} ${record.actor} client loses`)
    } else if (roll < 0.68) {
      transport.blackhole()
      log?.(`${clock.now()} ${record.actor} blackhole`)
    } else if (roll < 0.72) {
      network.latencyMs = pick([0, 0, 5, 40, 200])
      log?.(`${clock.now()} latency ${network.latencyMs}`)
    } else if (roll < 0.74) {
      clock.jump(Math.floor(random() * 3000))
      log?.(`${clock.now()} clock jump`)
    } else if (roll < 0.77) {
      const topic = pick(TOPICS)
      if (record.client.joinedTopics.includes(topic)) {
        record.client.leave(topic)
        record.epochs.set(topic, (record.epochs.get(topic) ?? 0) + 1)
        log?.(`${clock.now()} ${record.actor} leave ${topic}`)
      } else {
        record.client.join(topic).catch(() => {})
        log?.(`${clock.now()} ${record.actor} join ${topic}`)
      }
    } else if (roll < 0.78) {
      server.goAway({ retryAfterMs: Math.floor(random() * 500), jitterMs: Math.floor(random() * 1000) })
      log?.(`${clock.now()} server goes away`)
    } else if (roll < 0.79) {
      restarts++
      for (const r of records) {
        if (r.sessions > 0) r.lostSession = true
        network.client(r.actor).reset()
      }
      await settle()
      await server.shutdown()
      server = makeServer()
      await server.attach(network.serverTransport())
      log?.(`${clock.now()} server restart`)
    } else {
      const ms = Math.floor(random() * 1500)
      for (let elapsed = 0; elapsed < ms; elapsed += 50) {
        clock.advance(50)
        await settle()
      }
      log?.(`${clock.now()} advance ${ms}`)
    }
    await settle()
  }

  // Heal: no more faults; give every client time to reconnect, resend and be acked.
  network.latencyMs = 0
  for (let elapsed = 0; elapsed < 30_000; elapsed += 100) {
    clock.advance(100)
    await settle()
  }

  const fail = (message: string): never => {
    throw new SimulationFailure(
      `seed ${seed}: ${message}\n  replay: SIM_SEED=${seed} pnpm --filter @lifeline/core exec vitest run test/simulation`,
    )
  }
  for (const record of records) {
    const { actor, client } = record
    if (client.status.type !== 'open') fail(`${actor} is ${client.status.type} after healing`)
    if (client.pending !== 0) fail(`${actor} still has ${client.pending} pending sends after healing`)
    if (record.maxPending > MAX_PENDING) fail(`${actor} outbox held ${record.maxPending} > ${MAX_PENDING}`)
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

  // Close everything: no timer, session or listener may remain.
  for (const record of records) record.client.close()
  await settle()
  for (let elapsed = 0; elapsed < GRACE_MS * 2; elapsed += 500) {
    clock.advance(500)
    await settle()
  }
  if (server.stats.sessions !== 0) fail(`${server.stats.sessions} sessions left after close`)
  await server.shutdown()
  await settle()
  if (clock.pendingTimers !== 0) fail(`${clock.pendingTimers} timers left after close`)
}
