import { describe, expect, it } from 'vitest'
import { fullJitter, type RetryContext, retryAfterDelay } from '../src/client/backoff.js'
import { seededRandom } from '../src/testing/simulated-clock.js'

const context = (attempt: number, random = seededRandom(1)): RetryContext => ({ attempt, random })

describe('LL-CLIENT-1 fullJitter', () => {
  it('uses the defaults: initial 500 ms, factor 2, cap 30 000 ms', () => {
    const delay = fullJitter()
    const top = () => 1 - Number.EPSILON
    expect(delay({ attempt: 1, random: top })).toBeCloseTo(500)
    expect(delay({ attempt: 2, random: top })).toBeCloseTo(1000)
    expect(delay({ attempt: 6, random: top })).toBeCloseTo(16_000)
    expect(delay({ attempt: 7, random: top })).toBeCloseTo(30_000)
    expect(delay({ attempt: 8, random: top })).toBeCloseTo(30_000)
    expect(delay({ attempt: 3, random: () => 0 })).toBe(0)
    expect(delay({ attempt: 3, random: () => 0.5 })).toBe(1000)
  })

  it('draws from [0, ceiling) for every attempt', () => {
    const delay = fullJitter({ initialMs: 100, maxMs: 5000, factor: 3 })
    const random = seededRandom(7)
    for (let attempt = 1; attempt <= 20; attempt++) {
      const ceiling = Math.min(5000, 100 * 3 ** (attempt - 1))
      for (let i = 0; i < 200; i++) {
        const ms = delay({ attempt, random })
        expect(ms >= 0 && ms < ceiling).toBe(true)
      }
    }
  })

  it('still spans [0, max) at the cap: the jitter does not collapse', () => {
    const delay = fullJitter()
    const random = seededRandom(42)
    const samples = Array.from({ length: 1000 }, () => delay({ attempt: 50, random }))
    const min = Math.min(...samples)
    const max = Math.max(...samples)
    expect(min).toBeGreaterThanOrEqual(0)
    expect(min).toBeLessThan(0.1 * 30_000)
    expect(max).toBeGreaterThan(0.9 * 30_000)
    expect(max).toBeLessThan(30_000)
    // Spread across the range, not bunched: every tenth of it is hit.
    const deciles = new Set(samples.map((ms) => Math.floor(ms / 3000)))
    expect(deciles.size).toBe(10)
  })

  it('has a monotone ceiling in the attempt count', () => {
    const delay = fullJitter({ initialMs: 250, maxMs: 60_000, factor: 1.5 })
    const top = () => 1 - Number.EPSILON
    let previous = 0
    for (let attempt = 1; attempt <= 200; attempt++) {
      const ceiling = delay({ attempt, random: top })
      expect(ceiling).toBeGreaterThanOrEqual(previous)
      expect(ceiling).toBeLessThanOrEqual(60_000)
      previous = ceiling
    }
    expect(previous).toBeCloseTo(60_000)
  })

  it('stays finite for huge and odd attempt counts', () => {
    const delay = fullJitter()
    for (const attempt of [10_000, 1e9, Number.MAX_SAFE_INTEGER, Number.POSITIVE_INFINITY]) {
      const ms = delay(context(attempt))
      expect(Number.isFinite(ms)).toBe(true)
      expect(ms).toBeGreaterThanOrEqual(0)
      expect(ms).toBeLessThan(30_000)
    }
    // A nonsensical attempt counts as the first.
    for (const attempt of [0, -3, Number.NaN]) {
      expect(delay({ attempt, random: () => 0.999 })).toBeCloseTo(499.5)
    }
    expect(delay({ attempt: 2.7, random: () => 0.5 })).toBe(500)
  })

  it('stays finite for extreme options', () => {
    const fast = fullJitter({ initialMs: 1, maxMs: 1e12, factor: 1e6 })
    expect(Number.isFinite(fast(context(10_000)))).toBe(true)
    expect(fullJitter({ initialMs: 1000, maxMs: 100 })({ attempt: 1, random: () => 0.5 })).toBe(50)
    expect(fullJitter({ factor: 1 })({ attempt: 10_000, random: () => 0.5 })).toBe(250)
    expect(fullJitter({ maxMs: 0 })(context(3))).toBe(0)
  })

  it('refuses invalid options', () => {
    expect(() => fullJitter({ initialMs: 0 })).toThrow(RangeError)
    expect(() => fullJitter({ initialMs: Number.NaN })).toThrow(RangeError)
    expect(() => fullJitter({ maxMs: -1 })).toThrow(RangeError)
    expect(() => fullJitter({ maxMs: Number.POSITIVE_INFINITY })).toThrow(RangeError)
    expect(() => fullJitter({ factor: 0.5 })).toThrow(RangeError)
    expect(() => fullJitter({ factor: Number.POSITIVE_INFINITY })).toThrow(RangeError)
  })

  it('is deterministic for a seed, and differs between seeds', () => {
    const delay = fullJitter()
    const schedule = (seed: number) => {
      const random = seededRandom(seed)
      return Array.from({ length: 20 }, (_, i) => delay({ attempt: i + 1, random, code: 1006 }))
    }
    expect(schedule(3)).toEqual(schedule(3))
    expect(schedule(3)).not.toEqual(schedule(4))
  })
})

describe('LL-CLIENT-4 retryAfterDelay', () => {
  it('adds jitter in [0, jitterMs) to the server retryAfterMs', () => {
    expect(retryAfterDelay(5000, 1000, () => 0)).toBe(5000)
    expect(retryAfterDelay(5000, 1000, () => 0.5)).toBe(5500)
    const random = seededRandom(5)
    for (let i = 0; i < 500; i++) {
      const ms = retryAfterDelay(5000, 1000, random)
      expect(ms >= 5000 && ms < 6000).toBe(true)
    }
  })

  it('treats negative and non-finite inputs as 0', () => {
    expect(retryAfterDelay(-5, 100, () => 0.5)).toBe(50)
    expect(retryAfterDelay(Number.NaN, 0, () => 0.5)).toBe(0)
    expect(retryAfterDelay(Number.POSITIVE_INFINITY, -1, () => 0.5)).toBe(0)
    expect(retryAfterDelay(1000, Number.NaN, () => 0.5)).toBe(1000)
  })

  it('is deterministic for a seed', () => {
    const a = seededRandom(9)
    const b = seededRandom(9)
    expect(Array.from({ length: 5 }, () => retryAfterDelay(1000, 500, a))).toEqual(
      Array.from({ length: 5 }, () => retryAfterDelay(1000, 500, b)),
    )
  })
})
