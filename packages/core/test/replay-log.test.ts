import { describe, expect, it } from 'vitest'
import { DEFAULT_LOG_BOUNDS, type LogEntry, ReplayLog } from '../src/server/replay-log.js'
import { SimulatedClock } from '../src/testing/simulated-clock.js'

const seqs = <T>(entries: LogEntry<T>[]): number[] => entries.map((entry) => entry.seq)

/** The ring's backing array, to check memory stays bounded (not part of the public API). */
const capacity = (log: ReplayLog<unknown>): number => (log as unknown as { slots: unknown[] }).slots.length

function filled(
  count: number,
  bounds: ConstructorParameters<typeof ReplayLog>[1] = {},
  clock = new SimulatedClock(),
) {
  const log = new ReplayLog<string>(clock, bounds)
  for (let i = 1; i <= count; i++) log.append(`v${i}`, 10)
  return { log, clock }
}

describe('ReplayLog basics', () => {
  it('has the documented defaults', () => {
    expect(DEFAULT_LOG_BOUNDS).toEqual({ maxEntries: 10_000, maxBytes: 1024 * 1024, maxAgeMs: 300_000 })
    expect(Object.isFrozen(DEFAULT_LOG_BOUNDS)).toBe(true)
  })

  it('LL-SEQ-1 numbers entries 1, 2, 3 with their clock time, size and value', () => {
    const clock = new SimulatedClock(1000)
    const log = new ReplayLog<string>(clock)
    expect(log.lastSeq).toBe(0)
    expect(log.firstSeq).toBe(1)
    expect(log.size).toBe(0)
    expect(log.append('a', 3)).toEqual({ seq: 1, at: 1000, bytes: 3, value: 'a' })
    clock.advance(5)
    expect(log.append('b', 4)).toEqual({ seq: 2, at: 1005, bytes: 4, value: 'b' })
    expect(log.lastSeq).toBe(2)
    expect(log.firstSeq).toBe(1)
    expect(log.size).toBe(2)
    expect(log.bytes).toBe(7)
    expect(log.entry(2)?.value).toBe('b')
  })

  it('continues numbering after startSeq', () => {
    const log = new ReplayLog<string>(new SimulatedClock(), {}, 41)
    expect(log.lastSeq).toBe(41)
    expect(log.firstSeq).toBe(42)
    expect(log.covers(41)).toBe(true)
    expect(log.covers(40)).toBe(false)
    expect(log.append('x', 1).seq).toBe(42)
    expect(log.covers(41)).toBe(true)
    expect(log.covers(40)).toBe(false)
    expect(seqs(log.read(0))).toEqual([42])
  })

  it('refuses invalid bounds, sizes and startSeq', () => {
    const clock = new SimulatedClock()
    expect(() => new ReplayLog(clock, { maxEntries: 0 })).toThrow(RangeError)
    expect(() => new ReplayLog(clock, { maxEntries: 1.5 })).toThrow(RangeError)
    expect(() => new ReplayLog(clock, { maxEntries: Number.POSITIVE_INFINITY })).toThrow(RangeError)
    expect(() => new ReplayLog(clock, { maxBytes: -1 })).toThrow(RangeError)
    expect(() => new ReplayLog(clock, { maxBytes: Number.NaN })).toThrow(RangeError)
    expect(() => new ReplayLog(clock, { maxAgeMs: Number.POSITIVE_INFINITY })).toThrow(RangeError)
    expect(() => new ReplayLog(clock, {}, -1)).toThrow(RangeError)
    expect(() => new ReplayLog(clock, {}, 0.5)).toThrow(RangeError)
    const log = new ReplayLog(clock)
    expect(() => log.append('x', -1)).toThrow(RangeError)
    expect(() => log.append('x', Number.NaN)).toThrow(RangeError)
    expect(log.lastSeq).toBe(0)
  })

  it('ignores bounds explicitly set to undefined', () => {
    const log = new ReplayLog(new SimulatedClock(), { maxEntries: undefined } as unknown as {
      maxEntries: number
    })
    for (let i = 0; i < 10_001; i++) log.append(i, 0)
    expect(log.size).toBe(10_000)
  })
})

