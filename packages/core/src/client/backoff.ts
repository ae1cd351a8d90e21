import type { Random } from '../clock.js'

export interface RetryContext {
  /** Consecutive failed attempts so far, >= 1. */
  attempt: number
  /** Code of the last close, if any. */
  code?: number
  /** The jitter source; seeded in tests so a schedule replays. */
  random: Random
}

/**
 * Milliseconds to wait before the next attempt. Only consulted after a failed attempt: the first
 * attempt after an unexpected drop is made at once (LL-CLIENT-1).
 */
export type RetryDelay = (context: RetryContext) => number

export interface FullJitterOptions {
  /** Ceiling after the first failed attempt, in ms; > 0. Default 500. */
  initialMs?: number
  /** The cap on the ceiling, in ms; >= 0. Default 30000. */
  maxMs?: number
  /** Growth of the ceiling per failed attempt; >= 1. Default 2. */
  factor?: number
}

/**
 * LL-CLIENT-1 "full jitter": a delay uniform in [0, min(maxMs, initialMs * factor^(attempt-1))).
 *
 * Drawing the whole delay at random, rather than adding a little jitter to a fixed delay, keeps
 * clients that dropped together spread out once they all reach the cap.
 */
export function fullJitter(options: FullJitterOptions = {}): RetryDelay {
  const initialMs = options.initialMs ?? 500
  const maxMs = options.maxMs ?? 30_000
  const factor = options.factor ?? 2
  if (!Number.isFinite(initialMs) || initialMs <= 0) {
    throw new RangeError(`fullJitter: initialMs must be a finite number > 0, got ${initialMs}`)
  }
  if (!Number.isFinite(maxMs) || maxMs < 0) {
    throw new RangeError(`fullJitter: maxMs must be a finite number >= 0, got ${maxMs}`)
  }
  if (!Number.isFinite(factor) || factor < 1) {
    throw new RangeError(`fullJitter: factor must be a finite number >= 1, got ${factor}`)
  }
  // The exponent at which the ceiling reaches the cap: clamping to it keeps factor^n finite for any
  // attempt count (factor^10000 would be Infinity).
  const capExponent =
    factor > 1 && maxMs > initialMs ? Math.ceil(Math.log(maxMs / initialMs) / Math.log(factor)) : 0
  return ({ attempt, random }) => {
    // A NaN or < 1 attempt is treated as the first; Infinity as any attempt past the cap.
    const failures = attempt >= 1 ? Math.floor(attempt) : 1
    const exponent = Math.min(failures - 1, capExponent)
    const ceiling = Math.min(maxMs, initialMs * factor ** exponent)
    return ceiling * random()
  }
}

/**
 * LL-CLIENT-4: the server's `retryAfterMs` takes precedence over the backoff. A little jitter on top
 * keeps every client the server sent away from coming back in the same millisecond. A negative or
 * non-finite input counts as 0.
 */
export function retryAfterDelay(retryAfterMs: number, jitterMs: number, random: Random): number {
  return nonNegative(retryAfterMs) + nonNegative(jitterMs) * random()
}

function nonNegative(ms: number): number {
  return Number.isFinite(ms) && ms > 0 ? ms : 0
}
