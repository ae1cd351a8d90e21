/**
 * The server session lifecycle (session-machine.ts): unit cases, then an exhaustive check of two nodes
 * sharing one session through a store that orders claims (LL-NODE-1..6): every interleaving of drops,
 * resumes on either node, grace timers, byes, claims answered in any order, takeover announcements
 * delivered late, and a node dying, up to bounds, with the invariants checked in every state reached.
 */
import { describe, expect, it } from 'vitest'
import {
  adoptingState,
  type EndReason,
  openedState,
  owns,
  type SessionEffect,
  type SessionEvent,
  type SessionState,
  sessionTransition,
} from '../src/server/session-machine.js'

const connected = openedState()
const away: SessionState = { phase: 'away', term: 1 }

describe('session lifecycle (pure)', () => {
  it('LL-GRACE-1, LL-PRESENCE-1: a drop makes the session away, starts the grace period, and persists', () => {
    expect(sessionTransition(connected, { type: 'dropped' })).toEqual([
      away,
      [{ type: 'presence', event: 'away' }, { type: 'start-grace' }, { type: 'persist' }],
    ])
  })

  it('LL-PRESENCE-4: a resume of a connected session publishes nothing; of an away one, reconnected', () => {
    expect(sessionTransition(connected, { type: 'resumed' })).toEqual([connected, []])
    expect(sessionTransition(away, { type: 'resumed' })[1]).toContainEqual({
      type: 'presence',
      event: 'reconnected',
    })
  })

  it('LL-GRACE-2, LL-NODE-4: the grace period ends by winning the next term; left only then', () => {
    const [expiring, claim] = sessionTransition(away, { type: 'grace-over' })
    expect(claim).toEqual([{ type: 'claim', term: 2, purpose: 'expire' }])
    expect(sessionTransition(expiring, { type: 'claim-won', term: 2 })).toEqual([
      { phase: 'ended', term: 2 },
      [
        { type: 'presence', event: 'left' },
        { type: 'free', reason: 'grace' },
      ],
    ])
    // Another node resumed it meanwhile: forgotten here, without left.
    expect(sessionTransition(expiring, { type: 'claim-lost', term: 2 })).toEqual([
      { phase: 'released', term: 1 },
      [{ type: 'release' }],
    ])
    expect(sessionTransition(connected, { type: 'grace-over' })).toEqual([connected, []])
  })

  it('LL-GRACE-3: a bye or kick ends the session through a claim too', () => {
    const [ending, effects] = sessionTransition(away, { type: 'end', reason: 'kick' })
    expect(effects).toEqual([{ type: 'cancel-grace' }, { type: 'claim', term: 2, purpose: 'end' }])
    expect(sessionTransition(ending, { type: 'claim-won', term: 2 })[1]).toContainEqual({
      type: 'free',
      reason: 'kick',
    })
  })

  it('LL-NODE-3, LL-RESUME-8: a takeover closes the connection (SUPERSEDED for the same client, else REPLACED)', () => {
    expect(sessionTransition(connected, { type: 'taken-over', term: 2, sameClient: true })).toEqual([
      { phase: 'released', term: 1 },
      [{ type: 'close', code: 'superseded' }, { type: 'release' }],
    ])
    expect(sessionTransition(away, { type: 'taken-over', term: 2, sameClient: false })[1]).toEqual([
      { type: 'release' },
    ])
    // An announcement of a term this node already holds is stale.
    expect(sessionTransition(connected, { type: 'taken-over', term: 1, sameClient: false })).toEqual([
      connected,
      [],
    ])
  })

  it('LL-NODE-3: a resume from the store claims the next term, then waits for the last owner to let go', () => {
    const [taking, effects] = sessionTransition(adoptingState(2, true), { type: 'claim-won', term: 2 })
    expect(effects).toEqual([{ type: 'take-over' }])
    expect(sessionTransition(taking, { type: 'handed-over', term: 2, wasAway: true })).toEqual([
      { phase: 'connected', term: 2 },
      [{ type: 'presence', event: 'reconnected' }, { type: 'persist' }],
    ])
    expect(sessionTransition(taking, { type: 'handed-over', term: 2, wasAway: false })[1]).toEqual([
      { type: 'persist' },
    ])
    expect(sessionTransition(taking, { type: 'handed-over', term: 1, wasAway: false })).toEqual([taking, []])
    expect(sessionTransition(adoptingState(2, true), { type: 'claim-lost', term: 2 })[0].phase).toBe(
      'released',
    )
  })

  it('LL-NODE-6: a dead node’s session adopted without a connection is away here', () => {
    const [taking] = sessionTransition(adoptingState(2, false), { type: 'claim-won', term: 2 })
    expect(sessionTransition(taking, { type: 'handed-over', term: 2, wasAway: false })).toEqual([
      { phase: 'away', term: 2 },
      [{ type: 'presence', event: 'away' }, { type: 'start-grace' }, { type: 'persist' }],
    ])
  })

  it('ended and released are final', () => {
    for (const phase of ['ended', 'released'] as const) {
      for (const event of EVENTS)
        expect(sessionTransition({ phase, term: 3 }, event)).toEqual([{ phase, term: 3 }, []])
    }
  })
})