describe('LL-LIMIT-2 bounds', () => {
  it('evicts the oldest entries beyond maxEntries', () => {
    const { log } = filled(7, { maxEntries: 3 })
    expect(log.size).toBe(3)
    expect(log.firstSeq).toBe(5)
    expect(log.lastSeq).toBe(7)
    expect(log.bytes).toBe(30)
    expect(seqs(log.read(0))).toEqual([5, 6, 7])
    expect(log.entry(4)).toBeUndefined()
  })

  it('evicts the oldest entries beyond maxBytes', () => {
    const log = new ReplayLog<string>(new SimulatedClock(), { maxBytes: 100 })
    log.append('a', 40)
    log.append('b', 40)
    expect(log.size).toBe(2)
    log.append('c', 30)
    expect(seqs(log.read(0))).toEqual([2, 3])
    expect(log.bytes).toBe(70)
    log.append('d', 30)
    expect(seqs(log.read(0))).toEqual([2, 3, 4])
    expect(log.bytes).toBe(100)
  })

  it('keeps an entry larger than maxBytes as the only entry', () => {
    const log = new ReplayLog<string>(new SimulatedClock(), { maxBytes: 100 })
    log.append('a', 10)
    log.append('huge', 500)
    expect(seqs(log.read(0))).toEqual([2])
    expect(log.bytes).toBe(500)
    log.append('b', 10)
    expect(seqs(log.read(0))).toEqual([3])
    expect(log.bytes).toBe(10)
  })

  it('evicts entries older than maxAgeMs lazily, on read, covers, entry and append', () => {
    const clock = new SimulatedClock()
    const log = new ReplayLog<string>(clock, { maxAgeMs: 1000 })
    log.append('a', 1)
    clock.advance(500)
    log.append('b', 1)
    clock.advance(500)
    // Exactly maxAgeMs old is still held.
    expect(seqs(log.read(0))).toEqual([1, 2])
    clock.advance(1)
    expect(log.size).toBe(2)
    expect(log.covers(0)).toBe(false)
    expect(log.size).toBe(1)
    expect(log.firstSeq).toBe(2)
    clock.advance(500)
    expect(log.entry(2)).toBeUndefined()
    expect(log.size).toBe(0)
    expect(log.bytes).toBe(0)
    expect(log.firstSeq).toBe(3)
    expect(log.lastSeq).toBe(2)
    expect(log.covers(2)).toBe(true)
    const { log: other, clock: otherClock } = filled(3, { maxAgeMs: 10 })
    otherClock.advance(11)
    other.append('late', 1)
    expect(seqs(other.read(0))).toEqual([4])
  })

  it('applies all three bounds together', () => {
    const clock = new SimulatedClock()
    const log = new ReplayLog<number>(clock, { maxEntries: 5, maxBytes: 50, maxAgeMs: 100 })
    for (let i = 1; i <= 5; i++) log.append(i, 5)
    expect(log.size).toBe(5)
    log.append(6, 31)
    expect(seqs(log.read(0))).toEqual([3, 4, 5, 6])
    clock.advance(50)
    log.append(7, 1)
    clock.advance(51)
    expect(seqs(log.read(0))).toEqual([7])
  })

  it('stays bounded over 100k appends, in entries, bytes and memory', () => {
    const clock = new SimulatedClock()
    const log = new ReplayLog<number>(clock, { maxEntries: 1000, maxBytes: 50_000, maxAgeMs: 60_000 })
    let peakCapacity = 0
    for (let i = 1; i <= 100_000; i++) {
      log.append(i, 1 + (i % 97))
      if (i % 10 === 0) clock.advance(1)
      expect(log.size <= 1000 && log.bytes <= 50_000).toBe(true)
      peakCapacity = Math.max(peakCapacity, capacity(log))
    }
    expect(peakCapacity).toBeLessThanOrEqual(1024)
    expect(log.lastSeq).toBe(100_000)
    expect(log.firstSeq).toBe(100_000 - log.size + 1)
    const all = log.read(0)
    expect(all).toHaveLength(log.size)
    expect(all.every((entry, i) => entry.seq === log.firstSeq + i && entry.value === entry.seq)).toBe(true)
    expect(all.reduce((sum, entry) => sum + entry.bytes, 0)).toBe(log.bytes)
  })
})

