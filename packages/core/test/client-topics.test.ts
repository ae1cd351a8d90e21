import type { Joined, Presence } from '@lifeline/protocol'
import { describe, expect, it } from 'vitest'
import { Topics } from '../src/client/topics.js'
import { JoinError } from '../src/errors.js'

const joined = (topic: string, seq: number, members: Joined['members'] = [], membersSeq?: number): Joined =>
  membersSeq === undefined
    ? { type: 'joined', topic, seq, members }
    : { type: 'joined', topic, seq, members, membersSeq }

const presence = (
  topic: string,
  seq: number,
  sid: string,
  event: Presence['event'],
  meta?: unknown,
): Presence =>
  meta === undefined
    ? { type: 'presence', topic, seq, sid, event }
    : { type: 'presence', topic, seq, sid, event, meta }

/** Observes a promise without awaiting it: 'pending' until it settles. */
function watch(promise: Promise<void>): () => 'pending' | 'resolved' | Error {
  let outcome: 'pending' | 'resolved' | Error = 'pending'
  promise.then(
    () => {
      outcome = 'resolved'
    },
    (error: unknown) => {
      outcome = error instanceof Error ? error : new Error(String(error))
    },
  )
  return () => outcome
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('Topics: wanting and joining (LL-TOPIC-1)', () => {
  it('LL-TOPIC-1: want records the topic as joining; joined resolves every waiter', async () => {
    const topics = new Topics()
    const first = watch(topics.want('room'))
    const second = watch(topics.want('room'))
    expect(topics.has('room')).toBe(true)
    expect(topics.state('room')).toBe('joining')
    await flush()
    expect(first()).toBe('pending')
    expect(topics.joined(joined('room', 4))).toBe(true)
    expect(topics.state('room')).toBe('joined')
    await flush()
    expect(first()).toBe('resolved')
    expect(second()).toBe('resolved')
  })

  it('LL-TOPIC-3: want of a topic already joined resolves at once and changes nothing', async () => {
    const topics = new Topics()
    void topics.want('room')
    topics.joined(joined('room', 4, [{ sid: 's1', state: 'online' }]))
    const again = watch(topics.want('room'))
    await flush()
    expect(again()).toBe('resolved')
    expect(topics.state('room')).toBe('joined')
    expect([...topics.members('room').keys()]).toEqual(['s1'])
  })

  it('LL-TOPIC-1: names lists wanted topics in the order asked, without duplicates', () => {
    const topics = new Topics()
    void topics.want('b')
    void topics.want('a')
    void topics.want('b')
    void topics.want('c')
    expect(topics.names()).toEqual(['b', 'a', 'c'])
  })

  it('LL-TOPIC-1: joined for a topic nobody wants is ignored', () => {
    const topics = new Topics()
    expect(topics.joined(joined('stray', 1))).toBe(false)
    expect(topics.has('stray')).toBe(false)
    expect(topics.state('stray')).toBeUndefined()
  })

  it('LL-TOPIC-4: unwant drops the wish and answers a pending join (resolving it)', async () => {
    const topics = new Topics()
    const pending = watch(topics.want('room'))
    expect(topics.unwant('room')).toBe(true)
    expect(topics.has('room')).toBe(false)
    expect(topics.unwant('room')).toBe(false)
    await flush()
    expect(pending()).toBe('resolved')
    // A late joined for it is ignored.
    expect(topics.joined(joined('room', 1))).toBe(false)
  })

  it('LL-TOPIC-1: failed rejects the waiters with a JoinError and forgets the topic; others are unaffected', async () => {
    const topics = new Topics()
    const bad = watch(topics.want('secret'))
    const good = watch(topics.want('room'))
    const error = topics.failed('secret', 4301, 'not a member')
    expect(error).toBeInstanceOf(JoinError)
    expect(error).toMatchObject({ topic: 'secret', code: 4301, reason: 'not a member' })
    expect(topics.has('secret')).toBe(false)
    await flush()
    expect(bad()).toBe(error)
    expect(good()).toBe('pending')
    expect(topics.state('room')).toBe('joining')
  })

  it('LL-TOPIC-1: failed for a topic nobody wants still builds the error', () => {
    const error = new Topics().failed('x', 4303, 'later')
    expect(error).toMatchObject({ topic: 'x', code: 4303 })
  })
})

describe('Topics: members and presence (LL-PRESENCE-1, LL-PRESENCE-3)', () => {
  it('LL-PRESENCE-3: joined builds the member list, replacing any earlier one', () => {
    const topics = new Topics()
    void topics.want('room')
    topics.joined(
      joined('room', 10, [
        { sid: 'a', state: 'online', meta: { name: 'Ann' } },
        { sid: 'b', state: 'away' },
      ]),
    )
    expect(Object.fromEntries(topics.members('room'))).toEqual({
      a: { state: 'online', meta: { name: 'Ann' } },
      b: { state: 'away', meta: undefined },
    })
    topics.connectionLost()
    topics.joined(joined('room', 20, [{ sid: 'c', state: 'online' }]))
    expect([...topics.members('room').keys()]).toEqual(['c'])
  })

  it('LL-PRESENCE-1: presence above the members seq updates members: joined, away, reconnected, left', () => {
    const topics = new Topics()
    void topics.want('room')
    topics.joined(joined('room', 10, [{ sid: 'a', state: 'online' }]))
    topics.presence(presence('room', 11, 'b', 'joined', { name: 'Bo' }))
    expect(topics.members('room').get('b')).toEqual({ state: 'online', meta: { name: 'Bo' } })
    topics.presence(presence('room', 12, 'b', 'away', { name: 'Bo' }))
    expect(topics.members('room').get('b')?.state).toBe('away')
    topics.presence(presence('room', 13, 'b', 'reconnected', { name: 'Bo' }))
    expect(topics.members('room').get('b')?.state).toBe('online')
    topics.presence(presence('room', 14, 'a', 'left'))
    expect([...topics.members('room').keys()]).toEqual(['b'])
  })

  it('LL-PRESENCE-3: presence at or below membersSeq is history and does not change members', () => {
    const topics = new Topics()
    void topics.want('room')
    // A join with from=40: entries 41.. are replayed, members are as of 45.
    topics.joined(joined('room', 40, [{ sid: 'a', state: 'online' }], 45))
    topics.presence(presence('room', 41, 'a', 'left'))
    topics.presence(presence('room', 43, 'x', 'joined'))
    topics.presence(presence('room', 45, 'a', 'away'))
    expect(Object.fromEntries(topics.members('room'))).toEqual({ a: { state: 'online', meta: undefined } })
    topics.presence(presence('room', 46, 'a', 'away'))
    expect(topics.members('room').get('a')?.state).toBe('away')
  })

  it('LL-PRESENCE-3: without membersSeq, members are as of joined.seq', () => {
    const topics = new Topics()
    void topics.want('room')
    topics.joined(joined('room', 40, [{ sid: 'a', state: 'online' }]))
    topics.presence(presence('room', 40, 'a', 'left'))
    expect(topics.members('room').has('a')).toBe(true)
    topics.presence(presence('room', 41, 'a', 'left'))
    expect(topics.members('room').has('a')).toBe(false)
  })

  it('LL-PRESENCE-1: presence of an unknown topic is ignored; members of an unknown topic are empty', () => {
    const topics = new Topics()
    topics.presence(presence('nowhere', 1, 'a', 'joined'))
    expect(topics.members('nowhere').size).toBe(0)
    expect(topics.has('nowhere')).toBe(false)
  })
})

describe('Topics: connections (LL-TOPIC-5, LL-TOPIC-6)', () => {
  it('LL-TOPIC-5: connectionLost turns every topic back to joining; restored confirms it and resolves waiters', async () => {
    const topics = new Topics()
    void topics.want('a')
    void topics.want('b')
    topics.joined(joined('a', 1, [{ sid: 'm', state: 'online' }]))
    topics.connectionLost()
    expect(topics.state('a')).toBe('joining')
    expect(topics.state('b')).toBe('joining')
    // A join asked while offline waits for the next connection.
    const again = watch(topics.want('a'))
    const pendingB = watch(topics.want('b'))
    topics.restored('a')
    topics.restored('b')
    topics.restored('unknown')
    expect(topics.state('a')).toBe('joined')
    expect(topics.state('b')).toBe('joined')
    expect(topics.has('unknown')).toBe(false)
    // Members survive a resume: the replay brings the changes.
    expect([...topics.members('a').keys()]).toEqual(['m'])
    await flush()
    expect(again()).toBe('resolved')
    expect(pendingB()).toBe('resolved')
  })

  it('LL-CLIENT-5: failAll rejects every pending join with the error and keeps the wishes', async () => {
    const topics = new Topics()
    const a = watch(topics.want('a'))
    const b = watch(topics.want('b'))
    void topics.want('c')
    topics.joined(joined('c', 1))
    const error = new Error('closed')
    topics.failAll(error)
    await flush()
    expect(a()).toBe(error)
    expect(b()).toBe(error)
    expect(topics.names()).toEqual(['a', 'b', 'c'])
    // Each waiter is settled once: a later joined changes nothing for them.
    topics.joined(joined('a', 1))
    await flush()
    expect(a()).toBe(error)
  })
})
