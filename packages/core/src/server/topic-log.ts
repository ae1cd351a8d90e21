import type { Clock } from '../clock.js'
import { type LogBounds, type LogEntry, stripUndefined } from './replay-log.js'

/**
 * Bounds of a topic's messages (LL-LIMIT-2). Default: 10,000 entries, 8 MiB, 5 minutes. Bytes count the
 * memory held (LL-LIMIT-10), about 4x the text for a chat message (a 150-character one holds ~620
 * bytes), so 8 MiB lets the entry bound decide for typical messages: a drop of 10,000 is replayed.
 */
export const DEFAULT_TOPIC_BOUNDS: LogBounds = Object.freeze({
  maxEntries: 10_000,
  maxBytes: 8 * 1024 * 1024,
  maxAgeMs: 5 * 60 * 1000,
})

/**
 * Bounds of a topic's presence entries, apart from its messages (LL-PRESENCE-5). Default: 10,000
 * entries, 4 MiB (an entry without meta holds ~400 bytes), 5 minutes.
 */
export const DEFAULT_PRESENCE_BOUNDS: LogBounds = Object.freeze({
  maxEntries: 10_000,
  maxBytes: 4 * 1024 * 1024,
  maxAgeMs: 5 * 60 * 1000,
})

/**
 * A topic's log (LL-REPLAY-1, LL-TOPIC-2): one seq space, two bounded queues. Messages and presence
 * entries are bounded apart, so no number of presence changes evicts a message (LL-PRESENCE-5).
 *
 * A cursor is covered while nothing after it was evicted: `evictedThrough` is the highest seq of an
 * entry evicted by a bound, of either kind. Both queues are seq-ordered rings: append and evict are
 * O(1) amortized, and a read finds where to start by binary search.
 */
export class TopicLog<T> {
  private readonly messageBounds: LogBounds
  private readonly presenceBounds: LogBounds
  private readonly messages = new SeqRing<LogEntry<T>>()
  private readonly presence = new SeqRing<LogEntry<T>>()
  private last: number
  private evictedThrough: number

  /**
   * @param startSeq The last seq already used: numbering continues after it, and nothing at or below
   * it can be replayed.
   */
  constructor(
    private readonly clock: Clock,
    bounds: { messages?: Partial<LogBounds>; presence?: Partial<LogBounds> } = {},
    startSeq = 0,
  ) {
    this.messageBounds = checked({ ...DEFAULT_TOPIC_BOUNDS, ...stripUndefined(bounds.messages ?? {}) })
    this.presenceBounds = checked({ ...DEFAULT_PRESENCE_BOUNDS, ...stripUndefined(bounds.presence ?? {}) })
    if (!Number.isSafeInteger(startSeq) || startSeq < 0) {
      throw new RangeError(`TopicLog: startSeq must be an integer >= 0, got ${startSeq}`)
    }
    this.last = startSeq
    this.evictedThrough = startSeq
  }

  get lastSeq(): number {
    return this.last
  }

  /** Messages and presence entries held (as of the last call that expires). */
  get size(): { messages: number; presence: number } {
    return { messages: this.messages.length, presence: this.presence.length }
  }

  get bytes(): number {
    return this.messages.bytes + this.presence.bytes
  }

  /** LL-SEQ-1: numbers the entry lastSeq + 1; a presence entry counts against the presence bounds only. */
  append(value: T, bytes: number, presence = false): LogEntry<T> {
    if (!Number.isFinite(bytes) || bytes < 0)
      throw new RangeError(`TopicLog: bytes must be >= 0, got ${bytes}`)
    const now = this.clock.now()
    this.expire(now)
    const entry: LogEntry<T> = { seq: ++this.last, at: now, bytes, value }
    const [queue, bounds] = presence
      ? [this.presence, this.presenceBounds]
      : [this.messages, this.messageBounds]
    queue.push(entry)
    queue.bytes += bytes
    // The newest entry is never evicted for bytes: it must stay replayable.
    while (queue.length > bounds.maxEntries || (queue.bytes > bounds.maxBytes && queue.length > 1))
      this.evict(queue)
    return entry
  }

