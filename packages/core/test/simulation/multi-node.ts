/**
 * Deterministic simulation with several nodes (LL-NODE-1..9): two server nodes share one store and one
 * bus; one seed drives clients moving between nodes, sends, publishes and direct sends from either
 * node, drops, black holes, latency, nodes killed (as a crash: nothing more written) and started
 * again, on simulated time. Same invariant as one node: every send processed exactly once and in
 * order, every stream delivered exactly once in order or an explicit signal naming it, nothing left
 * behind.
 */
import { createClient, inertEnvironment } from '../../src/index.js'
import {
  type Claim,
  createServer,
  type LifelineServer,
  MemoryBus,
  MemoryStore,
  type SessionStore,
} from '../../src/server.js'
import { FakeNetwork, SimulatedClock, seededRandom } from '../../src/testing.js'
import { type ClientRecord, checkClients, SimulationFailure, watchClient } from './invariants.js'

const NODES = 2
const TOPICS = ['t:a', 't:b']
const MAX_PENDING = 20
const GRACE_MS = 4000

const settle = () => new Promise<void>((resolve) => setImmediate(resolve))

interface Node {
  readonly network: FakeNetwork
  server: LifelineServer | undefined
  /** Incarnations of this node: a node started again is a new process with a new id. */
  starts: number
}