const EVENTS: SessionEvent[] = [
  { type: 'dropped' },
  { type: 'resumed' },
  { type: 'grace-over' },
  { type: 'end', reason: 'bye' },
  { type: 'claim-won', term: 2 },
  { type: 'claim-lost', term: 2 },
  { type: 'taken-over', term: 4, sameClient: false },
  { type: 'handed-over', term: 3, wasAway: true },
]

// ---- Two nodes, one store: an explicit-state model checker over every interleaving ----

interface NodeModel {
  /** Undefined: the node does not hold the session. */
  readonly state: SessionState | undefined
  readonly alive: boolean
  readonly grace: boolean
  readonly connection: boolean
}

interface World {
  readonly nodes: readonly [NodeModel, NodeModel]
  /** The store: the current term and its owner, the record's away flag and term, the tombstone. */
  readonly term: number
  readonly owner: number
  readonly recordTerm: number
  readonly recordAway: boolean
  readonly ended: EndReason | undefined
  /** Claims sent to the store and not yet ordered, and answers not yet delivered. */
  readonly claims: readonly { readonly node: number; readonly term: number; readonly final: boolean }[]
  /** The current term was won to end the session: no claim wins after it (LL-NODE-4). */
  readonly final: boolean
  readonly answers: readonly { readonly node: number; readonly event: SessionEvent }[]
  /** Takeover requests and their answers on the bus, not yet delivered. */
  readonly mail: readonly { readonly to: number; readonly event: SessionEvent }[]
  /** Presence published, in order, with the node and term that published it. */
  readonly presence: readonly string[]
  /** Budgets bounding the exploration. */
  readonly resumes: number
  readonly drops: number
  readonly deaths: number
  readonly ends: number
}

const other = (i: number) => 1 - i

function withNode(world: World, i: number, node: NodeModel): World {
  const nodes = [...world.nodes] as [NodeModel, NodeModel]
  nodes[i] = node
  return { ...world, nodes }
}

/** Runs one event through node i's machine and performs its effects on the model. */
function step(world: World, i: number, event: SessionEvent): World {
  const node = world.nodes[i] as NodeModel
  if (
    event.type === 'taken-over' &&
    (!node.alive || node.state === undefined || node.state.phase === 'released')
  )
    return reply(world, i, event.term)
  if (node.state === undefined || !node.alive) return world
  const [state, effects] = sessionTransition(node.state, event)
  let w = withNode(world, i, { ...node, state })
  for (const effect of effects) w = perform(w, i, state, effect)
  return event.type === 'taken-over' ? reply(w, i, event.term) : w
}

/** Node i let go (or is gone): the taker reads the record now (LL-NODE-3). */
function reply(w: World, i: number, term: number): World {
  return {
    ...w,
    mail: [...w.mail, { to: other(i), event: { type: 'handed-over', term, wasAway: w.recordAway } }],
  }
}

