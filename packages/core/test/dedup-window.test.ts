import { describe, expect, it } from 'vitest'
import { DEFAULT_DEDUP_BOUNDS, DedupWindow } from '../src/server/dedup-window.js'
import { SimulatedClock } from '../src/testing/simulated-clock.js'

describe('LL-SEND-3 DedupWindow', () => {
  it('has the documented defaults: 4096 ids and 10 minutes', () => {
    expect(DEFAULT_DEDUP_BOUNDS).toEqual({ maxIds: 4096, maxAgeMs: 600_000 })
    const clock = new SimulatedClock()
    const window = new DedupWindow(clock)
    for (let i = 0; i < 5000; i++) window.admit(`id-${i}`)
    expect(window.size).toBe(4096)
    expect(window.has('id-4999')).toBe(true)
    clock.advance(600_000)
    expect(window.has('id-4999')).toBe(true)
    clock.advance(1)
    expect(window.has('id-4999')).toBe(false)
  })

  it('admits a new id once and refuses it while within the window', () => {
    const window = new DedupWindow(new SimulatedClock())
    expect(window.has('a')).toBe(false)
    expect(window.admit('a')).toBe(true)
    expect(window.has('a')).toBe(true)
    expect(window.admit('a')).toBe(false)
    expect(window.admit('a')).toBe(false)
    expect(window.admit('b')).toBe(true)
    expect(window.size).toBe(2)
  })

  it('has does not record the id', () => {
    const window = new DedupWindow(new SimulatedClock())
    expect(window.has('a')).toBe(false)
    expect(window.size).toBe(0)
    expect(window.admit('a')).toBe(true)
  })

  it('LL-LIMIT-4 forgets the oldest id beyond maxIds', () => {
    const window = new DedupWindow(new SimulatedClock(), { maxIds: 3 })
    for (const id of ['a', 'b', 'c', 'd']) expect(window.admit(id)).toBe(true)
    expect(window.size).toBe(3)
    expect(window.has('a')).toBe(false)
    expect(window.has('b')).toBe(true)
    expect(window.admit('a')).toBe(true)
    expect(window.has('b')).toBe(false)
    expect(window.size).toBe(3)
  })

  it('forgets ids older than maxAgeMs, and admits them again', () => {
    const clock = new SimulatedClock()
    const window = new DedupWindow(clock, { maxAgeMs: 1000 })
    window.admit('a')
    clock.advance(400)
    window.admit('b')
    clock.advance(600)
    // Exactly maxAgeMs old is still within the window.
    expect(window.admit('a')).toBe(false)
    expect(window.has('b')).toBe(true)
    clock.advance(1001)
    expect(window.size).toBe(2)
    expect(window.has('b')).toBe(false)
    expect(window.size).toBe(0)
    expect(window.admit('a')).toBe(true)
    expect(window.admit('b')).toBe(true)
  })

  it('a duplicate restarts the age of its id', () => {
    const clock = new SimulatedClock()
    const window = new DedupWindow(clock, { maxAgeMs: 1000 })
    window.admit('a')
    window.admit('b')
    clock.advance(900)
    expect(window.admit('a')).toBe(false)
    clock.advance(900)
    // 'b' was last seen 1800 ms ago, 'a' 900 ms ago.
    expect(window.has('b')).toBe(false)
    expect(window.admit('a')).toBe(false)
  })

  it('a duplicate moves its id to the newest end for count eviction', () => {
    const window = new DedupWindow(new SimulatedClock(), { maxIds: 2 })
    window.admit('a')
    window.admit('b')
    expect(window.admit('a')).toBe(false)
    window.admit('c')
    expect(window.has('a')).toBe(true)
    expect(window.has('b')).toBe(false)
  })

  it('expires lazily from the front only, on admit and has', () => {
    const clock = new SimulatedClock()
    const window = new DedupWindow(clock, { maxAgeMs: 10 })
    for (let i = 0; i < 5; i++) {
      window.admit(`old-${i}`)
      clock.advance(1)
    }
    clock.advance(20)
    window.admit('fresh')
    expect(window.size).toBe(1)
  })

  it('refuses invalid bounds', () => {
    const clock = new SimulatedClock()
    expect(() => new DedupWindow(clock, { maxIds: 0 })).toThrow(RangeError)
    expect(() => new DedupWindow(clock, { maxIds: 2.5 })).toThrow(RangeError)
    expect(() => new DedupWindow(clock, { maxIds: Number.POSITIVE_INFINITY })).toThrow(RangeError)
    expect(() => new DedupWindow(clock, { maxAgeMs: -1 })).toThrow(RangeError)
    expect(() => new DedupWindow(clock, { maxAgeMs: Number.POSITIVE_INFINITY })).toThrow(RangeError)
    expect(() => new DedupWindow(clock, { maxAgeMs: 0 })).not.toThrow()
  })

  it('stays bounded over 1e5 admits', () => {
    const clock = new SimulatedClock()
    const window = new DedupWindow(clock, { maxIds: 1000, maxAgeMs: 5000 })
    let admitted = 0
    for (let i = 0; i < 100_000; i++) {
      // Every fourth admit repeats a recent id, which must be refused.
      const id = i % 4 === 3 ? `id-${i - 1}` : `id-${i}`
      if (window.admit(id)) admitted++
      if (window.size > 1000) throw new Error(`size ${window.size} at ${i}`)
      if (i % 100 === 0) clock.advance(1)
    }
    expect(admitted).toBe(75_000)
    expect(window.size).toBe(1000)
    clock.advance(5001)
    expect(window.has('id-99998')).toBe(false)
    expect(window.size).toBe(0)
  })

  it('keeps working with the age bound alone doing the evicting', () => {
    const clock = new SimulatedClock()
    const window = new DedupWindow(clock, { maxIds: 100_000, maxAgeMs: 100 })
    for (let i = 0; i < 100_000; i++) {
      window.admit(`id-${i}`)
      clock.advance(1)
    }
    expect(window.size).toBeLessThanOrEqual(101)
    expect(window.has('id-99999')).toBe(true)
    expect(window.has('id-99000')).toBe(false)
  })

  it('answers as a plain insertion-ordered model does, over random admits, repeats and clock steps', () => {
    // The model: the straightforward O(window) implementation the ring replaced.
    for (const [maxIds, maxAgeMs] of [
      [1, 5],
      [3, 50],
      [64, 1000],
      [500, 30],
    ] as const) {
      const clock = new SimulatedClock()
      const window = new DedupWindow(clock, { maxIds, maxAgeMs })
      const model = new Map<string, number>()
      let seed = maxIds * 7919 + maxAgeMs
      const random = (n: number) => {
        seed = (seed * 1103515245 + 12345) % 2147483648
        return seed % n
      }
      for (let step = 0; step < 20_000; step++) {
        const roll = random(10)
        if (roll === 0) clock.advance(random(maxAgeMs + 2))
        const now = clock.now()
        for (const [id, at] of model) {
          if (at >= now - maxAgeMs) break
          model.delete(id)
        }
        const id = `id-${random(roll < 5 ? 3 * maxIds + 3 : 1_000_000)}`
        if (roll === 9) {
          expect(window.has(id)).toBe(model.has(id))
          continue
        }
        const known = model.delete(id)
        model.set(id, now)
        if (!known && model.size > maxIds) model.delete(model.keys().next().value as string)
        expect(window.admit(id)).toBe(!known)
        expect(window.size).toBe(model.size)
      }
    }
  })
})
