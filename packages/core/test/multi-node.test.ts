/**
 * Several server nodes sharing one store and one bus (LL-NODE-1..9), in one process on simulated
 * time: sessions resume on any node, a takeover closes the connection on the node that held it, a
 * session's end is decided once for the cluster, members and direct sends reach across nodes, and two
 * nodes claiming one session at once never both own it.
 */
import { CloseCode } from '@lifeline/protocol'
import { describe, expect, it } from 'vitest'
import { createClient, type LifelineClient, silentLogger } from '../src/index.js'
import {
  type Claim,
  type ClaimResult,
  createServer,
  type LifelineServer,
  MemoryBus,
  MemoryStore,
  type ServerOptions,
  type SessionStore,
  type StreamEntry,
  type StreamName,
} from '../src/server.js'
import { FakeNetwork, SimulatedClock, seededRandom } from '../src/testing.js'
import { hello, type RawClient, rawClient, settle } from './helpers.js'

const SECRET = 'x'.repeat(32)

interface Node {
  readonly server: LifelineServer
  readonly network: FakeNetwork
}

async function cluster(count: number, options: ServerOptions = {}) {
  const clock = new SimulatedClock()
  const memory = new MemoryStore(clock)
  const store = options.store ?? memory
  const bus = new MemoryBus()
  const nodes: Node[] = []
  for (let i = 0; i < count; i++) {
    const network = new FakeNetwork(clock)
    const server = createServer({
      secret: SECRET,
      clock,
      store,
      bus,
      node: `node-${i}`,
      logger: silentLogger,
      graceMs: 10_000,
      authenticate: (auth) => ({ subject: String((auth as { user?: string } | undefined)?.user ?? 'ann') }),
      ...options,
    })
    await server.attach(network.serverTransport())
    nodes.push({ server, network })
  }
  /** A client whose attempts go to node `target.node`. */
  const client = (id: string, target: { node: number }, user = 'ann'): LifelineClient =>
    createClient({
      transport: nodes.map((node) => node.network.client(id)),
      transportPolicy: () => target.node,
      clock,
      random: () => 0.5,
      logger: silentLogger,
      auth: { user },
      retryDelay: () => 50,
    })
  const advance = async (ms: number) => {
    for (let t = 0; t < ms; t += 50) {
      clock.advance(Math.min(50, ms - t))
      await settle()
    }
  }
  return { clock, memory, store, bus, nodes, client, advance }
}

const at = (nodes: Node[], i: number) => (nodes[i] as Node).server