function perform(w: World, i: number, state: SessionState, effect: SessionEffect): World {
  const node = w.nodes[i] as NodeModel
  switch (effect.type) {
    case 'presence':
      return { ...w, presence: [...w.presence, `${effect.event}@${i}.${state.term}`] }
    case 'start-grace':
      return withNode(w, i, { ...node, grace: true })
    case 'cancel-grace':
      return withNode(w, i, { ...node, grace: false })
    case 'claim':
      return { ...w, claims: [...w.claims, { node: i, term: effect.term, final: true }] }
    case 'persist':
      // LL-NODE-2: a record of a lower term never replaces one of a higher term.
      if (state.term < w.recordTerm) return w
      return { ...w, recordTerm: state.term, recordAway: state.phase === 'away' }
    case 'take-over':
      // The request to the node that held it; a node that is gone answers at once (no responder).
      return {
        ...w,
        mail: [
          ...w.mail,
          { to: other(i), event: { type: 'taken-over', term: state.term, sameClient: false } },
        ],
      }
    case 'close':
      return withNode(w, i, { ...node, connection: false })
    case 'free':
      return { ...w, ended: effect.reason, recordTerm: state.term }
    case 'release':
      return withNode(w, i, { ...node, state: undefined, grace: false, connection: false })
  }
}

/** Every action possible in a world. */
function successors(w: World): [string, World][] {
  const next: [string, World][] = []
  w.nodes.forEach((node, i) => {
    if (!node.alive) return
    const state = node.state
    if (state !== undefined) {
      if (node.connection && w.drops > 0)
        next.push([
          `${i} dropped`,
          step({ ...withNode(w, i, { ...node, connection: false }), drops: w.drops - 1 }, i, {
            type: 'dropped',
          }),
        ])
      if (node.grace)
        next.push([
          `${i} grace over`,
          step(withNode(w, i, { ...node, grace: false }), i, { type: 'grace-over' }),
        ])
      if (node.connection && w.ends > 0)
        next.push([`${i} bye`, step({ ...w, ends: w.ends - 1 }, i, { type: 'end', reason: 'bye' })])
      // The client comes back to the node that holds the session (after a claim in flight settles).
      if (!node.connection && owns(state) && w.resumes > 0)
        next.push([
          `${i} resumed here`,
          step({ ...withNode(w, i, { ...node, connection: true }), resumes: w.resumes - 1 }, i, {
            type: 'resumed',
          }),
        ])
    } else if (!w.final && w.resumes > 0) {
      // The client resumes on a node that does not hold it: read the record, claim the next term.
      const term = w.term + 1
      next.push([
        `${i} resume from store, claims ${term}`,
        {
          ...withNode(w, i, { ...node, state: adoptingState(term, true), connection: true }),
          claims: [...w.claims, { node: i, term, final: false }],
          resumes: w.resumes - 1,
        },
      ])
    }
    // The owner's node is dead: a survivor adopts its session (LL-NODE-6).
    const owner = w.nodes[w.owner] as NodeModel
    if (state === undefined && !owner.alive && !w.final) {
      const term = w.term + 1
      next.push([
        `${i} adopts, claims ${term}`,
        {
          ...withNode(w, i, { ...node, state: adoptingState(term, false) }),
          claims: [...w.claims, { node: i, term, final: false }],
        },
      ])
    }
    if (w.deaths > 0)
      next.push([
        `${i} dies`,
        { ...withNode(w, i, { ...node, alive: false, grace: false }), deaths: w.deaths - 1 },
      ])
  })
  // The store orders a pending claim: the first claim of the next term wins it.
  w.claims.forEach((claim, k) => {
    const claims = w.claims.filter((_, j) => j !== k)
    const won = claim.term === w.term + 1 && !w.final
    const event: SessionEvent = won
      ? { type: 'claim-won', term: claim.term }
      : { type: 'claim-lost', term: claim.term }
    next.push([
      `store orders ${claim.node}'s claim of ${claim.term}: ${won ? 'won' : 'lost'}`,
      {
        ...w,
        claims,
        term: won ? claim.term : w.term,
        final: won ? claim.final : w.final,
        owner: won ? claim.node : w.owner,
        answers: [...w.answers, { node: claim.node, event }],
      },
    ])
  })
  w.answers.forEach((answer, k) => {
    next.push([
      `${answer.node} hears ${JSON.stringify(answer.event)}`,
      step({ ...w, answers: w.answers.filter((_, j) => j !== k) }, answer.node, answer.event),
    ])
  })
  w.mail.forEach((mail, k) => {
    next.push([
      `${mail.to} gets ${JSON.stringify(mail.event)}`,
      step({ ...w, mail: w.mail.filter((_, j) => j !== k) }, mail.to, mail.event),
    ])
  })
  return next
}

