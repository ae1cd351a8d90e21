import type { Clock } from '../clock.js'

/** The bounds of one stream's log (LL-LIMIT-2). The oldest entries go first when any is exceeded. */
export interface LogBounds {
  /** Most entries held. Default 10,000. */
  maxEntries: number
  /**
   * Most bytes held (sum of the sizes given to append: the memory entries hold, LL-LIMIT-10); one larger
   * entry is still held alone. Default 1 MiB.
   */
  maxBytes: number
  /** Oldest entry age held, in clock ms; an entry older than this is evicted. Default 5 min. */
  maxAgeMs: number
}

export const DEFAULT_LOG_BOUNDS: LogBounds = Object.freeze({
  maxEntries: 10_000,
  maxBytes: 1024 * 1024,
  maxAgeMs: 5 * 60 * 1000,
})

export interface LogEntry<T> {
  readonly seq: number
  /** Clock time of the append. */
  readonly at: number
  readonly bytes: number
  readonly value: T
}

const INITIAL_CAPACITY = 16

/**
 * A bounded, seq-numbered log of one stream's entries, for replay on resume (LL-REPLAY-1).
 *
 * A ring buffer: entries are contiguous in seq (only the oldest are ever dropped), so the entry with
 * seq s sits at offset s - firstSeq from the head, and append, evict and locate are O(1) amortized.
 * Expired entries are dropped lazily, on append, read, covers and entry; `size`, `bytes` and
 * `firstSeq` reflect the last of those calls.
 */
export class ReplayLog<T> {
  private readonly bounds: LogBounds
  private slots: (LogEntry<T> | undefined)[] = new Array(INITIAL_CAPACITY)
  private head = 0
  private count = 0
  private totalBytes = 0
  private last: number

  /**
   * @param bounds Defaults: DEFAULT_LOG_BOUNDS.
   * @param startSeq The last seq already used, so numbering continues after it. Default 0.
   */
  constructor(
    private readonly clock: Clock,
    bounds: Partial<LogBounds> = {},
    startSeq = 0,
  ) {
    this.bounds = { ...DEFAULT_LOG_BOUNDS, ...stripUndefined(bounds) }
    const { maxEntries, maxBytes, maxAgeMs } = this.bounds
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`ReplayLog: maxEntries must be an integer >= 1, got ${maxEntries}`)
    }
    if (!Number.isFinite(maxBytes) || maxBytes < 0) {
      throw new RangeError(`ReplayLog: maxBytes must be a finite number >= 0, got ${maxBytes}`)
    }
    if (!Number.isFinite(maxAgeMs) || maxAgeMs < 0) {
      throw new RangeError(`ReplayLog: maxAgeMs must be a finite number >= 0, got ${maxAgeMs}`)
    }
    if (!Number.isSafeInteger(startSeq) || startSeq < 0) {
      throw new RangeError(`ReplayLog: startSeq must be an integer >= 0, got ${startSeq}`)
    }
    this.last = startSeq
  }

  /** The highest seq ever appended (or startSeq): numbering never goes back, even when emptied. */
  get lastSeq(): number {
    return this.last
  }

  /** The seq of the oldest entry held; lastSeq + 1 when empty. */
  get firstSeq(): number {
    return this.last - this.count + 1
  }

  get size(): number {
    return this.count
  }

  get bytes(): number {
    return this.totalBytes
  }

  /** LL-SEQ-1: numbers the entry lastSeq + 1, then evicts the oldest while over a bound (LL-LIMIT-2). */
  append(value: T, bytes: number): LogEntry<T> {
    if (!Number.isFinite(bytes) || bytes < 0)
      throw new RangeError(`ReplayLog: bytes must be >= 0, got ${bytes}`)
    const now = this.clock.now()
    this.expire(now)
    // Evicting for the count before inserting keeps the ring at most maxEntries long.
    if (this.count >= this.bounds.maxEntries) this.dropOldest()
    if (this.count === this.slots.length) this.grow()
    const entry: LogEntry<T> = { seq: this.last + 1, at: now, bytes, value }
    this.slots[(this.head + this.count) & (this.slots.length - 1)] = entry
    this.count++
    this.last = entry.seq
    this.totalBytes += bytes
    // The new entry itself is never evicted for bytes: the newest must stay replayable.
    while (this.totalBytes > this.bounds.maxBytes && this.count > 1) this.dropOldest()
    return entry
  }

  /** LL-ACK-4: drops every entry with seq <= seq (a cumulative ack of the direct stream). */
  trimThrough(seq: number): void {
    const drop = Math.min(this.count, Math.floor(seq) - this.firstSeq + 1)
    for (let i = 0; i < drop; i++) this.dropOldest()
  }

  /**
   * Whether every entry after `afterSeq` up to lastSeq is still held, so a replay from that cursor
   * has no gap (LL-RESUME-3, LL-REPLAY-3). A cursor above lastSeq claims entries that never existed:
   * not covered.
   */
  covers(afterSeq: number): boolean {
    this.expire(this.clock.now())
    return Number.isSafeInteger(afterSeq) && afterSeq >= this.firstSeq - 1 && afterSeq <= this.last
  }

  /**
   * Held entries with seq > afterSeq, oldest first, at most `limit` (default: all). Entries already
   * evicted are silently absent: check `covers` first to know whether the replay is gapless.
   */
  read(afterSeq: number, limit = Number.POSITIVE_INFINITY): LogEntry<T>[] {
    this.expire(this.clock.now())
    const start = Math.max(Math.floor(afterSeq) + 1, this.firstSeq)
    const n = Math.min(limit, this.last - start + 1)
    const out: LogEntry<T>[] = []
    // NaN bounds fail every comparison, so they read nothing.
    for (let i = 0; i < n; i++) out.push(this.at(start - this.firstSeq + i))
    return out
  }

  /** The held entry with this seq, if any. */
  entry(seq: number): LogEntry<T> | undefined {
    this.expire(this.clock.now())
    if (!Number.isInteger(seq) || seq < this.firstSeq || seq > this.last) return undefined
    return this.at(seq - this.firstSeq)
  }

  private at(offset: number): LogEntry<T> {
    // Callers pass offsets within [0, count), which are always filled.
    return this.slots[(this.head + offset) & (this.slots.length - 1)] as LogEntry<T>
  }

  private expire(now: number): void {
    const oldest = now - this.bounds.maxAgeMs
    // Appends are in clock order, so the expired entries are a prefix.
    while (this.count > 0 && this.at(0).at < oldest) this.dropOldest()
  }

  private dropOldest(): void {
    const entry = this.at(0)
    // Cleared so the ring does not keep evicted values alive.
    this.slots[this.head] = undefined
    this.head = (this.head + 1) & (this.slots.length - 1)
    this.count--
    this.totalBytes = this.count === 0 ? 0 : this.totalBytes - entry.bytes
  }

  /** Doubles the ring (capacity stays a power of two, so indexing is a mask), unrolling it from head. */
  private grow(): void {
    const next: (LogEntry<T> | undefined)[] = new Array(this.slots.length * 2)
    for (let i = 0; i < this.count; i++) next[i] = this.at(i)
    this.slots = next
    this.head = 0
  }
}

/** With exactOptionalPropertyTypes a caller may still pass `{ maxBytes: undefined }` from JS. */
export function stripUndefined<B extends object>(bounds: Partial<B>): Partial<B> {
  const out: Partial<B> = {}
  for (const [key, value] of Object.entries(bounds)) {
    if (value !== undefined) (out as Record<string, unknown>)[key] = value
  }
  return out
}
