/**
 * The topics the app asked for (LL-TOPIC-1), their state on the current connection, and their
 * members (LL-PRESENCE-3). Only topics the app joined, and has not left, are rejoined (LL-TOPIC-6).
 */
import type { Joined, Member, Presence } from '@lifeline/protocol'
import { JoinError } from '../errors.js'

export type TopicState = 'joining' | 'joined'

export interface MemberInfo {
  readonly state: 'online' | 'away'
  readonly meta: unknown
}

interface Waiter {
  resolve(): void
  reject(error: Error): void
}

interface TopicEntry {
  state: TopicState
  /** Presence entries at or below this seq are history, not member changes (LL-PRESENCE-3). */
  membersSeq: number
  /** A joined frame gave this client object the member list; a resumed reload has none yet. */
  hasMembers: boolean
  readonly members: Map<string, MemberInfo>
  waiters: Waiter[]
}

export class Topics {
  private readonly entries = new Map<string, TopicEntry>()

  /** Topics the app wants, in the order it asked. */
  names(): string[] {
    return [...this.entries.keys()]
  }

  has(topic: string): boolean {
    return this.entries.has(topic)
  }

  state(topic: string): TopicState | undefined {
    return this.entries.get(topic)?.state
  }

  members(topic: string): ReadonlyMap<string, MemberInfo> {
    return this.entries.get(topic)?.members ?? new Map()
  }

  /** Records the wish to join; returns a promise settled by joined or join_error. */
  want(topic: string): Promise<void> {
    let entry = this.entries.get(topic)
    if (entry?.state === 'joined') return Promise.resolve()
    if (entry === undefined) {
      entry = { state: 'joining', membersSeq: 0, hasMembers: false, members: new Map(), waiters: [] }
      this.entries.set(topic, entry)
    }
    const waiters = entry.waiters
    return new Promise<void>((resolve, reject) => waiters.push({ resolve, reject }))
  }

  /** Drops the wish; returns true when the topic was wanted. */
  unwant(topic: string): boolean {
    const entry = this.entries.get(topic)
    if (entry === undefined) return false
    this.entries.delete(topic)
    for (const waiter of entry.waiters) waiter.resolve() // a leave answers a pending join: nothing to wait for
    return true
  }

  joined(frame: Joined): boolean {
    const entry = this.entries.get(frame.topic)
    if (entry === undefined) return false
    entry.state = 'joined'
    entry.membersSeq = frame.membersSeq ?? frame.seq
    entry.hasMembers = true
    entry.members.clear()
    for (const member of frame.members) entry.members.set(member.sid, memberInfo(member))
    const waiters = entry.waiters
    entry.waiters = []
    for (const waiter of waiters) waiter.resolve()
    return true
  }

  failed(topic: string, code: number, reason: string): JoinError {
    const error = new JoinError(topic, code, reason)
    const entry = this.entries.get(topic)
    if (entry !== undefined) {
      this.entries.delete(topic)
      for (const waiter of entry.waiters) waiter.reject(error)
    }
    return error
  }

  /** Applies a presence entry to the member list (LL-PRESENCE-1). */
  presence(frame: Presence): void {
    const entry = this.entries.get(frame.topic)
    if (entry === undefined || frame.seq <= entry.membersSeq) return
    const members = entry.members
    if (frame.event === 'left') members.delete(frame.sid)
    else members.set(frame.sid, { state: frame.event === 'away' ? 'away' : 'online', meta: frame.meta })
  }

  /** The connection ended: every topic must be confirmed again on the next one. */
  connectionLost(): void {
    for (const entry of this.entries.values()) entry.state = 'joining'
  }

  /**
   * The server restored this topic on resume (LL-TOPIC-5). Returns true when this client object has
   * no member list for it (a reload): a join then fetches one (LL-TOPIC-3).
   */
  restored(topic: string): boolean {
    const entry = this.entries.get(topic)
    if (entry === undefined) return false
    entry.state = 'joined'
    const waiters = entry.waiters
    entry.waiters = []
    for (const waiter of waiters) waiter.resolve()
    return !entry.hasMembers
  }

  failAll(error: Error): void {
    for (const entry of this.entries.values()) {
      for (const waiter of entry.waiters) waiter.reject(error)
      entry.waiters = []
    }
  }
}

function memberInfo(member: Member): MemberInfo {
  return { state: member.state, meta: member.meta }
}
