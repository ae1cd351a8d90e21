import { jsonShape } from '@lifeline/protocol'
import { describe, expect, it } from 'vitest'
import { DEFAULT_PRESENCE_BOUNDS, DEFAULT_TOPIC_BOUNDS, TopicLog } from '../src/server/topic-log.js'
import { SimulatedClock } from '../src/testing/simulated-clock.js'

const seqs = (log: TopicLog<string>, after: number, limit?: number) =>
  log.read(after, limit).map((e) => e.seq)
const values = (log: TopicLog<string>, after: number) => log.read(after).map((e) => e.value)

describe('TopicLog', () => {
  it('has the documented defaults: 10,000 messages / 8 MiB, 10,000 presence entries / 4 MiB, 5 minutes', () => {
    expect(DEFAULT_TOPIC_BOUNDS).toEqual({ maxEntries: 10_000, maxBytes: 8 * 1024 * 1024, maxAgeMs: 300_000 })
    expect(DEFAULT_PRESENCE_BOUNDS).toEqual({
      maxEntries: 10_000,
      maxBytes: 4 * 1024 * 1024,
      maxAgeMs: 300_000,
    })
    const log = new TopicLog<string>(new SimulatedClock())
    for (let i = 0; i < 10_001; i++) log.append(`m${i}`, 1)
    expect(log.size.messages).toBe(10_000)
  })

  it('LL-LIMIT-2, LL-LIMIT-10: the default bounds hold 10,000 chat messages and their presence, counted as memory held', () => {
    const log = new TopicLog<string>(new SimulatedClock())
    const data = {
      from: 'user7',
      text: 'message 7: the quick brown fox jumps over the lazy dog',
      at: 1763000000007,
    }
    for (let seq = 1; seq <= 10_000; seq++) {
      const text = JSON.stringify({ type: 'msg', seq, topic: 'room', data })
      log.append(text, jsonShape(text).heldBytes)
    }
    const presence = JSON.stringify({
      type: 'presence',
      seq: 1,
      topic: 'room',
      sid: 's'.repeat(22),
      event: 'away',
    })
    for (let i = 0; i < 10_000; i++) log.append(presence, jsonShape(presence).heldBytes, true)
    expect(log.size).toEqual({ messages: 10_000, presence: 10_000 })
  })

  it('LL-SEQ-1: messages and presence share one seq space and read back merged in seq order', () => {
    const log = new TopicLog<string>(new SimulatedClock())
    log.append('p1', 1, true)
    log.append('m2', 1)
    log.append('m3', 1)
    log.append('p4', 1, true)
    log.append('m5', 1)
    expect(log.lastSeq).toBe(5)
    expect(values(log, 0)).toEqual(['p1', 'm2', 'm3', 'p4', 'm5'])
    expect(values(log, 3)).toEqual(['p4', 'm5'])
    expect(seqs(log, 0, 3)).toEqual([1, 2, 3])
    expect(seqs(log, 5)).toEqual([])
  })

  it('LL-PRESENCE-5: no number of presence entries evicts a message', () => {
    const log = new TopicLog<string>(new SimulatedClock(), { messages: { maxEntries: 3 } })
    log.append('m1', 10)
    for (let i = 0; i < 5000; i++) log.append(`away ${i}`, 10, true)
    log.append('m2', 10)
    expect(log.covers(0)).toBe(true)
    const read = log.read(0)
    expect(read).toHaveLength(5002)
    expect(read[0]?.value).toBe('m1')
    expect(read.at(-1)?.value).toBe('m2')
  })

  it('LL-LIMIT-2: each kind is bounded by its own count and bytes, the oldest of the kind first', () => {
    const log = new TopicLog<string>(new SimulatedClock(), {
      messages: { maxEntries: 2, maxBytes: 1000 },
      presence: { maxEntries: 100, maxBytes: 25 },
    })
    log.append('m1', 1) // 1
    log.append('p2', 10, true) // 2
    log.append('m3', 1) // 3
    log.append('m4', 1) // 4: evicts m1
    expect(values(log, 0)).toEqual(['p2', 'm3', 'm4'])
    log.append('p5', 10, true) // 5
    log.append('p6', 10, true) // 6: 30 bytes, evicts p2
    expect(values(log, 0)).toEqual(['m3', 'm4', 'p5', 'p6'])
    expect(log.size).toEqual({ messages: 2, presence: 2 })
    expect(log.bytes).toBe(22)
    // The newest entry is kept alone even when larger than the byte bound.
    log.append('p7', 500, true)
    expect(values(log, 0)).toEqual(['m3', 'm4', 'p7'])
  })

  it('LL-REPLAY-3: a cursor is covered only while nothing after it was evicted, of either kind', () => {
    const log = new TopicLog<string>(new SimulatedClock(), {
      messages: { maxEntries: 2 },
      presence: { maxEntries: 2 },
    })
    for (const [value, presence] of [
      ['m1', false],
      ['p2', true],
      ['p3', true],
      ['m4', false],
    ] as const)
      log.append(value, 1, presence)
    expect(log.covers(0)).toBe(true)
    log.append('m5', 1) // evicts m1
    expect([log.covers(0), log.covers(1)]).toEqual([false, true])
    log.append('p6', 1, true) // evicts p2
    expect([log.covers(1), log.covers(2), log.covers(6)]).toEqual([false, true, true])
    expect(log.covers(7)).toBe(false) // never existed
    expect(log.covers(Number.NaN)).toBe(false)
    expect(log.covers(2.5)).toBe(false)
    expect(values(log, 2)).toEqual(['p3', 'm4', 'm5', 'p6'])
  })

  it('expires each kind by age on its own bound', () => {
    const clock = new SimulatedClock()
    const log = new TopicLog<string>(clock, { messages: { maxAgeMs: 100 }, presence: { maxAgeMs: 1000 } })
    log.append('m1', 1)
    log.append('p2', 1, true)
    clock.advance(101)
    expect(values(log, 0)).toEqual(['p2'])
    expect(log.covers(0)).toBe(false)
    expect(log.covers(1)).toBe(true)
    clock.advance(1000)
    expect(values(log, 0)).toEqual([])
    expect(log.covers(2)).toBe(true)
    expect(log.size).toEqual({ messages: 0, presence: 0 })
    expect(log.bytes).toBe(0)
  })

  it('continues numbering after startSeq and covers nothing at or below it', () => {
    const log = new TopicLog<string>(new SimulatedClock(), {}, 41)
    expect(log.covers(40)).toBe(false)
    expect(log.covers(41)).toBe(true)
    expect(log.append('m', 1).seq).toBe(42)
  })

  it('refuses invalid bounds and sizes', () => {
    const clock = new SimulatedClock()
    expect(() => new TopicLog(clock, { messages: { maxEntries: 0 } })).toThrow(RangeError)
    expect(() => new TopicLog(clock, { presence: { maxBytes: -1 } })).toThrow(RangeError)
    expect(() => new TopicLog(clock, { presence: { maxAgeMs: Number.POSITIVE_INFINITY } })).toThrow(
      RangeError,
    )
    expect(() => new TopicLog(clock, {}, -1)).toThrow(RangeError)
    expect(() => new TopicLog(clock).append('x', -1)).toThrow(RangeError)
  })

  it('stays O(1) per append and bounded over 1e5 mixed entries', () => {
    const log = new TopicLog<number>(new SimulatedClock(), {
      messages: { maxEntries: 100 },
      presence: { maxEntries: 50 },
    })
    for (let i = 0; i < 100_000; i++) log.append(i, 1, i % 3 === 0)
    expect(log.size).toEqual({ messages: 100, presence: 50 })
    const read = log.read(log.lastSeq - 10)
    expect(read.map((e) => e.seq)).toEqual(Array.from({ length: 10 }, (_, i) => log.lastSeq - 9 + i))
  })
})
