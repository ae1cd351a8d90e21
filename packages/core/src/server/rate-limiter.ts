import type { Clock } from '../clock.js'

/**
 * Counts events per key in fixed windows, remembering at most `maxKeys` keys (the oldest window goes
 * first), so an attacker rotating keys cannot grow it (LL-RESUME-9, LL-LIMIT-4).
 */
export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>()

  constructor(
    private readonly clock: Clock,
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly maxKeys = 10_000,
  ) {}

  /** True when the key is over its limit in the current window. */
  blocked(key: string): boolean {
    const window = this.windows.get(key)
    return (
      window !== undefined && this.clock.now() - window.start < this.windowMs && window.count >= this.limit
    )
  }

  record(key: string): void {
    const now = this.clock.now()
    const window = this.windows.get(key)
    if (window !== undefined && now - window.start < this.windowMs) {
      window.count++
      return
    }
    this.windows.delete(key)
    if (this.windows.size >= this.maxKeys) {
      const oldest = this.windows.keys().next().value
      if (oldest !== undefined) this.windows.delete(oldest)
    }
    this.windows.set(key, { start: now, count: 1 })
  }

  get size(): number {
    return this.windows.size
  }
}
