import { describe, expect, it } from 'vitest'
import {
  DEFAULT_OUTBOX_LIMITS,
  Outbox,
  type OutboxLimits,
  type OutgoingMessage,
} from '../src/client/outbox.js'
import { BufferOverflowError, SendRejectedError } from '../src/errors.js'

interface Tracked extends OutgoingMessage {
  /** Every settlement: 'ok' or the error; must end up with exactly one entry. */
  readonly settlements: Array<'ok' | Error>
}

/** A message whose JSON has exactly `bytes` (>= 2) characters. */
function message(name: string, bytes = 3): Tracked {
  const settlements: Array<'ok' | Error> = []
  return {
    id: `id-${name}`,
    topic: undefined,
    data: name,
    json: `"${'x'.repeat(bytes - 2)}"`,
    seq: 0,
    settlements,
    settle: (error) => {
      settlements.push(error ?? 'ok')
    },
  }
}

function outbox(limits: Partial<OutboxLimits> = {}): Outbox {
  return new Outbox({ ...DEFAULT_OUTBOX_LIMITS, ...limits })
}

const ids = (messages: readonly OutgoingMessage[]) => messages.map((m) => m.id)
const seqs = (messages: readonly OutgoingMessage[]) => messages.map((m) => m.seq)

describe('Outbox: numbering and acks (LL-SEND-1, LL-SEND-4)', () => {
  it('LL-SEND-1: takeQueued numbers sends 1, 2, 3 in order and marks them in flight', () => {
    const box = outbox()
    const [a, b, c] = [message('a'), message('b'), message('c')]
    for (const m of [a, b, c]) box.add(m)
    expect(seqs([a, b, c])).toEqual([0, 0, 0])
    const taken = box.takeQueued()
    expect(ids(taken)).toEqual(['id-a', 'id-b', 'id-c'])
    expect(seqs(taken)).toEqual([1, 2, 3])
    // Nothing is queued any more: a second take sends nothing twice.
    expect(box.takeQueued()).toEqual([])
    const d = message('d')
    box.add(d)
    expect(box.takeQueued()).toEqual([d])
    expect(d.seq).toBe(4)
  })

  it('LL-SEND-4: an ack is cumulative and settles in send order, exactly once', () => {
    const box = outbox()
    const messages = ['a', 'b', 'c', 'd'].map((n) => message(n))
    const order: string[] = []
    for (const m of messages) {
      box.add({
        ...m,
        settle: (error) => {
          m.settle(error)
          order.push(m.id)
        },
      })
    }
    box.takeQueued()
    box.ack(2)
    expect(order).toEqual(['id-a', 'id-b'])
    expect(box.size).toBe(2)
    box.ack(2) // a repeated ack settles nothing again
    box.ack(1) // an older ack settles nothing
    expect(order).toEqual(['id-a', 'id-b'])
    box.ack(10) // an ack beyond what was sent settles everything sent
    expect(order).toEqual(['id-a', 'id-b', 'id-c', 'id-d'])
    for (const m of messages) expect(m.settlements).toEqual(['ok'])
    expect(box.size).toBe(0)
    expect(box.bytes).toBe(0)
  })

  it('LL-SEND-4: an ack never settles a send that was not sent yet (seq 0)', () => {
    const box = outbox()
    const a = message('a')
    const b = message('b')
    box.add(a)
    box.takeQueued()
    box.add(b)
    box.ack(99)
    expect(a.settlements).toEqual(['ok'])
    expect(b.settlements).toEqual([])
    expect(box.size).toBe(1)
    expect(box.takeQueued()).toEqual([b])
    expect(b.seq).toBe(2)
  })
})

