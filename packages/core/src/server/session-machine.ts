/**
 * A session's lifecycle on one node, with ownership, as a pure transition function:
 * (state, event) -> [state, effects]. The server core performs the effects (core.ts); nothing here
 * touches a clock, a store or a connection.
 *
 * Several nodes may share a store (LL-NODE-1..8): a session has one owner at a time, the winner of
 * the session's current term in the store. A node holds a session as its owner (`connected`, `away`)
 * or while it claims it (`adopting`, `expiring`, `ending`); it lets go for good when another node
 * takes the session over (`released`) or when it ended it (`ended`). Only the owner of a term ends a
 * session, and only by winning the next term, so `left` is published once in the whole cluster.
 */

export type SessionPhase =
  /** Claiming a session another node held (a resume from the store, or a dead node's session). */
  | 'adopting'
  /** Won it: waiting for the node that held it to let go (LL-NODE-3). */
  | 'taking-over'
  | 'connected'
  | 'away'
  /** The grace period ran out: claiming the session's end (LL-GRACE-2). */
  | 'expiring'
  /** A bye or a kick: claiming the session's end (LL-GRACE-3). */
  | 'ending'
  | 'ended'
  /** Another node owns the session now; this node forgot it without a word to its topics. */
  | 'released'

/** Why a session ended, as its tombstone says (LL-RESUME-4). */
export type EndReason = 'bye' | 'kick' | 'grace' | 'shutdown'

export interface SessionState {
  readonly phase: SessionPhase
  /** The ownership term this node holds (or claims, while adopting, expiring or ending). */
  readonly term: number
  /** While adopting: whether a connection waits for the claim (a resume) or none does (an orphan). */
  readonly connection?: boolean
  /** While ending: why. */
  readonly reason?: EndReason
}

export type SessionEvent =
  /** The connection ended without a bye or a kick (LL-GRACE-1). */
  | { readonly type: 'dropped' }
  /** A new connection of this session arrived at this node. */
  | { readonly type: 'resumed' }
  | { readonly type: 'grace-over' }
  /** A bye, a kick, or the app ending the session. */
  | { readonly type: 'end'; readonly reason: EndReason }
  /** The store ordered this node's claim first: it owns the term. */
  | { readonly type: 'claim-won'; readonly term: number }
  /** Another node holds the term this node claimed. */
  | { readonly type: 'claim-lost'; readonly term: number }
  /** Another node announced it owns the session at a higher term (LL-NODE-3). */
  | { readonly type: 'taken-over'; readonly term: number; readonly sameClient: boolean }
  /**
   * The node that held the session let go of it (or is gone): its last record is written, and says
   * whether the session's peers saw it away.
   */
  | { readonly type: 'handed-over'; readonly term: number; readonly wasAway: boolean }

export type SessionEffect =
  | { readonly type: 'presence'; readonly event: 'away' | 'reconnected' | 'left' }
  | { readonly type: 'start-grace' }
  | { readonly type: 'cancel-grace' }
  /** Ask the store for the term; the answer comes back as claim-won or claim-lost. */
  | { readonly type: 'claim'; readonly term: number; readonly purpose: 'expire' | 'end' }
  /** Write the session's record (fenced by its term, LL-NODE-2). */
  | { readonly type: 'persist' }
  /**
   * Tell the other nodes this node owns the session at its term, and wait until the one that held it
   * lets go (LL-NODE-3); the answer comes back as handed-over.
   */
  | { readonly type: 'take-over' }
  /** Close the session's connection on this node, if it has one (LL-RESUME-8 across nodes). */
  | { readonly type: 'close'; readonly code: 'superseded' | 'replaced' }
  /** Write the tombstone and free the session's shared state: it ended (LL-GRACE-2, -3). */
  | { readonly type: 'free'; readonly reason: EndReason }
  /** Forget the session on this node only: another node owns it, its shared state is that node's. */
  | { readonly type: 'release' }

export type SessionResult = readonly [SessionState, readonly SessionEffect[]]

/** A session opened on this node: the first term is its creator's (LL-NODE-1). */
export const openedState = (term = 1): SessionState => ({ phase: 'connected', term })

/**
 * A session this node takes from the store: it claims `term` (the record's term plus one). With a
 * connection, a client resumes here; without, the node that held it is gone (LL-NODE-6).
 */
export const adoptingState = (term: number, connection: boolean): SessionState => ({
  phase: 'adopting',
  term,
  connection,
})

