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

/**
 * The client message ids seen from one subject, bounded by count and age (LL-SEND-3).
 *
 * A Map keeps insertion order, and ids are (re)inserted in clock order, so the oldest id is always
 * the first key: evicting by count or age only ever looks at the front, and every operation is O(1)
 * amortized.
 */
export class DedupWindow {
  private readonly maxIds: number
  private readonly maxAgeMs: number
  /** id -> clock time it was last seen. */
  private readonly seen = new Map<string, number>()

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
   * True when id is new (and records it); false when it was seen within the window. O(1).
   * A duplicate restarts the id's age, so a client resending it keeps it de-duplicated.
   */
  admit(id: string): boolean {
    const now = this.clock.now()
    this.expire(now)
    const known = this.seen.delete(id)
    this.seen.set(id, now)
    if (known) return false
    if (this.seen.size > this.maxIds) this.forgetOldest()
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

  private expire(now: number): void {
    const oldest = now - this.maxAgeMs
    for (const [id, at] of this.seen) {
      if (at >= oldest) return
      this.seen.delete(id)
    }
  }

  private forgetOldest(): void {
    for (const id of this.seen.keys()) {
      this.seen.delete(id)
      return
    }
  }
}