  /**
   * Whether every entry after `afterSeq` up to lastSeq that a replay must carry is still held
   * (LL-REPLAY-3, LL-TOPIC-2). A cursor above lastSeq claims entries that never existed: not covered.
   */
  covers(afterSeq: number): boolean {
    this.expire(this.clock.now())
    return Number.isSafeInteger(afterSeq) && afterSeq >= this.evictedThrough && afterSeq <= this.last
  }

  /** Entries with seq > afterSeq in seq order, messages and presence merged, at most `limit`. */
  read(afterSeq: number, limit = Number.POSITIVE_INFINITY): LogEntry<T>[] {
    this.expire(this.clock.now())
    const out: LogEntry<T>[] = []
    if (Number.isNaN(afterSeq)) return out
    let m = this.messages.firstAfter(afterSeq)
    let p = this.presence.firstAfter(afterSeq)
    while (out.length < limit && (m < this.messages.length || p < this.presence.length)) {
      const message = m < this.messages.length ? this.messages.at(m) : undefined
      const change = p < this.presence.length ? this.presence.at(p) : undefined
      if (change === undefined || (message !== undefined && message.seq < change.seq)) {
        out.push(message as LogEntry<T>)
        m++
      } else {
        out.push(change)
        p++
      }
    }
    return out
  }

  private expire(now: number): void {
    for (const [queue, bounds] of [
      [this.messages, this.messageBounds],
      [this.presence, this.presenceBounds],
    ] as const) {
      const oldest = now - bounds.maxAgeMs
      while (queue.length > 0 && queue.at(0).at < oldest) this.evict(queue)
    }
  }

  private evict(queue: SeqRing<LogEntry<T>>): void {
    const entry = queue.shift()
    queue.bytes = queue.length === 0 ? 0 : queue.bytes - entry.bytes
    if (entry.seq > this.evictedThrough) this.evictedThrough = entry.seq
  }
}

function checked(bounds: LogBounds): LogBounds {
  const { maxEntries, maxBytes, maxAgeMs } = bounds
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
    throw new RangeError(`TopicLog: maxEntries must be an integer >= 1, got ${maxEntries}`)
  }
  if (!Number.isFinite(maxBytes) || maxBytes < 0) {
    throw new RangeError(`TopicLog: maxBytes must be a finite number >= 0, got ${maxBytes}`)
  }
  if (!Number.isFinite(maxAgeMs) || maxAgeMs < 0) {
    throw new RangeError(`TopicLog: maxAgeMs must be a finite number >= 0, got ${maxAgeMs}`)
  }
  return bounds
}

/** A queue of entries in increasing seq order, as a power-of-two ring. */
class SeqRing<E extends { readonly seq: number }> {
  private slots: (E | undefined)[] = new Array(16)
  private head = 0
  length = 0
  /** Sum of the sizes of the entries held, kept by the owner. */
  bytes = 0

  push(entry: E): void {
    if (this.length === this.slots.length) this.resize(this.slots.length * 2)
    this.slots[(this.head + this.length++) & (this.slots.length - 1)] = entry
  }

  /** The oldest entry; callers check length first. */
  shift(): E {
    const entry = this.slots[this.head] as E
    this.slots[this.head] = undefined
    this.head = (this.head + 1) & (this.slots.length - 1)
    this.length--
    return entry
  }

  at(index: number): E {
    return this.slots[(this.head + index) & (this.slots.length - 1)] as E
  }

  /** Index of the first entry with seq > seq (length when none). */
  firstAfter(seq: number): number {
    let low = 0
    let high = this.length
    while (low < high) {
      const mid = (low + high) >>> 1
      if (this.at(mid).seq <= seq) low = mid + 1
      else high = mid
    }
    return low
  }

  private resize(capacity: number): void {
    const next: (E | undefined)[] = new Array(capacity)
    for (let i = 0; i < this.length; i++) next[i] = this.at(i)
    this.slots = next
    this.head = 0
  }
}