export async function simulateNodes(seed: number, log?: (line: string) => void): Promise<void> {
  const random = seededRandom(seed)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
  const clock = new SimulatedClock()
  const randomBytes = (size: number) => Uint8Array.from({ length: size }, () => Math.floor(random() * 256))
  const store = new MemoryStore(clock, {
    randomBytes,
    topicLog: { maxEntries: 50 },
    directLog: { maxEntries: 50 },
  })
  const bus = new MemoryBus()
  const processed = new Map<string, string[]>()
  const sidOwner = new Map<string, string>()
  const nodes: Node[] = Array.from({ length: NODES }, () => ({
    network: new FakeNetwork(clock),
    server: undefined,
    starts: 0,
  }))
  if (log !== undefined) {
    nodes.forEach((node, index) => {
      node.network.tap = (client, direction, payload) =>
        log(`${clock.now()} n${index} ${client} ${direction} ${String(payload).slice(0, 300)}`)
    })
  }
  let kills = 0

  const start = async (index: number) => {
    const node = nodes[index] as Node
    node.starts++
    const server = createServer({
      secret: 'simulation-secret-simulation-secret',
      clock,
      randomBytes,
      store,
      bus,
      node: `n${index}.${node.starts}`,
      graceMs: GRACE_MS,
      heartbeatMs: 1000,
      heartbeatTimeoutMs: 500,
      handoverTimeoutMs: 1000,
      authenticate: (auth) => ({ subject: String((auth as { token: string }).token) }),
      onMessage: (message, session) => {
        const actor = sidOwner.get(session.sid) ?? session.subject
        const list = processed.get(actor) ?? []
        list.push(String(message.data))
        processed.set(actor, list)
      },
    })
    await server.attach(node.network.serverTransport())
    node.server = server
  }
  for (let i = 0; i < NODES; i++) await start(i)
  const live = () => nodes.filter((node) => node.server !== undefined)

  const records: ClientRecord[] = []
  /** Which node each client dials while it can; a refused dial tries the next one. */
  const prefers = new Map<string, number>()
  for (const actor of ['c1', 'c2']) {
    prefers.set(actor, Math.floor(random() * NODES))
    const client = createClient({
      transport: nodes.map((node) => node.network.client(actor)),
      transportPolicy: ({ failures }) => ((prefers.get(actor) ?? 0) + failures) % NODES,
      clock,
      random,
      environment: inertEnvironment,
      auth: { token: actor },
      idPrefix: actor,
      outbox: { maxMessages: MAX_PENDING, overflow: 'reject' },
      retryDelay: ({ attempt }) => Math.min(2000, 100 * 2 ** attempt) * random(),
    })
    records.push(watchClient(client, actor, sidOwner, () => clock.now(), log))
    client.connect()
    for (const topic of TOPICS) if (random() < 0.7) client.join(topic).catch(() => {})
  }
  const resetAll = (actor: string) => {
    for (const node of nodes) node.network.client(actor).reset()
  }

  let next = 0
  const steps = 20 + Math.floor(random() * 40)
  for (let step = 0; step < steps; step++) {
    const roll = random()
    const record = pick(records)
    const { actor } = record
    const server = pick(live()).server as LifelineServer
    if (roll < 0.28) {
      const id = `${actor}-${next++}`
      record.sent.push(id)
      record.client.send(id).then(
        () => record.acked.add(id),
        () => {},
      )
      log?.(`${clock.now()} ${actor} send ${id}`)
    } else if (roll < 0.42) {
      const topic = pick(TOPICS)
      server.publish(topic, `p${next++}`).catch(() => {})
      log?.(`${clock.now()} publish ${topic}`)
    } else if (roll < 0.5) {
      // From whichever node: the session may be held by the other one (LL-NODE-9).
      const sid = record.client.sid
      if (sid !== undefined) server.send(sid, `d${next++}`).catch(() => {})
      log?.(`${clock.now()} direct to ${actor}`)
    } else if (roll < 0.58) {
      resetAll(actor)
      log?.(`${clock.now()} ${actor} reset`)
    } else if (roll < 0.64) {
      // The client comes back through the other node (a load balancer's choice).
      prefers.set(actor, ((prefers.get(actor) ?? 0) + 1) % NODES)
      resetAll(actor)
      log?.(`${clock.now()} ${actor} moves to node ${prefers.get(actor)}`)
    } else if (roll < 0.67) {
      for (const node of nodes) node.network.client(actor).blackhole()
      log?.(`${clock.now()} ${actor} blackhole`)
    } else if (roll < 0.7) {
      const latency = pick([0, 0, 5, 40, 200])
      for (const node of nodes) node.network.latencyMs = latency
      log?.(`${clock.now()} latency ${latency}`)
    } else if (roll < 0.73) {
      const topic = pick(TOPICS)
      if (record.client.joinedTopics.includes(topic)) {
        record.client.leave(topic)
        record.epochs.set(topic, (record.epochs.get(topic) ?? 0) + 1)
        log?.(`${clock.now()} ${actor} leave ${topic}`)
      } else {
        record.client.join(topic).catch(() => {})
        log?.(`${clock.now()} ${actor} join ${topic}`)
      }
    } else if (roll < 0.77) {
      // A node dies as a process does: nothing more written; its sessions are taken by the other.
      const victim = pick(nodes)
      if (victim.server !== undefined && live().length > 1) {
        kills++
        await victim.server.halt()
        victim.server = undefined
        log?.(`${clock.now()} node ${nodes.indexOf(victim)} killed`)
      }
    } else if (roll < 0.8) {
      const dead = nodes.findIndex((node) => node.server === undefined)
      if (dead >= 0) {
        await start(dead)
        log?.(`${clock.now()} node ${dead} started`)
      }
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

  // Heal: every node up, no more faults; give every client time to reconnect, resend and be acked.
  for (let i = 0; i < NODES; i++) if ((nodes[i] as Node).server === undefined) await start(i)
  for (const node of nodes) node.network.latencyMs = 0
  for (let elapsed = 0; elapsed < 30_000; elapsed += 100) {
    clock.advance(100)
    await settle()
  }

  const fail = (message: string): never => {
    throw new SimulationFailure(
      `seed ${seed} (${kills} nodes killed): ${message}\n  replay: SIM_NODES_SEED=${seed} pnpm --filter @lifeline/core exec vitest run test/simulation-nodes`,
    )
  }
  // The shared store lost nothing: no store restart excuses a loss or a duplicate.
  checkClients(records, processed, 0, MAX_PENDING, fail)
  const holders = new Map<string, number>()
  for (const node of nodes)
    for (const record of records) {
      const sid = record.client.sid
      if (sid !== undefined && node.server?.session(sid) !== undefined)
        holders.set(sid, (holders.get(sid) ?? 0) + 1)
    }
  for (const [sid, count] of holders) if (count > 1) fail(`${count} nodes hold session ${sid}`)

  for (const record of records) record.client.close()
  await settle()
  for (let elapsed = 0; elapsed < GRACE_MS * 2; elapsed += 500) {
    clock.advance(500)
    await settle()
  }
  for (const node of nodes) {
    const sessions = node.server?.stats.sessions ?? 0
    if (sessions !== 0) fail(`${sessions} sessions left on a node after close`)
    await node.server?.shutdown()
  }
  await settle()
  if (clock.pendingTimers !== 0) fail(`${clock.pendingTimers} timers left after close`)
}
