/** An opaque handle returned by Clock.setTimeout. */
export type TimerHandle = unknown

/**
 * Time, injected: every delay in Lifeline goes through a Clock, so tests run on simulated time
 * (SimulatedClock in `@lifeline/core/testing`) and never sleep.
 */
export interface Clock {
  /** Milliseconds on a monotonic-enough scale; only differences are used. */
  now(): number
  setTimeout(callback: () => void, ms: number): TimerHandle
  clearTimeout(handle: TimerHandle): void
}

/** A uniform random number in [0, 1). Injected for jitter, so schedules replay from a seed. */
export type Random = () => number

/** The host's timers and wall clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
}

/** The host's Math.random, for jitter only (never for secrets). */
export const systemRandom: Random = () => Math.random()

/** A timer slot that is re-armed and cleared by name, so no timer is ever left behind. */
export class Timer {
  private handle: TimerHandle | undefined

  constructor(private readonly clock: Clock) {}

  get armed(): boolean {
    return this.handle !== undefined
  }

  /** Arms the timer, replacing any pending one. */
  set(ms: number, callback: () => void): void {
    this.clear()
    this.handle = this.clock.setTimeout(() => {
      this.handle = undefined
      callback()
    }, ms)
  }

  clear(): void {
    if (this.handle === undefined) return
    this.clock.clearTimeout(this.handle)
    this.handle = undefined
  }
}