describe('sessions across nodes (LL-NODE-1..9)', () => {
  it('LL-NODE-3, LL-RESUME-2: a session dropped on node A resumes on node B: recovered, replayed, no left, A lets go', async () => {
    const { nodes, client, advance } = await cluster(2)
    const target = { node: 0 }
    const alice = client('alice', target)
    const bob = client('bob', { node: 1 }, 'bob')
    const got: unknown[] = []
    const presence: string[] = []
    alice.on('message', (m) => got.push(m.data))
    bob.on('presence', (p) => presence.push(`${p.event}`))
    alice.connect()
    bob.connect()
    await settle()
    await alice.join('room')
    await bob.join('room')
    await at(nodes, 0).publish('room', 'one')
    await settle()
    const sid = alice.sid as string
    target.node = 1
    nodes[0]?.network.client('alice').reset()
    await settle()
    // Published while alice is between nodes, from both.
    await at(nodes, 0).publish('room', 'two')
    await at(nodes, 1).publish('room', 'three')
    await advance(200)
    expect(alice.status).toMatchObject({ type: 'open', resumed: true })
    expect(alice.recovered).toBe(true)
    expect(alice.sid).toBe(sid)
    expect(got).toEqual(['one', 'two', 'three'])
    expect(at(nodes, 0).stats.sessions).toBe(0) // let go, without a word to the room
    expect(at(nodes, 1).session(sid)).toBeDefined()
    expect(presence.filter((p) => p === 'left')).toEqual([])
    expect(presence).toContain('away')
    expect(presence[presence.length - 1], JSON.stringify(presence)).toBe('reconnected')
    // Sends go on, once each.
    await alice.send('after')
    expect(
      at(nodes, 1)
        .members('room')
        .map((m) => m.sid),
    ).toContain(sid)
  })

  it('LL-NODE-3, LL-NODE-8: node A dies mid-stream; the client resumes on B with every send processed once', async () => {
    const processed: unknown[] = []
    const { nodes, client, advance } = await cluster(2, {
      onMessage: (m) => void processed.push(m.data),
    })
    const target = { node: 0 }
    const alice = client('alice', target)
    const got: unknown[] = []
    alice.on('message', (m) => got.push(m.data))
    alice.connect()
    await settle()
    await alice.join('room')
    for (let i = 1; i <= 5; i++) void alice.send(i)
    await settle()
    await at(nodes, 0).halt()
    for (let i = 6; i <= 10; i++) void alice.send(i)
    await at(nodes, 1).publish('room', 'while down')
    target.node = 1
    await advance(500)
    expect(alice.status).toMatchObject({ type: 'open', resumed: true })
    expect(alice.recovered).toBe(true)
    expect(alice.pending).toBe(0)
    expect(processed).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    expect(got).toEqual(['while down'])
  })

  it('LL-NODE-3, LL-RESUME-8: a copy of the memento resumed on another node: the older connection gets 4006, or 4203 from the same client', async () => {
    for (const sameClient of [false, true]) {
      const { nodes } = await cluster(2)
      const a = rawClient((nodes[0] as Node).network, 'tab1')
      await settle()
      a.send(hello({ auth: { user: 'ann' }, cid: 'cid-1' }))
      await settle()
      const welcome = a.last('welcome') as { memento: string; sid: string }
      const b = rawClient((nodes[1] as Node).network, 'tab2')
      await settle()
      b.send(
        hello({
          auth: { user: 'ann' },
          cid: sameClient ? 'cid-1' : 'cid-2',
          resume: { memento: welcome.memento, seq: 0 },
        }),
      )
      await settle(10)
      expect(b.last('welcome')).toMatchObject({ sid: welcome.sid, resumed: true, recovered: true })
      expect(a.last('bye')).toMatchObject({
        code: sameClient ? CloseCode.SUPERSEDED : CloseCode.SESSION_REPLACED,
        reconnect: sameClient,
      })
      expect(at(nodes, 0).stats.sessions).toBe(0)
    }
  })

  it('LL-NODE-4, LL-GRACE-2: a session whose grace ends is left once in the cluster; a late resume anywhere is told expired', async () => {
    const { nodes, advance } = await cluster(2)
    const watcher = rawClient((nodes[1] as Node).network, 'watcher')
    await settle()
    watcher.send(hello({ auth: { user: 'bob' } }))
    await settle()
    watcher.send({ type: 'join', topic: 'room' })
    const a = rawClient((nodes[0] as Node).network, 'ann')
    await settle()
    a.send(hello({ auth: { user: 'ann' } }))
    await settle()
    a.send({ type: 'join', topic: 'room' })
    await settle()
    const { memento } = a.last('welcome') as { memento: string }
    nodes[0]?.network.client('ann').reset()
    await advance(10_100)
    const annSid = (a.last('welcome') as { sid: string }).sid
    const events = watcher.frames.filter((f) => f.type === 'presence' && f.sid === annSid).map((f) => f.event)
    expect(events).toEqual(['joined', 'away', 'left'])
    const late = rawClient((nodes[1] as Node).network, 'late')
    await settle()
    late.send(hello({ auth: { user: 'ann' }, resume: { memento, seq: 0 } }))
    await settle(10)
    expect(late.last('welcome')).toMatchObject({ resumed: false, reason: 'expired' })
  })

  it('LL-NODE-9: send, kick and remove by session id from any node', async () => {
    const { nodes, client } = await cluster(2)
    const alice = client('alice', { node: 0 })
    const got: unknown[] = []
    alice.on('message', (m) => got.push(m.data))
    const removed: string[] = []
    alice.on('unjoined', (e) => removed.push(e.topic))
    alice.connect()
    await settle()
    await alice.join('room')
    const sid = alice.sid as string
    expect(await at(nodes, 1).send(sid, 'from B')).toBe(1)
    await settle()
    expect(got).toEqual(['from B'])
    expect(await at(nodes, 1).remove(sid, 'room')).toBe(true)
    await settle()
    expect(removed).toEqual(['room'])
    expect(await at(nodes, 1).kick(sid, 'enough')).toBe(true)
    await settle()
    expect(alice.status.type).toBe('closed')
    expect(await at(nodes, 1).kick(sid)).toBe(false)
    await expect(at(nodes, 1).send('s_nobody', 'x')).rejects.toThrow(/no session/)
  })

  it('LL-NODE-6, LL-NODE-9: a send to a dead node’s session adopts it on the sending node, where its client finds it', async () => {
    const { nodes, client, advance } = await cluster(2)
    const target = { node: 0 }
    const alice = client('alice', target)
    const got: unknown[] = []
    alice.on('message', (m) => got.push(m.data))
    alice.connect()
    await settle()
    const sid = alice.sid as string
    await at(nodes, 0).halt()
    expect(await at(nodes, 1).send(sid, 'kept for you')).toBe(1)
    expect(at(nodes, 1).stats).toMatchObject({ sessions: 1, away: 1 })
    target.node = 1
    await advance(300)
    expect(alice.status).toMatchObject({ type: 'open', resumed: true })
    expect(got).toEqual(['kept for you'])
  })

  it('LL-NODE-5: an entry the bus skipped is read back from the store, in order, before what followed', async () => {
    const memoryBus = new MemoryBus()
    let dropped = 0
    // Loses the room's second entry on its way to every node, as a feed that missed one would.
    const bus = Object.assign(Object.create(memoryBus) as MemoryBus, {
      publish: (stream: StreamName, entry: StreamEntry) => {
        if (stream === 't:room' && entry.seq === 2 && dropped++ === 0) return
        memoryBus.publish(stream, entry)
      },
    })
    const { nodes, client } = await cluster(2, { bus })
    const alice = client('alice', { node: 0 })
    const got: unknown[] = []
    alice.on('message', (m) => got.push(m.data))
    alice.connect()
    await settle()
    await alice.join('room')
    for (const data of ['one', 'two', 'three', 'four']) await at(nodes, 1).publish('room', data)
    await settle()
    expect(dropped).toBe(1)
    expect(got).toEqual(['one', 'two', 'three', 'four'])
    expect(alice.status).toMatchObject({ type: 'open', resumed: false })
  })

  it('LL-NODE-7, LL-PRESENCE-3: joined lists members of every node', async () => {
    const { nodes, client } = await cluster(2)
    const alice = client('alice', { node: 0 }, 'alice')
    const bob = client('bob', { node: 1 }, 'bob')
    alice.connect()
    bob.connect()
    await settle()
    await alice.join('room')
    await settle()
    await bob.join('room')
    expect([...bob.members('room').keys()]).toContain(alice.sid)
    await settle()
    for (const node of [0, 1])
      expect(
        at(nodes, node)
          .members('room')
          .map((m) => m.sid)
          .sort(),
      ).toEqual([alice.sid, bob.sid].sort())
  })
})