function check(w: World, trail: readonly string[]): void {
  const fail = (message: string) => {
    throw new Error(
      `${message}\n  presence: ${w.presence.join(', ')}\n  world: ${JSON.stringify(w)}\n  steps:\n    ${trail.join('\n    ')}`,
    )
  }
  const lefts = w.presence.filter((p) => p.startsWith('left')).length
  if (lefts > 1) fail('left published twice')
  if (lefts === 1 && !w.presence[w.presence.length - 1]?.startsWith('left')) fail('presence after left')
  if (lefts === 1 && w.ended === undefined) fail('left without a tombstone')
  const owners = w.nodes.filter((n) => n.alive && n.state !== undefined && owns(n.state))
  if (owners.length === 2 && owners[0]?.state?.term === owners[1]?.state?.term) fail('two owners of one term')
  for (const n of owners)
    if ((n.state?.term ?? 0) > w.term) fail('an owner of a term the store never ordered')
  if (w.ended !== undefined && owners.some((n) => n.state?.term === w.term))
    fail('an owner of an ended session')
  const quiet = w.claims.length === 0 && w.answers.length === 0 && w.mail.length === 0
  if (!quiet) return
  // At rest: one owner of the current term at most, no stale one, and the peers see its state. A node
  // that won a term and died before anyone heard of it leaves the previous owner stale: its writes are
  // fenced, and its next claim loses, after which the session is adopted as the dead node's.
  const stale = owners.filter((n) => (n.state?.term ?? 0) < w.term)
  if (stale.length > 0 && w.nodes[w.owner]?.alive) fail('a stale owner at rest')
  if (stale.length > 0) return
  const last = [...w.presence]
    .reverse()
    .find((p) => /^(away|reconnected|left)/.test(p))
    ?.split('@')[0]
  const seen = last === undefined || last === 'reconnected' ? 'online' : last
  const live = owners[0]
  if (w.ended !== undefined && seen !== 'left') fail('ended without left at rest')
  if (live?.state?.phase === 'connected' && seen !== 'online') fail(`connected but peers see ${seen}`)
  if (live?.state?.phase === 'away' && seen !== 'away') fail(`away but peers see ${seen}`)
}

function explore(start: World): { states: number; deepest: number } {
  const seen = new Set<string>()
  let frontier: { world: World; trail: string[] }[] = [{ world: start, trail: [] }]
  let deepest = 0
  while (frontier.length > 0) {
    const next: typeof frontier = []
    for (const { world, trail } of frontier) {
      const key = JSON.stringify(world)
      if (seen.has(key)) continue
      seen.add(key)
      check(world, trail)
      deepest = Math.max(deepest, trail.length)
      for (const [label, successor] of successors(world))
        next.push({ world: successor, trail: [...trail, label] })
    }
    frontier = next
  }
  return { states: seen.size, deepest }
}

const start: World = {
  nodes: [
    { state: openedState(), alive: true, grace: false, connection: true },
    { state: undefined, alive: true, grace: false, connection: false },
  ],
  term: 1,
  owner: 0,
  recordTerm: 1,
  recordAway: false,
  ended: undefined,
  claims: [],
  final: false,
  answers: [],
  mail: [],
  presence: [],
  resumes: 2,
  drops: 2,
  deaths: 1,
  ends: 1,
}

describe('two nodes, one session, every interleaving (LL-NODE-1..6)', () => {
  it('never two owners of a term, left at most once and only at the end, peers agree at rest', () => {
    const { states, deepest } = explore(start)
    console.info(`session machine: ${states} states explored, longest path ${deepest} steps`)
    expect(states).toBeGreaterThan(1000)
  })
})
