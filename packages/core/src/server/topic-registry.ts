/**
 * The topics with subscribers on this node: who is subscribed, who is a member (online or away,
 * LL-PRESENCE-3), and one bus subscription per topic, so a topic entry is encoded once and handed to
 * every subscriber (fan-out does not copy per session).
 */
import type { Member } from '@lifeline/protocol'
import type { ServerSession } from './session.js'
import { type Bus, topicStream } from './store.js'

interface TopicState {
  readonly subscribers: Set<ServerSession>
  readonly members: Map<string, Member>
  readonly unsubscribe: () => void
}

export class TopicRegistry {
  private readonly topics = new Map<string, TopicState>()

  constructor(private readonly bus: Bus) {}

  get size(): number {
    return this.topics.size
  }

  subscribe(topic: string, session: ServerSession): void {
    let state = this.topics.get(topic)
    if (state === undefined) {
      const stream = topicStream(topic)
      const subscribers = new Set<ServerSession>()
      const unsubscribe = this.bus.subscribe(stream, (entry) => {
        for (const subscriber of subscribers) subscriber.deliver(stream, entry)
      })
      state = { subscribers, members: new Map(), unsubscribe }
      this.topics.set(topic, state)
    }
    state.subscribers.add(session)
  }

  unsubscribe(topic: string, session: ServerSession): void {
    const state = this.topics.get(topic)
    if (state === undefined) return
    state.subscribers.delete(session)
    state.members.delete(session.sid)
    if (state.subscribers.size === 0) {
      state.unsubscribe()
      this.topics.delete(topic)
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
}