/** A store whose claims are answered after a random number of ticks: claims race for real. */
function racingStore(memory: MemoryStore, random: () => number): SessionStore {
  const delay = async () => {
    for (let i = Math.floor(random() * 4); i > 0; i--) await new Promise<void>((r) => setImmediate(r))
  }
  return Object.assign(Object.create(memory) as MemoryStore, {
    claim: async (sid: string, claim: Claim): Promise<ClaimResult> => {
      await delay()
      const result = memory.claim(sid, claim)
      await delay()
      return result
    },
  })
}

describe('the claim race at the core (LL-NODE-1)', () => {
  it('two nodes resuming one session at once, 300 rounds: one owner, one open connection, never left', async () => {
    const random = seededRandom(11)
    const outcomes = new Map<string, number>()
    for (let round = 0; round < 300; round++) {
      const clock = new SimulatedClock()
      const memory = new MemoryStore(clock)
      const { nodes } = await cluster(3, { store: racingStore(memory, random), clock } as ServerOptions)
      const first = rawClient((nodes[0] as Node).network, 'first')
      await settle()
      first.send(hello({ auth: { user: 'ann' }, cid: 'c0' }))
      await settle()
      first.send({ type: 'join', topic: 'room' })
      await settle()
      const { memento, sid } = first.last('welcome') as { memento: string; sid: string }
      if (random() < 0.5) nodes[0]?.network.client('first').reset()
      const racers: RawClient[] = []
      for (const i of [1, 2]) {
        const racer = rawClient((nodes[i] as Node).network, `racer${i}`)
        racers.push(racer)
      }
      await settle(1)
      for (const [k, racer] of racers.entries())
        racer.send(hello({ auth: { user: 'ann' }, cid: `c${k + 1}`, resume: { memento, seq: 0 } }))
      await settle(30)
      const holders = nodes.filter((node) => node.server.session(sid) !== undefined)
      const states = nodes.map((node) =>
        JSON.stringify(
          (
            node.server as unknown as { core: { sessions: Map<string, { state: unknown }> } }
          ).core.sessions.get(sid)?.state,
        ),
      )
      const trace = [first, ...racers].map((c) =>
        JSON.stringify(
          c.frames
            .filter((f) => f.type === 'welcome' || f.type === 'bye')
            .map((f) => [f.type, f.resumed ?? f.code]),
        ),
      )
      expect(holders.length, `round ${round}: nodes holding the session ${states} ${trace}`).toBe(1)
      const open = [first, ...racers].filter((c) => c.closed === undefined && c.last('bye') === undefined)
      const resumedOpen = open.filter((c) => c === first || c.last('welcome')?.resumed === true)
      expect(resumedOpen.length, `round ${round}: connections carrying the session`).toBe(1)
      const lefts = memory.members('t:room').length
      expect(lefts, `round ${round}: members of the room`).toBe(1)
      const key = [first, ...racers]
        .map((c) => String(c.last('bye')?.code ?? (c.closed === undefined ? 'owner' : 'gone')))
        .join(' ')
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1)
    }
    console.info('claim race outcomes (first, racer 1, racer 2):', Object.fromEntries(outcomes))
    expect(outcomes.size).toBeGreaterThan(1)
  }, 120_000)
})
