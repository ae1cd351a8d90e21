import { describe, expect, it } from 'vitest'
import { DIRECT, Inbox } from '../src/client/inbox.js'

/** Delivers seq on a stream the way the runtime does: only when accepted. */
function deliver(inbox: Inbox, stream: string, seq: number): boolean | 'duplicate' {
  if (!inbox.accepts(stream, seq)) return 'duplicate'
  return inbox.delivered(stream, seq)
}

describe('Inbox: cursors (LL-SEQ-3, LL-SEQ-4)', () => {
  it('LL-SEQ-3: starts every stream at cursor 0 and accepts seq 1', () => {
    const inbox = new Inbox(32)
    expect(inbox.cursor(DIRECT)).toBe(0)
    expect(inbox.cursor('room')).toBe(0)
    expect(inbox.accepts(DIRECT, 1)).toBe(true)
    expect(inbox.accepts('room', 1)).toBe(true)
    expect(DIRECT).toBe('')
  })

  it('LL-SEQ-3: entries at or below the cursor are duplicates; the cursor follows deliveries', () => {
    const inbox = new Inbox(32)
    expect(deliver(inbox, DIRECT, 1)).toBe(false)
    expect(deliver(inbox, DIRECT, 2)).toBe(false)
    expect(deliver(inbox, DIRECT, 2)).toBe('duplicate')
    expect(deliver(inbox, DIRECT, 1)).toBe('duplicate')
    expect(inbox.cursor(DIRECT)).toBe(2)
    expect(inbox.accepts(DIRECT, 3)).toBe(true)
  })

  it('LL-SEQ-4: a gap is accepted, and what lies in the gap is then a duplicate', () => {
    const inbox = new Inbox(32)
    deliver(inbox, 'room', 3)
    expect(deliver(inbox, 'room', 10)).toBe(false)
    expect(inbox.cursor('room')).toBe(10)
    expect(deliver(inbox, 'room', 7)).toBe('duplicate')
  })

  it('LL-SEQ-3: streams are independent', () => {
    const inbox = new Inbox(32)
    deliver(inbox, DIRECT, 5)
    deliver(inbox, 'a', 2)
    expect(inbox.accepts('b', 1)).toBe(true)
    expect(inbox.accepts('a', 2)).toBe(false)
    expect(inbox.accepts(DIRECT, 5)).toBe(false)
    expect(inbox.cursor('a')).toBe(2)
    expect(inbox.cursor('b')).toBe(0)
  })
})

describe('Inbox: acks (LL-ACK-1, LL-ACK-2)', () => {
  it('LL-ACK-2: delivered() says to flush once ackEvery entries are waiting, across streams', () => {
    const inbox = new Inbox(3)
    expect(inbox.delivered(DIRECT, 1)).toBe(false)
    expect(inbox.delivered('room', 1)).toBe(false)
    expect(inbox.delivered('room', 2)).toBe(true)
    inbox.takeAcks()
    expect(inbox.delivered(DIRECT, 2)).toBe(false)
  })

  it('LL-ACK-2: ackEvery 1 flushes after every entry', () => {
    const inbox = new Inbox(1)
    expect(inbox.delivered(DIRECT, 1)).toBe(true)
  })

  it('LL-ACK-1: takeAcks gives one cumulative ack per stream, topic only for topics, then nothing', () => {
    const inbox = new Inbox(32)
    expect(inbox.hasUnacked).toBe(false)
    expect(inbox.takeAcks()).toEqual([])
    deliver(inbox, DIRECT, 1)
    deliver(inbox, 'room:1', 40)
    deliver(inbox, DIRECT, 2)
    deliver(inbox, 'room:1', 42)
    deliver(inbox, 'doc', 7)
    expect(inbox.hasUnacked).toBe(true)
    const acks = inbox.takeAcks()
    expect(acks).toEqual([
      { type: 'ack', seq: 2 },
      { type: 'ack', seq: 42, topic: 'room:1' },
      { type: 'ack', seq: 7, topic: 'doc' },
    ])
    expect('topic' in (acks[0] ?? {})).toBe(false)
    expect(inbox.hasUnacked).toBe(false)
    expect(inbox.takeAcks()).toEqual([])
    // The count restarts after a take.
    const counted = new Inbox(2)
    counted.delivered(DIRECT, 1)
    counted.takeAcks()
    expect(counted.delivered(DIRECT, 2)).toBe(false)
  })

  it('LL-ACK-1: acks never go backwards: a later take only carries newer deliveries', () => {
    const inbox = new Inbox(32)
    deliver(inbox, DIRECT, 4)
    inbox.takeAcks()
    deliver(inbox, DIRECT, 4)
    expect(inbox.takeAcks()).toEqual([])
    deliver(inbox, DIRECT, 6)
    expect(inbox.takeAcks()).toEqual([{ type: 'ack', seq: 6 }])
  })
})