describe('Outbox: reject (LL-SEND-5)', () => {
  it('LL-SEND-5: reject(seq) settles that one send with the error and never resends it', () => {
    const box = outbox()
    const [a, b, c] = [message('a', 5), message('b', 7), message('c', 11)]
    for (const m of [a, b, c]) box.add(m)
    box.takeQueued()
    const error = new SendRejectedError(4300, 'nope')
    box.reject(2, error)
    expect(b.settlements).toEqual([error])
    expect(a.settlements).toEqual([])
    expect(c.settlements).toEqual([])
    expect(box.size).toBe(2)
    expect(box.bytes).toBe(16)
    // After a drop, the remaining in-flight sends go again with their seqs; the rejected one does not.
    box.connectionLost()
    const again = box.takeQueued()
    expect(ids(again)).toEqual(['id-a', 'id-c'])
    expect(seqs(again)).toEqual([1, 3])
    box.ack(3)
    expect(a.settlements).toEqual(['ok'])
    expect(c.settlements).toEqual(['ok'])
    expect(b.settlements).toEqual([error])
  })

  it('LL-SEND-5: reject of an unknown or already settled seq is a no-op', () => {
    const box = outbox()
    const a = message('a')
    box.add(a)
    box.takeQueued()
    box.reject(7, new Error('x'))
    box.ack(1)
    box.reject(1, new Error('late'))
    expect(a.settlements).toEqual(['ok'])
    expect(box.size).toBe(0)
  })

  it('LL-SEND-5: rejecting an in-flight send keeps the queued ones queued', () => {
    const box = outbox()
    const [a, b] = [message('a'), message('b')]
    box.add(a)
    box.takeQueued()
    box.add(b)
    box.reject(1, new Error('rejected'))
    expect(box.takeQueued()).toEqual([b])
    expect(b.seq).toBe(2)
  })
})

describe('Outbox: reconnects (LL-RESUME-5, LL-RESUME-6)', () => {
  it('LL-RESUME-5: after connectionLost, takeQueued resends in-flight sends with their original seqs first', () => {
    const box = outbox()
    const [a, b, c] = [message('a'), message('b'), message('c')]
    box.add(a)
    box.add(b)
    box.takeQueued()
    box.add(c) // queued while offline
    box.connectionLost()
    const again = box.takeQueued()
    expect(ids(again)).toEqual(['id-a', 'id-b', 'id-c'])
    expect(seqs(again)).toEqual([1, 2, 3])
  })

  it('LL-RESUME-5: resumed(ackedSeq) settles what the server processed and resends the rest with the same seq', () => {
    const box = outbox()
    const messages = ['a', 'b', 'c', 'd'].map((n) => message(n))
    for (const m of messages) box.add(m)
    box.takeQueued()
    box.connectionLost()
    box.resumed(2, 2)
    expect(messages.map((m) => m.settlements.length)).toEqual([1, 1, 0, 0])
    const again = box.takeQueued()
    expect(ids(again)).toEqual(['id-c', 'id-d'])
    expect(seqs(again)).toEqual([3, 4])
    const e = message('e')
    box.add(e)
    expect(box.takeQueued()).toEqual([e])
    expect(e.seq).toBe(5)
  })

  it('LL-RESUME-5: resumed without an intervening connectionLost still resends the in-flight sends', () => {
    const box = outbox()
    const [a, b] = [message('a'), message('b')]
    box.add(a)
    box.add(b)
    box.takeQueued()
    box.resumed(0, 0)
    expect(seqs(box.takeQueued())).toEqual([1, 2])
  })

  it('LL-RESUME-6: newSession renumbers every pending send from 1, keeping ids and order', () => {
    const box = outbox()
    const messages = ['a', 'b', 'c', 'd', 'e'].map((n) => message(n))
    for (const m of messages.slice(0, 3)) box.add(m)
    box.takeQueued()
    box.ack(1) // a settled; b, c in flight with seqs 2, 3
    box.add(messages[3] as Tracked)
    box.add(messages[4] as Tracked)
    box.connectionLost()
    box.newSession()
    expect(seqs(messages.slice(1))).toEqual([0, 0, 0, 0])
    const again = box.takeQueued()
    expect(ids(again)).toEqual(['id-b', 'id-c', 'id-d', 'id-e'])
    expect(seqs(again)).toEqual([1, 2, 3, 4])
    // Acks of the new session settle against the new numbers.
    box.ack(2)
    expect(messages.map((m) => m.settlements.length)).toEqual([1, 1, 1, 0, 0])
  })

  it('LL-RESUME-6: newSession with nothing pending starts the next send at seq 1', () => {
    const box = outbox()
    const a = message('a')
    box.add(a)
    box.takeQueued()
    box.ack(1)
    box.newSession()
    const b = message('b')
    box.add(b)
    box.takeQueued()
    expect(b.seq).toBe(1)
  })
})

describe('Outbox: failAll (LL-CLIENT-5, LL-INTENT-1)', () => {
  it('LL-CLIENT-5: failAll settles every pending send, in flight or queued, once, with the error', () => {
    const box = outbox()
    const messages = ['a', 'b', 'c'].map((n) => message(n, 4))
    box.add(messages[0] as Tracked)
    box.takeQueued()
    box.add(messages[1] as Tracked)
    box.add(messages[2] as Tracked)
    const error = new Error('closed')
    box.failAll(error)
    for (const m of messages) expect(m.settlements).toEqual([error])
    expect(box.size).toBe(0)
    expect(box.bytes).toBe(0)
    expect(box.takeQueued()).toEqual([])
    box.ack(5)
    box.failAll(new Error('again'))
    for (const m of messages) expect(m.settlements).toHaveLength(1)
  })
})

