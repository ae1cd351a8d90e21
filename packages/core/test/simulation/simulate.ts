/**
 * Deterministic simulation: one seed drives a random schedule against the real client and server on
 * simulated time: sends, publishes, direct messages, joins and leaves; resets, half-open links, black
 * holes, latency, clock jumps; welcomes lost any number of times in a row; page reloads at any point
 * (memory lost, storage kept: mid-send, mid-resume), some with cursors beyond their streams' end;
 * drains; memory-store server restarts, whose streams start again in new incarnations. The invariants
 * (checker.ts) hold through all of it, and after healing nothing is left behind.
 */
import { CloseCode } from '@lifeline/protocol'
import {
  createClient,
  inertEnvironment,
  type LifelineClient,
  ServerClosedError,
  type StoredSession,
  type SyncSessionStorage,
} from '../../src/index.js'
import { createServer, type LifelineServer, MemoryBus, MemoryStore } from '../../src/server.js'
import { FakeNetwork, SimulatedClock, seededRandom } from '../../src/testing.js'
import type { ClientTransport } from '../../src/transport.js'
import { ActorView, type Head, Published, SimulationFailure } from './checker.js'

const TOPICS = ['a', 'b']
const MAX_PENDING = 20
const GRACE_MS = 4000
const HEARTBEAT_MS = 1000
const HEARTBEAT_TIMEOUT_MS = 500

interface WireFrame {
  readonly type: string
  readonly topic?: string
  readonly seq?: number
}

/** One user: its pages come and go, its storage (sessionStorage) stays. */
interface Actor {
  readonly name: string
  readonly view: ActorView
  readonly storage: SyncSessionStorage & { value: string | undefined }
  /** Topics the app wants; a new page joins them again, as its code runs again. */
  readonly wanted: Set<string>
  client: LifelineClient
  pages: number
  /** Welcomes still to lose on this actor's links. */
  loseWelcomes: number
  /** Reload the page as soon as its next hello is written: mid-resume, before any welcome. */
  reloadOnHello: boolean
  maxPending: number
}

/** Lets every queued microtask run; all of the core's asynchrony is microtasks or clock timers. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve))

function pageStorage(): Actor['storage'] {
  const storage = {
    persistent: true,
    value: undefined as string | undefined,
    load: (): StoredSession | undefined =>
      storage.value === undefined ? undefined : (JSON.parse(storage.value) as StoredSession),
    save: (session: StoredSession) => {
      storage.value = JSON.stringify(session)
    },
    clear: () => {
      storage.value = undefined
    },
  }
  return storage
}

/** What one seed did, summed over a run for the report. */
export interface SimulationCounts {
  steps: number
  reloads: number
  restarts: number
  lostWelcomes: number
  beyondEnd: number
  /** Pages told their session was taken by another connection (4006), and started afresh. */
  replaced: number
  signals: number
  sends: number
  deliveries: number
}

