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
import { type Bus, type SessionStore, type StreamEntry, topicStream } from './store.js'

/** LL-PRESENCE-7: presence in topics with at least this many connected subscribers may wait. */
export const PRESENCE_BATCH_MIN_SUBSCRIBERS = 100

interface TopicState {
  readonly subscribers: Set<ServerSession>
  /** The subscribers with a connection: the fan-out. */
  readonly connected: Set<ServerSession>
  readonly members: Map<string, Member>
  readonly unsubscribe: () => void
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
      const subscribers = new Set<ServerSession>()
      const connected = new Set<ServerSession>()
      const unsubscribe = this.bus.subscribe(stream, (entry) => this.fanOut(stream, connected, entry))
      state = { subscribers, connected, members: new Map(), unsubscribe }
      this.topics.set(topic, state)
      this.store.retain?.(stream)
    }
    state.subscribers.add(session)
    state.connected.add(session)
  }

  unsubscribe(topic: string, session: ServerSession): void {
    const state = this.topics.get(topic)
    if (state === undefined) return
    state.subscribers.delete(session)
    state.connected.delete(session)
    state.members.delete(session.sid)
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

  setMember(topic: string, session: ServerSession, state: 'online' | 'away'): void {
    const members = this.topics.get(topic)?.members
    if (members === undefined) return
    members.set(
      session.sid,
      session.meta === undefined
        ? { sid: session.sid, state }
        : { sid: session.sid, state, meta: session.meta },
    )
  }

  async close(): Promise<void> {
    for (const state of this.topics.values()) state.unsubscribe()
    this.topics.clear()
  }

  private fanOut(stream: string, connected: ReadonlySet<ServerSession>, entry: StreamEntry): void {
    const lazy =
      this.batchPresence &&
      entry.frame.type === 'presence' &&
      connected.size >= PRESENCE_BATCH_MIN_SUBSCRIBERS
    for (const subscriber of connected) subscriber.deliver(stream, entry, lazy)
  }
}