describe('Outbox: size and bytes (LL-CLIENT-5, LL-LIMIT-5)', () => {
  it('LL-CLIENT-5: size counts queued and in-flight sends; bytes sums their JSON lengths', () => {
    const box = outbox()
    expect(box.size).toBe(0)
    expect(box.bytes).toBe(0)
    box.add(message('a', 10))
    box.add(message('b', 20))
    expect([box.size, box.bytes]).toEqual([2, 30])
    box.takeQueued()
    box.add(message('c', 5))
    expect([box.size, box.bytes]).toEqual([3, 35])
    box.ack(1)
    expect([box.size, box.bytes]).toEqual([2, 25])
    box.reject(2, new Error('x'))
    expect([box.size, box.bytes]).toEqual([1, 5])
  })

  it('LL-LIMIT-5: the default limits are 10,000 messages, 1 MiB, reject', () => {
    expect(DEFAULT_OUTBOX_LIMITS).toEqual({ maxMessages: 10_000, maxBytes: 1024 * 1024, overflow: 'reject' })
  })
})

describe('Outbox: bounds and overflow policies (LL-SEND-7, LL-LIMIT-5)', () => {
  it('LL-SEND-7: reject refuses the new send by count and leaves the others alone', () => {
    const box = outbox({ maxMessages: 2, overflow: 'reject' })
    const [a, b, c] = [message('a'), message('b'), message('c')]
    expect(box.add(a)).toEqual([])
    expect(box.add(b)).toEqual([])
    let thrown: unknown
    try {
      box.add(c)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(BufferOverflowError)
    expect(thrown).toMatchObject({ policy: 'reject' })
    expect(box.size).toBe(2)
    expect(ids(box.takeQueued())).toEqual(['id-a', 'id-b'])
    for (const m of [a, b, c]) expect(m.settlements).toEqual([])
  })

  it('LL-SEND-7: reject refuses the new send by bytes', () => {
    const box = outbox({ maxBytes: 10, overflow: 'reject' })
    box.add(message('a', 6))
    expect(() => box.add(message('b', 5))).toThrow(BufferOverflowError)
    expect(box.add(message('c', 4))).toEqual([])
    expect([box.size, box.bytes]).toEqual([2, 10])
  })

  it('LL-SEND-7: drop-oldest by count drops the oldest queued send and returns it', () => {
    const box = outbox({ maxMessages: 2, overflow: 'drop-oldest' })
    const [a, b, c] = [message('a'), message('b'), message('c')]
    box.add(a)
    box.add(b)
    expect(box.add(c)).toEqual([a])
    expect(ids(box.takeQueued())).toEqual(['id-b', 'id-c'])
    // The outbox does not settle what it drops: the caller reports it (LL-SEND-7).
    expect(a.settlements).toEqual([])
  })

  it('LL-SEND-7: drop-newest by count drops the newest queued send and keeps the new one', () => {
    const box = outbox({ maxMessages: 2, overflow: 'drop-newest' })
    const [a, b, c] = [message('a'), message('b'), message('c')]
    box.add(a)
    box.add(b)
    expect(box.add(c)).toEqual([b])
    expect(ids(box.takeQueued())).toEqual(['id-a', 'id-c'])
  })

  it('LL-SEND-7: drop-oldest by bytes drops a queued send to make room', () => {
    const box = outbox({ maxBytes: 10, overflow: 'drop-oldest' })
    const [a, b, c] = [message('a', 5), message('b', 5), message('c', 5)]
    box.add(a)
    box.add(b)
    expect(box.add(c)).toEqual([a])
    expect([box.size, box.bytes]).toEqual([2, 10])
    expect(ids(box.takeQueued())).toEqual(['id-b', 'id-c'])
  })

  it('LL-SEND-7: drop-newest by bytes drops the newest queued send to make room', () => {
    const box = outbox({ maxBytes: 10, overflow: 'drop-newest' })
    const [a, b, c] = [message('a', 4), message('b', 5), message('c', 6)]
    box.add(a)
    box.add(b)
    expect(box.add(c)).toEqual([b])
    expect([box.size, box.bytes]).toEqual([2, 10])
    expect(ids(box.takeQueued())).toEqual(['id-a', 'id-c'])
  })

  for (const overflow of ['reject', 'drop-oldest', 'drop-newest'] as const) {
    it(`LL-LIMIT-5: a send larger than maxBytes on its own is refused under ${overflow}, dropping nothing`, () => {
      const box = outbox({ maxBytes: 10, overflow })
      const a = message('a', 3)
      box.add(a)
      let thrown: unknown
      try {
        box.add(message('big', 11))
      } catch (error) {
        thrown = error
      }
      expect(thrown).toBeInstanceOf(BufferOverflowError)
      expect(thrown).toMatchObject({ policy: overflow })
      expect([box.size, box.bytes]).toEqual([1, 3])
      expect(box.takeQueued()).toEqual([a])
    })

    it(`LL-SEND-7: in-flight sends are never dropped under ${overflow}`, () => {
      const box = outbox({ maxMessages: 2, overflow })
      const [a, b] = [message('a'), message('b')]
      box.add(a)
      box.add(b)
      box.takeQueued() // both in flight
      expect(() => box.add(message('c'))).toThrow(BufferOverflowError)
      expect(box.size).toBe(2)
      box.ack(2)
      expect(a.settlements).toEqual(['ok'])
      expect(b.settlements).toEqual(['ok'])
    })
  }

  it('LL-SEND-7: drop-oldest skips in-flight sends and drops the oldest queued one', () => {
    const box = outbox({ maxMessages: 3, overflow: 'drop-oldest' })
    const [a, b, c, d] = [message('a'), message('b'), message('c'), message('d')]
    box.add(a)
    box.takeQueued()
    box.add(b)
    box.add(c)
    expect(box.add(d)).toEqual([b])
    box.connectionLost()
    expect(ids(box.takeQueued())).toEqual(['id-a', 'id-c', 'id-d'])
  })

  it('LL-RESUME-5: after connectionLost, resent (not yet acked) sends count as in flight again and are protected', () => {
    const box = outbox({ maxMessages: 2, overflow: 'drop-oldest' })
    const [a, b] = [message('a'), message('b')]
    box.add(a)
    box.add(b)
    box.takeQueued()
    box.connectionLost()
    // Offline, a and b are queued for resending: drop-oldest may drop a.
    expect(box.add(message('c'))).toEqual([a])
  })
})

describe('Outbox: compaction', () => {
  it('LL-LIMIT-5: after more than 1024 acks the settled prefix is released and everything keeps working', () => {
    const box = outbox({ maxMessages: 5000, maxBytes: 1e9 })
    const messages = Array.from({ length: 1100 }, (_, i) => message(`m${i}`))
    for (const m of messages) box.add(m)
    expect(seqs(box.takeQueued())).toEqual(messages.map((_, i) => i + 1))
    box.ack(1000)
    const items = () => (Reflect.get(box, 'items') as unknown[]).length
    expect(items()).toBe(1100) // not yet: head is 1000
    box.ack(1030)
    expect(items()).toBe(70) // compacted: only the 70 unacked remain
    expect(box.size).toBe(70)
    expect(box.bytes).toBe(70 * 3)
    // In-flight bookkeeping survived the compaction.
    box.reject(1050, new Error('r'))
    expect(box.size).toBe(69)
    const extra = message('extra')
    box.add(extra)
    expect(box.takeQueued()).toEqual([extra])
    expect(extra.seq).toBe(1101)
    box.connectionLost()
    const again = box.takeQueued()
    expect(again).toHaveLength(70)
    expect(again[0]?.seq).toBe(1031)
    expect(again.map((m) => m.seq)).not.toContain(1050)
    box.resumed(1101, 1101)
    expect(box.size).toBe(0)
    expect(box.bytes).toBe(0)
    for (const m of messages) expect(m.settlements).toHaveLength(1)
    expect(messages[1049]?.settlements[0]).toBeInstanceOf(Error)
  })

  it('LL-LIMIT-5: compaction waits while most of the array is still live', () => {
    const box = outbox({ maxMessages: 5000, maxBytes: 1e9 })
    for (let i = 0; i < 3000; i++) box.add(message(`m${i}`))
    box.takeQueued()
    box.ack(1100) // head 1100 > 1024 but 2 * 1100 < 3000
    expect((Reflect.get(box, 'items') as unknown[]).length).toBe(3000)
    expect(box.size).toBe(1900)
    box.ack(1600)
    expect((Reflect.get(box, 'items') as unknown[]).length).toBe(1400)
  })
})