describe('Inbox: topics and sessions (LL-TOPIC-2, LL-TOPIC-4, LL-RESUME-1, LL-RESUME-6)', () => {
  it('LL-TOPIC-2: setCursor moves a topic cursor, even backwards, so new entries are not dropped', () => {
    const inbox = new Inbox(32)
    deliver(inbox, 'room', 50)
    inbox.setCursor('room', 20, 'e1')
    expect(inbox.cursor('room')).toBe(20)
    expect(inbox.accepts('room', 21)).toBe(true)
  })

  it('LL-TOPIC-4: forget drops a topic cursor and its pending ack', () => {
    const inbox = new Inbox(32)
    deliver(inbox, 'room', 5)
    deliver(inbox, DIRECT, 1)
    inbox.forget('room')
    expect(inbox.cursor('room')).toBe(0)
    expect(inbox.takeAcks()).toEqual([{ type: 'ack', seq: 1 }])
    inbox.forget('never-seen')
    expect(inbox.snapshot()).toEqual({ cursors: { '': 1 }, epochs: {} })
  })

  it('LL-RESUME-6: newSession resets the direct cursor, keeps topic cursors for join.from, drops pending acks', () => {
    const inbox = new Inbox(2)
    deliver(inbox, DIRECT, 9)
    deliver(inbox, 'room', 30)
    inbox.newSession()
    expect(inbox.cursor(DIRECT)).toBe(0)
    expect(inbox.accepts(DIRECT, 1)).toBe(true)
    expect(inbox.cursor('room')).toBe(30)
    expect(inbox.hasUnacked).toBe(false)
    expect(inbox.takeAcks()).toEqual([])
    // The batching count restarted too.
    expect(inbox.delivered(DIRECT, 1)).toBe(false)
  })

  it('LL-RESUME-1: resumeCursors gives the direct cursor and the cursor of each listed topic that has one', () => {
    const inbox = new Inbox(32)
    expect(inbox.resumeCursors([])).toEqual({ seq: 0, topics: {}, epochs: {} })
    deliver(inbox, DIRECT, 3)
    deliver(inbox, 'room:1', 42)
    deliver(inbox, 'room:2', 7)
    inbox.setCursor('room:2', 7, 'e2')
    expect(inbox.resumeCursors(['room:1', 'fresh'])).toEqual({ seq: 3, topics: { 'room:1': 42 }, epochs: {} })
    expect(inbox.resumeCursors(new Set(['room:2', 'room:1']))).toEqual({
      seq: 3,
      topics: { 'room:2': 7, 'room:1': 42 },
      epochs: { 'room:2': 'e2' },
    })
  })

  it('LL-RESUME-1: snapshot and restore carry every cursor to a new inbox (a page reload)', () => {
    const inbox = new Inbox(32)
    deliver(inbox, DIRECT, 12)
    deliver(inbox, 'room', 99)
    const snapshot = inbox.snapshot()
    expect(snapshot.cursors).toEqual({ '': 12, room: 99 })
    const restored = new Inbox(32)
    restored.restore(JSON.parse(JSON.stringify(snapshot.cursors)) as Record<string, number>, undefined)
    expect(restored.cursor(DIRECT)).toBe(12)
    expect(restored.cursor('room')).toBe(99)
    expect(restored.accepts('room', 99)).toBe(false)
    expect(restored.hasUnacked).toBe(false)
    // The snapshot is a copy: later deliveries do not change it.
    deliver(inbox, DIRECT, 13)
    expect(snapshot.cursors).toEqual({ '': 12, room: 99 })
  })

  it('LL-RESUME-1: restore merges into existing cursors', () => {
    const inbox = new Inbox(32)
    deliver(inbox, 'a', 1)
    inbox.restore({ b: 4 }, { b: 'e2' })
    expect(inbox.snapshot()).toEqual({ cursors: { a: 1, b: 4 }, epochs: { b: 'e2' } })
  })
})
