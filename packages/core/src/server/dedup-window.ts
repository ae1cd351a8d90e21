import type { Clock } from '../clock.js'

/** The bounds of one subject's de-duplication window (LL-SEND-3, LL-LIMIT-4). */
export interface DedupBounds {
  /** Most ids remembered; beyond it the oldest is forgotten. Default 4096. */
  maxIds: number
  /** How long an id is remembered after it was last seen, in clock ms. Default 10 min. */
  maxAgeMs: number
}

export const DEFAULT_DEDUP_BOUNDS: DedupBounds = Object.freeze({
  maxIds: 4096,
  maxAgeMs: 10 * 60 * 1000,
})

const INITIAL_CAPACITY = 16

/**
 * The client message ids seen from one subject, bounded by count and age (LL-SEND-3).
 *
 * A Map from each id to its position in a ring that holds ids in the order they were last seen, so the
 * oldest is always at the ring's head: admit and has are O(1), and evicting by count or by age only pops
 * the head. A duplicate is pushed again at the tail (its age restarts); its earlier ring entry becomes
 * stale (the Map no longer points at it) and is skipped when it reaches the head. The ring is compacted
 * only when at least half of it is stale, so that costs O(1) amortized too.
 */
export class DedupWindow {
  private readonly maxIds: number
  private readonly maxAgeMs: number
  /** id -> its position in the ring (a count of pushes, never reused). */
  private readonly seen = new Map<string, number>()
  private ids: (string | undefined)[] = new Array(INITIAL_CAPACITY)
  /** Clock time of each ring entry's push. */
  private times: number[] = new Array<number>(INITIAL_CAPACITY).fill(0)
  /** Positions [head, tail) are in the ring; position p sits at index p & (capacity - 1). */
  private head = 0
  private tail = 0

  /** @param bounds Defaults: DEFAULT_DEDUP_BOUNDS. */
  constructor(
    private readonly clock: Clock,
    bounds: Partial<DedupBounds> = {},
  ) {
    const maxIds = bounds.maxIds ?? DEFAULT_DEDUP_BOUNDS.maxIds
    const maxAgeMs = bounds.maxAgeMs ?? DEFAULT_DEDUP_BOUNDS.maxAgeMs
    if (!Number.isSafeInteger(maxIds) || maxIds < 1) {
      throw new RangeError(`DedupWindow: maxIds must be an integer >= 1, got ${maxIds}`)
    }
    // LL-SEND-3: the window MUST be bounded by age too, so Infinity is refused.
    if (!Number.isFinite(maxAgeMs) || maxAgeMs < 0) {
      throw new RangeError(`DedupWindow: maxAgeMs must be a finite number >= 0, got ${maxAgeMs}`)
    }
    this.maxIds = maxIds
    this.maxAgeMs = maxAgeMs
  }

  /**
   * True when id is new (and records it); false when it was seen within the window. O(1) amortized.
   * A duplicate restarts the id's age, so a client resending it keeps it de-duplicated.
   */
  admit(id: string): boolean {
    const now = this.clock.now()
    this.expire(now)
    const known = this.seen.has(id)
    this.push(id, now)
    if (known) return false
    if (this.seen.size > this.maxIds) this.popLive()
    return true
  }

  /** Whether id was seen within the window; does not record it. */
  has(id: string): boolean {
    this.expire(this.clock.now())
    return this.seen.has(id)
  }

  /** Ids remembered, as of the last admit or has. */
  get size(): number {
    return this.seen.size
  }

  private push(id: string, now: number): void {
    if (this.tail - this.head === this.ids.length) this.resize()
    const mask = this.ids.length - 1
    this.ids[this.tail & mask] = id
    this.times[this.tail & mask] = now
    this.seen.set(id, this.tail++)
  }

  /** Pops the head while it is stale or older than maxAgeMs (pushes are in clock order). */
  private expire(now: number): void {
    const oldest = now - this.maxAgeMs
    const mask = this.ids.length - 1
    while (this.head < this.tail) {
      const index = this.head & mask
      const id = this.ids[index] as string
      if (this.seen.get(id) === this.head) {
        if ((this.times[index] as number) >= oldest) return
        this.seen.delete(id)
      }
      this.ids[index] = undefined
      this.head++
    }
  }

  /** Forgets the oldest id: the head, which expire() has just left live. */
  private popLive(): void {
    const index = this.head++ & (this.ids.length - 1)
    this.seen.delete(this.ids[index] as string)
    this.ids[index] = undefined
  }

  /** The ring is full: drop its stale entries, doubling it when at least half of it is live. */
  private resize(): void {
    const capacity = this.ids.length
    const live = this.seen.size
    const next = live * 2 > capacity ? capacity * 2 : capacity
    const ids: (string | undefined)[] = new Array(next)
    const times = new Array<number>(next).fill(0)
    let position = 0
    for (let p = this.head; p < this.tail; p++) {
      const id = this.ids[p & (capacity - 1)] as string
      if (this.seen.get(id) !== p) continue
      ids[position] = id
      times[position] = this.times[p & (capacity - 1)] as number
      this.seen.set(id, position++)
    }
    this.ids = ids
    this.times = times
    this.head = 0
    this.tail = position
  }
}
