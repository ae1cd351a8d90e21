/**
 * The topics with subscribers on this node: who is subscribed, who is a member (online or away,
 * LL-PRESENCE-3), and one bus subscription per topic, so a topic entry is encoded once and handed to
 * every subscriber (fan-out does not copy per session).
 *
 * Entries go only to subscribers with a connection: a session away is out of the fan-out until it
 * resumes (it catches up by replay), so publishing costs the same however many sessions are away.
 */
import type { Member } from '@lifeline/protocol'
import type { ServerSession } from './session.js'
import {
  type Bus,
  type SessionStore,
  type StoredMember,
  type StreamEntry,
  type StreamName,
  topicStream,
} from './store.js'

/** LL-PRESENCE-7: presence in topics with at least this many connected subscribers may wait. */
export const PRESENCE_BATCH_MIN_SUBSCRIBERS = 100

interface TopicState {
  readonly subscribers: Set<ServerSession>
  /** The subscribers with a connection: the fan-out. */
  readonly connected: Set<ServerSession>
  /** Every node's members, from the store when the topic came here, then from its presence entries. */
  readonly members: Map<string, Member>
  /** Members changed by an entry while the store's list is read: that list is older for them. */
  touched: Set<string> | undefined
  unsubscribe: () => void
}

export class TopicRegistry {
  private readonly topics = new Map<string, TopicState>()

  constructor(
    private readonly bus: Bus,
    /** Whether presence entries of a big topic may wait for the connection's presence batch. */
    private readonly batchPresence: boolean,
    /** Told when a topic gains its first subscriber here and loses its last (LL-LIMIT-9). */
    private readonly store: SessionStore,
  ) {}

  /** Topics with a subscriber (connected or in grace) on this node: the live topics (LL-LIMIT-9). */
  get size(): number {
    return this.topics.size
  }

  has(topic: string): boolean {
    return this.topics.has(topic)
  }

  /** Adds a session with a connection to a topic's subscribers. */
  subscribe(topic: string, session: ServerSession): void {
    let state = this.topics.get(topic)
    if (state === undefined) {
      const stream = topicStream(topic)
      const created: TopicState = {
        subscribers: new Set(),
        connected: new Set(),
        members: new Map(),
        touched: undefined,
        unsubscribe: () => {},
      }
      created.unsubscribe = this.bus.subscribe(stream, (entry) => this.fanOut(stream, created, entry))
      state = created
      this.topics.set(topic, state)
      this.store.retain?.(stream)
      this.seed(topic, stream, state)
    }
    state.subscribers.add(session)
    state.connected.add(session)
  }

  unsubscribe(topic: string, session: ServerSession): void {
    const state = this.topics.get(topic)
    if (state === undefined) return
    state.subscribers.delete(session)
    state.connected.delete(session)
    if (state.subscribers.size === 0) {
      state.unsubscribe()
      this.topics.delete(topic)
      // LL-LIMIT-9: no session here can still need its entries.
      this.store.release?.(topicStream(topic))
    }
  }

  /** The session lost its connection: out of its topics' fan-out until `connected`. */
  disconnected(session: ServerSession): void {
    for (const topic of session.topics) this.topics.get(topic)?.connected.delete(session)
  }

  /** The session has a connection again (a resume): back in its topics' fan-out. */
  connected(session: ServerSession): void {
    for (const topic of session.topics) {
      const state = this.topics.get(topic)
      if (state?.subscribers.has(session)) state.connected.add(session)
    }
  }

  members(topic: string): Member[] {
    return [...(this.topics.get(topic)?.members.values() ?? [])]
  }

  async close(): Promise<void> {
    for (const state of this.topics.values()) state.unsubscribe()
    this.topics.clear()
  }

  /** The members other nodes' sessions made before the topic came here (LL-NODE-7). */
  private seed(topic: string, stream: StreamName, state: TopicState): void {
    const apply = (list: readonly StoredMember[]) => {
      for (const member of list)
        if (state.touched?.has(member.sid) !== true) state.members.set(member.sid, member)
      state.touched = undefined
    }
    let members: readonly StoredMember[] | Promise<readonly StoredMember[]>
    try {
      members = this.store.members(stream)
    } catch {
      return
    }
    if (!(members instanceof Promise)) return apply(members)
    state.touched = new Set()
    members.then(
      (list) => {
        if (this.topics.get(topic) === state) apply(list)
      },
      () => {
        state.touched = undefined
      },
    )
  }

  private fanOut(stream: string, state: TopicState, entry: StreamEntry): void {
    const frame = entry.frame
    const connected = state.connected
    if (frame.type === 'presence') {
      // LL-PRESENCE-3: every node's members, as their entries say.
      state.touched?.add(frame.sid)
      if (frame.event === 'left') state.members.delete(frame.sid)
      else {
        const memberState = frame.event === 'away' ? 'away' : 'online'
        state.members.set(
          frame.sid,
          frame.meta === undefined
            ? { sid: frame.sid, state: memberState }
            : { sid: frame.sid, state: memberState, meta: frame.meta },
        )
      }
    }
    const lazy =
      this.batchPresence && frame.type === 'presence' && connected.size >= PRESENCE_BATCH_MIN_SUBSCRIBERS
    for (const subscriber of connected) subscriber.deliver(stream, entry, lazy)
  }
}
