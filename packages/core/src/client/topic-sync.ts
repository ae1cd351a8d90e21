/**
 * Keeps the server's topics in line with the app's wishes across connections: joins and leaves in
 * flight, their answers (even late ones), restoring on resume and rejoining in a new session
 * (LL-TOPIC-1..6), over the wishes and member lists of topics.ts.
 */
import type { ClientFrame, JoinError, Joined, Presence, Unjoined, Welcome } from '@lifeline/protocol'
import type { Inbox } from './inbox.js'
import { type MemberInfo, Topics } from './topics.js'

export interface TopicSyncEvents {
  /** `recovered: false` also means entries of the topic were lost (LL-TOPIC-2). */
  joined(topic: string, recovered: boolean | undefined, presence: boolean, seq: number): void
  joinError(topic: string, code: number, reason: string): void
  unjoined(topic: string, code: number | undefined, reason: string | undefined): void
  error(error: Error): void
}

export class TopicSync {
  private readonly topics = new Topics()
  private readonly joinsSent = new Set<string>()
  /** Leaves sent and not yet answered: their `unjoined` must not undo a later join (LL-TOPIC-4). */
  private readonly leavesSent = new Map<string, number>()

  constructor(
    private readonly inbox: Inbox,
    /** Sends on the open connection; a no-op while there is none. */
    private readonly send: (frame: ClientFrame) => void,
    private readonly events: TopicSyncEvents,
  ) {}

  names(): string[] {
    return this.topics.names()
  }

  members(topic: string): ReadonlyMap<string, MemberInfo> {
    return this.topics.members(topic)
  }

  /** True when the topic's entries are for the app: joined, not being left or joined again. */
  isJoined(topic: string): boolean {
    return this.topics.state(topic) === 'joined'
  }

  join(topic: string, open: boolean): Promise<void> {
    const joined = this.topics.want(topic)
    if (open) this.sendJoin(topic)
    return joined
  }

  leave(topic: string, open: boolean): void {
    if (!this.topics.unwant(topic)) return
    this.joinsSent.delete(topic)
    this.inbox.forget(topic)
    if (open) this.sendLeave(topic)
  }

  presence(frame: Presence): void {
    this.topics.presence(frame)
  }

  joined(frame: Joined): void {
    // The answer to a join sent before a leave still unanswered: the join after that leave, if any,
    // is answered later; taking this one for it would set a join point the server no longer has.
    if ((this.leavesSent.get(frame.topic) ?? 0) > 0) return
    this.joinsSent.delete(frame.topic)
    // Left while the server decided the join: leave again, or the session stays a member.
    if (!this.topics.joined(frame)) return this.sendLeave(frame.topic)
    // LL-TOPIC-2, LL-EPOCH-2: entries of this incarnation after seq follow.
    this.inbox.setCursor(frame.topic, frame.seq, frame.epoch)
    if (frame.amv !== undefined) this.inbox.setAppMemento(frame.topic, frame.amv) // LL-APPM-8
    this.events.joined(frame.topic, frame.recovered, frame.presence !== false, frame.seq) // LL-PRESENCE-6
  }

  joinError(frame: JoinError): void {
    this.joinsSent.delete(frame.topic)
    this.topics.failed(frame.topic, frame.code, frame.reason)
    this.events.joinError(frame.topic, frame.code, frame.reason)
  }

  unjoined(frame: Unjoined): void {
    const pending = this.leavesSent.get(frame.topic) ?? 0
    if (frame.code === undefined && pending > 0) {
      // The answer to a leave we sent; the topic may have been joined again since.
      if (pending === 1) this.leavesSent.delete(frame.topic)
      else this.leavesSent.set(frame.topic, pending - 1)
      if (this.topics.has(frame.topic)) return
    } else {
      this.joinsSent.delete(frame.topic)
      this.topics.unwant(frame.topic)
      this.inbox.forget(frame.topic)
    }
    this.events.unjoined(frame.topic, frame.code, frame.reason)
  }

  /** The connection ended: every topic must be confirmed again on the next one. */
  connectionLost(): void {
    this.joinsSent.clear()
    this.leavesSent.clear()
    this.topics.connectionLost()
  }

  /** After a welcome: restore (LL-TOPIC-5) or rejoin (LL-TOPIC-6), optionally filtered by the app. */
  restore(
    frame: Welcome,
    rejoin: ((topics: readonly string[]) => readonly string[] | Promise<readonly string[]>) | undefined,
  ): void {
    const wanted = this.topics.names()
    if (frame.resumed) {
      // The server restored its topics; join what it lacks, leave what is unwanted.
      const restored = new Set(frame.topics)
      for (const topic of wanted) {
        // A topic this client never saw joined (a reload before the answer) has no join point for
        // the app: it is joined again, and its entries wait for that answer (LL-TOPIC-3).
        if (!restored.has(topic) || !this.inbox.hasCursor(topic)) this.sendJoin(topic)
        else if (this.topics.restored(topic)) this.send({ type: 'join', topic }) // a member list (LL-TOPIC-3)
      }
      for (const topic of frame.topics) if (!this.topics.has(topic)) this.send({ type: 'leave', topic })
      return
    }
    if (rejoin === undefined || wanted.length === 0) return this.sendJoins(wanted)
    Promise.resolve()
      .then(() => rejoin(wanted))
      .then(
        (chosen) => {
          const keep = new Set(chosen)
          for (const topic of wanted) {
            if (keep.has(topic)) continue
            this.topics.unwant(topic) // a new session never had it: nothing to leave on the server
            this.inbox.forget(topic)
          }
          this.sendJoins(wanted.filter((topic) => keep.has(topic)))
        },
        (error: unknown) => this.events.error(error instanceof Error ? error : new Error(String(error))),
      )
  }

  failAll(error: Error): void {
    this.topics.failAll(error)
  }

  private sendJoins(topics: readonly string[]): void {
    for (const topic of topics) this.sendJoin(topic)
  }

  private sendJoin(topic: string): void {
    if (this.joinsSent.has(topic) || this.topics.state(topic) !== 'joining') return
    this.joinsSent.add(topic)
    const from = this.inbox.cursor(topic)
    if (from === 0) return this.send({ type: 'join', topic })
    // LL-EPOCH-2: the cursor names its incarnation, so another one is never read against it.
    const epoch = this.inbox.epoch(topic)
    this.send(epoch === undefined ? { type: 'join', topic, from } : { type: 'join', topic, from, epoch })
  }

  private sendLeave(topic: string): void {
    this.leavesSent.set(topic, (this.leavesSent.get(topic) ?? 0) + 1)
    this.send({ type: 'leave', topic })
  }
}