export async function simulate(seed: number, log?: (line: string) => void): Promise<SimulationCounts> {
  const counts: SimulationCounts = {
    steps: 0,
    reloads: 0,
    restarts: 0,
    lostWelcomes: 0,
    beyondEnd: 0,
    replaced: 0,
    signals: 0,
    sends: 0,
    deliveries: 0,
  }
  const random = seededRandom(seed)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
  const clock = new SimulatedClock()
  const network = new FakeNetwork(clock)
  const published = new Published()
  const processed = new Map<string, string[]>()
  const randomBytes = (size: number) => Uint8Array.from({ length: size }, () => Math.floor(random() * 256))
  // The first failure wins, even one thrown inside a client's event listener.
  let failure: SimulationFailure | undefined
  const fail = (message: string): never => {
    failure ??= new SimulationFailure(
      `seed ${seed}: ${message}\n  replay: SIM_SEED=${seed} pnpm --filter @lifeline/core exec vitest run test/simulation`,
    )
    throw failure
  }
  const check = () => {
    if (failure !== undefined) throw failure
  }

  let store: MemoryStore
  /** Bumped when the server process dies: work its handlers had not finished is lost with it. */
  let lives = 0
  const makeServer = () => {
    const life = lives
    store = new MemoryStore(clock, {
      topicLog: { maxEntries: 30 },
      directLog: { maxEntries: 30 },
      randomBytes,
    })
    const bus = new MemoryBus()
    const publish = bus.publish.bind(bus)
    bus.publish = (stream, entry) => {
      published.record(stream, entry)
      publish(stream, entry)
    }
    return createServer({
      secret: 'simulation-secret-simulation-secret',
      clock,
      randomBytes,
      store,
      bus,
      graceMs: GRACE_MS,
      heartbeatMs: HEARTBEAT_MS,
      heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
      authenticate: (auth) => ({ subject: String((auth as { token: string }).token) }),
      onMessage: (message, session) => {
        // The app's work is done when its handler finishes; some take a while, and a process that
        // dies before then never finishes them.
        const finish = () => {
          if (life !== lives) return
          const list = processed.get(session.subject) ?? []
          list.push(String(message.data))
          processed.set(session.subject, list)
        }
        const ms = random() < 0.3 ? Math.floor(random() * 300) : 0
        if (ms === 0) return finish()
        return new Promise<void>((resolve) =>
          clock.setTimeout(() => {
            finish()
            resolve()
          }, ms),
        )
      },
    })
  }
  const head: Head = (stream) => store.headNow(stream)
  if (log !== undefined) {
    network.tap = (client, direction, payload) =>
      log(`${clock.now()} ${client} ${direction} ${String(payload).slice(0, 2000)}`)
  }
  let server: LifelineServer = makeServer()
  await server.attach(network.serverTransport())

  /** The actor's transport, losing the next welcomes when told to (their link then resets). */
  const transport = (actor: Actor): ClientTransport => {
    const inner = network.client(actor.name)
    return {
      name: 'fake',
      get encoding() {
        return inner.encoding
      },
      connect: (handlers) => {
        // On the wire, within one connection, an entry of a stream never comes twice nor goes back
        // (LL-REPLAY-1, -2), except after a joined that sets the topic's cursor again (LL-TOPIC-2).
        const wire = new Map<string, number>()
        const connection = inner.connect({
          ...handlers,
          message: (payload) => {
            const parsed = JSON.parse(String(payload)) as WireFrame | WireFrame[]
            for (const frame of Array.isArray(parsed) ? parsed : [parsed]) {
              const stream = frame.topic === undefined ? 'd' : `t:${frame.topic}`
              if (frame.type === 'joined') wire.set(stream, frame.seq ?? 0)
              if ((frame.type !== 'msg' && frame.type !== 'presence') || frame.seq === undefined) continue
              const last = wire.get(stream) ?? 0
              if (frame.seq <= last)
                fail(`${actor.name}: ${stream} seq ${frame.seq} written after ${last} on one connection`)
              wire.set(stream, frame.seq)
            }
            if (actor.loseWelcomes > 0 && String(payload).includes('"type":"welcome"')) {
              actor.loseWelcomes--
              counts.lostWelcomes++
              log?.(`${clock.now()} ${actor.name} loses a welcome`)
              queueMicrotask(() => inner.reset())
              return
            }
            handlers.message(payload)
          },
        })
        return {
          send: (payload) => {
            connection.send(payload)
            if (actor.reloadOnHello && String(payload).includes('"type":"hello"')) {
              actor.reloadOnHello = false
              queueMicrotask(() => reload(actor, 'mid-resume'))
            }
          },
          close: (code, reason) => connection.close(code, reason),
        }
      },
    }
  }

  const openPage = (actor: Actor): LifelineClient => {
    actor.pages++
    const client = createClient({
      transport: transport(actor),
      storage: actor.storage,
      clock,
      random,
      environment: inertEnvironment,
      auth: { token: actor.name },
      idPrefix: `${actor.name}p${actor.pages}`,
      outbox: { maxMessages: MAX_PENDING, overflow: 'reject' },
      retryDelay: ({ attempt }) => Math.min(2000, 100 * 2 ** attempt) * random(),
    })
    const view = actor.view
    client.on('session', (event) => view.session(event.sid, event.resumed))
    client.on('gap', (gap) =>
      view.signal(gap.topic === undefined ? `d:${view.sid}` : `t:${gap.topic}`, gap.seq),
    )
    client.on('joined', (event) => view.joined(`t:${event.topic}`, event.seq, event.recovered))
    client.on('unjoined', (event) => view.left(`t:${event.topic}`))
    client.on('message', (message) => {
      const stream = message.topic === undefined ? `d:${view.sid}` : `t:${message.topic}`
      counts.deliveries++
      view.deliver(stream, message.seq, `msg ${JSON.stringify(message.data)}`)
    })
    client.on('presence', (change) =>
      view.deliver(`t:${change.topic}`, change.seq, `presence ${change.sid} ${change.event}`),
    )
    client.on('settled', (event) =>
      view.settled.set(event.id, event.error === undefined ? 'acked' : 'failed'),
    )
    client.on('sendsLost', (event) => {
      for (const id of event.ids) view.settled.set(id, 'lost')
    })
    client.on('pending', (pending) => {
      actor.maxPending = Math.max(actor.maxPending, pending)
    })
    client.on('status', (status) => {
      log?.(`${clock.now()} ${actor.name} status ${JSON.stringify(status)}`)
      // A hello still in flight from a page that is gone can reach the server after the new page's
      // and take the session (LL-RESUME-8): the new page is told (SESSION_REPLACED, its sends fail),
      // and the app starts afresh, as a real one would.
      if (
        status.type === 'closed' &&
        status.error instanceof ServerClosedError &&
        status.error.code === CloseCode.SESSION_REPLACED &&
        actor.client === client
      ) {
        counts.replaced++
        queueMicrotask(() => {
          actor.client = openPage(actor)
        })
      }
    })
    for (const topic of actor.wanted) client.join(topic).catch(() => {})
    client.connect()
    return client
  }

  /** A page reload: the page goes (detach, as on pagehide), its storage stays, a new page starts. */
  const reload = (actor: Actor, when: string, tamper = false): void => {
    counts.reloads++
    if (tamper) counts.beyondEnd++
    actor.client.detach()
    if (tamper) raiseCursors(actor, head)
    actor.client = openPage(actor)
    log?.(`${clock.now()} ${actor.name} reload ${when}${tamper ? ' with cursors beyond the end' : ''}`)
  }

  const actors: Actor[] = ['c1', 'c2'].map((name) => {
    const actor = {
      name,
      view: new ActorView(name, published, head, fail),
      storage: pageStorage(),
      wanted: new Set<string>(),
      pages: 0,
      loseWelcomes: 0,
      reloadOnHello: false,
      maxPending: 0,
    } as unknown as Actor
    for (const topic of TOPICS) if (random() < 0.7) actor.wanted.add(topic)
    actor.client = openPage(actor)
    return actor
  })

  let next = 0
  const steps = 20 + Math.floor(random() * 40)
  for (let step = 0; step < steps; step++) {
    const roll = random()
    const actor = pick(actors)
    const link = network.client(actor.name)
    if (roll < 0.26) {
      const id = `${actor.name}-${next++}`
      actor.view.sent.push(id)
      counts.sends++
      // The id is the data too: what the server app processed is what was sent, by id.
      actor.client.send(id, { id }).then(
        () => actor.view.settled.set(id, 'acked'),
        () => actor.view.settled.set(id, 'failed'),
      )
      log?.(`${clock.now()} ${actor.name} send ${id}`)
      // Mid-send: the page goes in the same task, before the frame could be written or acked.
      if (random() < 0.1) reload(actor, 'mid-send')
    } else if (roll < 0.38) {
      const topic = pick(TOPICS)
      const burst = 1 + Math.floor(random() * 4)
      for (let i = 0; i < burst; i++) server.publish(topic, `p${next++}`).catch(() => {})
      log?.(`${clock.now()} publish ${burst} to ${topic}`)
    } else if (roll < 0.44) {
      const sid = actor.client.sid
      if (sid !== undefined) server.send(sid, `d${next++}`).catch(() => {})
      log?.(`${clock.now()} direct to ${actor.name}`)
    } else if (roll < 0.5) {
      link.reset()
      log?.(`${clock.now()} ${actor.name} reset`)
    } else if (roll < 0.53) {
      link.clientLoses()
      log?.(`${clock.now()} ${actor.name} client loses`)
    } else if (roll < 0.56) {
      link.blackhole()
      log?.(`${clock.now()} ${actor.name} blackhole`)
    } else if (roll < 0.59) {
      actor.loseWelcomes = 1 + Math.floor(random() * 4)
      link.reset()
      log?.(`${clock.now()} ${actor.name} will lose ${actor.loseWelcomes} welcomes`)
    } else if (roll < 0.64) {
      // A page reload, at whatever point the client is: mid-send, mid-resume, offline.
      reload(actor, 'now', random() < 0.25)
    } else if (roll < 0.67) {
      // The next hello of this actor is followed at once by a reload (its link reset first, so one comes).
      actor.reloadOnHello = true
      link.reset()
      log?.(`${clock.now()} ${actor.name} will reload mid-resume`)
    } else if (roll < 0.7) {
      network.latencyMs = pick([0, 0, 5, 40, 200])
      log?.(`${clock.now()} latency ${network.latencyMs}`)
    } else if (roll < 0.72) {
      clock.jump(Math.floor(random() * 3000))
      log?.(`${clock.now()} clock jump`)
    } else if (roll < 0.75) {
      const topic = pick(TOPICS)
      if (actor.wanted.has(topic)) {
        actor.wanted.delete(topic)
        actor.client.leave(topic)
        actor.view.left(`t:${topic}`)
        log?.(`${clock.now()} ${actor.name} leave ${topic}`)
      } else {
        actor.wanted.add(topic)
        actor.client.join(topic).catch(() => {})
        log?.(`${clock.now()} ${actor.name} join ${topic}`)
      }
    } else if (roll < 0.76) {
      server.goAway({ retryAfterMs: Math.floor(random() * 500), jitterMs: Math.floor(random() * 1000) })
      log?.(`${clock.now()} server goes away`)
    } else if (roll < 0.78) {
      // The process dies: links break, the memory store forgets everything; streams start again.
      lives++
      for (const a of actors) network.client(a.name).reset()
      await settle()
      await server.shutdown()
      server = makeServer()
      await server.attach(network.serverTransport())
      counts.restarts++
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
    check()
  }

  // Heal: no more faults; give every client time to reconnect, resend, be acked and catch up.
  network.latencyMs = 0
  for (const actor of actors) {
    actor.loseWelcomes = 0
    actor.reloadOnHello = false
  }
  for (let elapsed = 0; elapsed < 30_000; elapsed += 100) {
    clock.advance(100)
    await settle()
  }
  check()

  for (const actor of actors) {
    const { name, client, view } = actor
    if (client.status.type !== 'open') fail(`${name} is ${client.status.type} after healing`)
    if (client.pending !== 0) fail(`${name} still has ${client.pending} pending sends after healing`)
    if (actor.maxPending > MAX_PENDING) fail(`${name} outbox held ${actor.maxPending} > ${MAX_PENDING}`)
    view.sends(processed.get(name) ?? [])
    // Every topic the app wants is joined again after whatever happened, and no other one.
    const joined = [...client.joinedTopics].sort().join(',')
    const wanted = [...actor.wanted].sort().join(',')
    if (joined !== wanted) fail(`${name} wants topics [${wanted}] but is joined to [${joined}]`)
    const followed = [`d:${client.sid}`, ...client.joinedTopics.map((topic) => `t:${topic}`)]
    view.tail(followed)
  }

  // Close everything: no timer, session or listener may remain.
  for (const actor of actors) actor.client.close()
  await settle()
  for (let elapsed = 0; elapsed < GRACE_MS * 2; elapsed += 500) {
    clock.advance(500)
    await settle()
  }
  if (server.stats.sessions !== 0) fail(`${server.stats.sessions} sessions left after close`)
  await server.shutdown()
  await settle()
  if (clock.pendingTimers !== 0) fail(`${clock.pendingTimers} timers left after close`)
  counts.steps = steps
  counts.signals = actors.reduce((sum, actor) => sum + actor.view.signals, 0)
  return counts
}

/** A storage whose cursors are past their streams' end: kept from a store that no longer reaches them. */
function raiseCursors(actor: Actor, head: Head): void {
  const stored = actor.storage.load()
  if (stored?.cursors === undefined) return
  const cursors: Record<string, number> = {}
  for (const [stream, seq] of Object.entries(stored.cursors)) {
    const name =
      stream === '' ? (actor.view.sid === undefined ? undefined : `d:${actor.view.sid}`) : `t:${stream}`
    // Beyond anything the server wrote: a cursor just above the end could name entries written toward
    // the client and lost with the page, which an honest client never claims and a server cannot tell.
    cursors[stream] = name === undefined ? seq : head(name).lastSeq + 1000
  }
  actor.storage.save({ ...stored, cursors })
}

export { SimulationFailure }