describe('LL-ACK-4 trimThrough', () => {
  it('drops entries through a cumulative ack', () => {
    const { log } = filled(10)
    log.trimThrough(4)
    expect(log.firstSeq).toBe(5)
    expect(log.size).toBe(6)
    expect(log.bytes).toBe(60)
    log.trimThrough(4)
    log.trimThrough(2)
    expect(log.firstSeq).toBe(5)
    log.trimThrough(10)
    expect(log.size).toBe(0)
    expect(log.firstSeq).toBe(11)
    expect(log.append('next', 1).seq).toBe(11)
  })

  it('empties the log on an ack above lastSeq, and ignores NaN', () => {
    const { log } = filled(3)
    log.trimThrough(Number.NaN)
    expect(log.size).toBe(3)
    log.trimThrough(99)
    expect(log.size).toBe(0)
    expect(log.lastSeq).toBe(3)
  })

  it('trims across the ring wrap-around and keeps reads correct', () => {
    const log = new ReplayLog<number>(new SimulatedClock(), { maxEntries: 16 })
    for (let i = 1; i <= 40; i++) {
      log.append(i, 1)
      if (i % 3 === 0) log.trimThrough(i - 2)
      const held = log.read(0)
      expect(seqs(held)).toEqual(Array.from({ length: log.size }, (_, k) => log.firstSeq + k))
      expect(held.every((entry) => entry.value === entry.seq)).toBe(true)
    }
    expect(capacity(log)).toBe(16)
  })
})

describe('LL-RESUME-3 LL-REPLAY-3 covers', () => {
  it('is true exactly from firstSeq - 1 to lastSeq', () => {
    const { log } = filled(10, { maxEntries: 5 })
    expect([log.firstSeq, log.lastSeq]).toEqual([6, 10])
    for (let cursor = -2; cursor <= 13; cursor++) {
      expect(log.covers(cursor), `cursor ${cursor}`).toBe(cursor >= 5 && cursor <= 10)
    }
  })

  it('covers cursor 0 of a log that never evicted, and not a cursor above lastSeq', () => {
    const { log } = filled(3)
    expect(log.covers(0)).toBe(true)
    expect(log.covers(3)).toBe(true)
    expect(log.covers(4)).toBe(false)
    const empty = new ReplayLog(new SimulatedClock())
    expect(empty.covers(0)).toBe(true)
    expect(empty.covers(1)).toBe(false)
  })

  it('is false for non-integer cursors', () => {
    const { log } = filled(3)
    expect(log.covers(1.5)).toBe(false)
    expect(log.covers(Number.NaN)).toBe(false)
    expect(log.covers(Number.POSITIVE_INFINITY)).toBe(false)
  })

  it('follows trims: a cursor behind an acked-away entry is not covered', () => {
    const { log } = filled(5)
    log.trimThrough(3)
    expect(log.covers(2)).toBe(false)
    expect(log.covers(3)).toBe(true)
  })
})

describe('LL-REPLAY-1 read', () => {
  it('returns entries after the cursor, oldest first', () => {
    const { log } = filled(5)
    expect(seqs(log.read(0))).toEqual([1, 2, 3, 4, 5])
    expect(seqs(log.read(2))).toEqual([3, 4, 5])
    expect(seqs(log.read(5))).toEqual([])
    expect(seqs(log.read(9))).toEqual([])
    expect(log.read(3).map((entry) => entry.value)).toEqual(['v4', 'v5'])
  })

  it('honours limit', () => {
    const { log } = filled(5)
    expect(seqs(log.read(0, 2))).toEqual([1, 2])
    expect(seqs(log.read(3, 10))).toEqual([4, 5])
    expect(seqs(log.read(1, 0))).toEqual([])
    expect(seqs(log.read(1, -1))).toEqual([])
    expect(seqs(log.read(1, 1))).toEqual([2])
  })

  it('starts at firstSeq when the cursor is behind the log', () => {
    const { log } = filled(10, { maxEntries: 4 })
    expect(seqs(log.read(0))).toEqual([7, 8, 9, 10])
    expect(seqs(log.read(-5, 2))).toEqual([7, 8])
  })

  it('reads nothing for NaN arguments', () => {
    const { log } = filled(3)
    expect(log.read(Number.NaN)).toEqual([])
    expect(log.read(0, Number.NaN)).toEqual([])
  })

  it('entry finds a held seq and nothing else', () => {
    const { log } = filled(6, { maxEntries: 4 })
    expect(log.entry(2)).toBeUndefined()
    expect(log.entry(3)?.value).toBe('v3')
    expect(log.entry(6)?.value).toBe('v6')
    expect(log.entry(7)).toBeUndefined()
    expect(log.entry(4.5)).toBeUndefined()
    expect(log.entry(Number.NaN)).toBeUndefined()
  })
})
