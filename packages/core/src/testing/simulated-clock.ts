import type { Clock, TimerHandle } from '../clock.js'

interface ScheduledTimer {
  readonly id: number
  readonly at: number
  readonly callback: () => void
}

/**
 * A clock that only moves when told to. Timers fire in time order (ties in the order they were
 * set) during `advance`; nothing ever sleeps.
 */
export class SimulatedClock implements Clock {
  private current: number
  private nextId = 1
  private readonly timers = new Map<number, ScheduledTimer>()

  constructor(start = 0) {
    this.current = start
  }

  now(): number {
    return this.current
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const id = this.nextId++
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0
    this.timers.set(id, { id, at: this.current + delay, callback })
    return id
  }

  clearTimeout(handle: TimerHandle): void {
    if (typeof handle === 'number') this.timers.delete(handle)
  }

  /** Timers not yet fired: a leak check after close must find 0. */
  get pendingTimers(): number {
    return this.timers.size
  }

  /** When the next timer is due, if any. */
  nextDueAt(): number | undefined {
    let at: number | undefined
    for (const timer of this.timers.values()) if (at === undefined || timer.at < at) at = timer.at
    return at
  }

  /** Moves time forward by ms, firing every timer due on the way, including ones set while firing. */
  advance(ms: number): void {
    const target = this.current + Math.max(0, ms)
    for (let next = this.nextDue(target); next !== undefined; next = this.nextDue(target)) {
      this.timers.delete(next.id)
      this.current = Math.max(this.current, next.at)
      next.callback()
    }
    this.current = target
  }

  /** Fires the timers due now (an immediate retry, say) without moving time. */
  runDue(): void {
    this.advance(0)
  }

  /** Jumps the wall clock without firing timers in between, as a suspended laptop does. */
  jump(ms: number): void {
    this.current += ms
  }

  private nextDue(limit: number): ScheduledTimer | undefined {
    let best: ScheduledTimer | undefined
    for (const timer of this.timers.values()) {
      if (timer.at > limit) continue
      if (best === undefined || timer.at < best.at || (timer.at === best.at && timer.id < best.id))
        best = timer
    }
    return best
  }
}

/** A seeded PRNG (mulberry32): the same seed gives the same jitter, so a failing schedule replays. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