/** Phases in which this node owns the session. */
export const owns = (state: SessionState): boolean => state.phase === 'connected' || state.phase === 'away'

const same = (state: SessionState): SessionResult => [state, []]

export function sessionTransition(state: SessionState, event: SessionEvent): SessionResult {
  const { phase, term } = state
  if (phase === 'ended' || phase === 'released') return same(state)
  switch (event.type) {
    case 'dropped':
      if (phase !== 'connected') return same(state)
      return [
        { phase: 'away', term },
        [{ type: 'presence', event: 'away' }, { type: 'start-grace' }, { type: 'persist' }],
      ]

    case 'resumed':
      // While a claim is in flight the core waits for its answer before resuming (handshake.ts).
      if (phase === 'away') {
        return [
          { phase: 'connected', term },
          [{ type: 'cancel-grace' }, { type: 'presence', event: 'reconnected' }, { type: 'persist' }],
        ]
      }
      // LL-PRESENCE-4: a resume the server had not noticed as a drop publishes nothing.
      return same(state)

    case 'grace-over':
      if (phase !== 'away') return same(state)
      // LL-NODE-4: the end is decided in the store, against a resume on another node.
      return [{ phase: 'expiring', term }, [{ type: 'claim', term: term + 1, purpose: 'expire' }]]

    case 'end':
      if (phase === 'connected') {
        return [
          { phase: 'ending', term, reason: event.reason },
          [{ type: 'claim', term: term + 1, purpose: 'end' }],
        ]
      }
      if (phase === 'away') {
        return [
          { phase: 'ending', term, reason: event.reason },
          [{ type: 'cancel-grace' }, { type: 'claim', term: term + 1, purpose: 'end' }],
        ]
      }
      // Adopting: not ours yet. Expiring or ending: the claim in flight ends it anyway.
      return same(state)

    case 'claim-won':
      return won(state, event.term)

    case 'claim-lost':
      if (event.term !== claimedTerm(state)) return same(state)
      return [{ phase: 'released', term }, [{ type: 'release' }]]

    case 'handed-over':
      return handedOver(state, event.term, event.wasAway)

    case 'taken-over': {
      if (event.term <= term) return same(state) // an older owner's announcement, or our own
      // Its grace timer goes with the release; its record still says it was away, for the taker.
      const effects: SessionEffect[] = []
      if (phase === 'connected')
        effects.push({ type: 'close', code: event.sameClient ? 'superseded' : 'replaced' })
      effects.push({ type: 'release' })
      // The term stays this node's last: its final record is written under it, below the taker's.
      return [{ phase: 'released', term }, effects]
    }
  }
}

/** The term a claim in flight asks for: adopting claims `term`, expiring and ending `term + 1`. */
function claimedTerm(state: SessionState): number | undefined {
  if (state.phase === 'adopting') return state.term
  if (state.phase === 'expiring' || state.phase === 'ending') return state.term + 1
  return undefined
}

function won(state: SessionState, claimed: number): SessionResult {
  const { phase } = state
  // Only the answer to the claim this state asked for counts.
  if (claimed !== claimedTerm(state)) return same(state)
  if (phase === 'adopting') return [{ ...state, phase: 'taking-over' }, [{ type: 'take-over' }]]
  if (phase === 'expiring' || phase === 'ending') {
    const reason: EndReason = phase === 'expiring' ? 'grace' : (state.reason ?? 'bye')
    return [
      { phase: 'ended', term: claimed },
      [
        { type: 'presence', event: 'left' },
        { type: 'free', reason },
      ],
    ]
  }
  return same(state)
}

/** The session is this node's now, as its last owner left it. */
function handedOver(state: SessionState, answered: number, wasAway: boolean): SessionResult {
  const { phase, term } = state
  // Only the answer to this node's own request counts.
  if (phase !== 'taking-over' || answered !== term) return same(state)
  if (state.connection !== true) {
    // LL-NODE-6: a dead node's session; its client is gone until it resumes, so it is away here.
    const effects: SessionEffect[] = wasAway ? [] : [{ type: 'presence', event: 'away' }]
    return [{ phase: 'away', term }, [...effects, { type: 'start-grace' }, { type: 'persist' }]]
  }
  // LL-PRESENCE-4: `reconnected` only after an `away` the peers saw.
  const effects: SessionEffect[] = wasAway ? [{ type: 'presence', event: 'reconnected' }] : []
  return [{ phase: 'connected', term }, [...effects, { type: 'persist' }]]
}
