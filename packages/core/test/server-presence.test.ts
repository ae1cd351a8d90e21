import { describe, expect, it } from 'vitest'
import { hello, type RawClient, rawClient, settle, world } from './helpers.js'

type W = Awaited<ReturnType<typeof world>>

async function member(w: W, id: string, topic: string): Promise<RawClient> {
  const c = rawClient(w.network, id)
  await settle()
  c.send(hello({ auth: id }))
  await settle()
  c.send({ type: 'join', topic })
  await settle()
  return c
}

const topicSeq = (c: RawClient) =>
  Math.max(0, ...c.frames.map((f) => (f.topic !== undefined ? Number(f.seq) : 0)))
const of = (c: RawClient, type: string) => c.frames.filter((f) => f.type === type)

describe('presence at scale', () => {
  it('LL-PRESENCE-5: a whole room dropping at once does not evict the messages a member missed', async () => {
    // A log that keeps 5 messages; 40 members going away write 40 presence entries.
    const w = await world({
      memory: { topicLog: { maxEntries: 5 } },
      authenticate: (auth) => ({ subject: String(auth) }),
    })
    const watcher = await member(w, 'watcher', 'room')
    const others: RawClient[] = []
    for (let i = 0; i < 40; i++) others.push(await member(w, `m${i}`, 'room'))
    await settle()
    const cursor = topicSeq(watcher)
    const memento = watcher.last('welcome')?.memento
    watcher.close()
    await settle()
    for (let i = 1; i <= 3; i++) await w.server.publish('room', { n: i })
    for (const other of others) other.close()
    await settle()
    expect(w.server.stats.away).toBe(41)
    const back = rawClient(w.network, 'watcher-2')
    await settle()
    back.send(hello({ auth: 'watcher', resume: { memento, seq: 0, topics: { room: cursor } } }))
    await settle()
    expect(back.last('welcome')).toMatchObject({ resumed: true, recovered: true })
    expect(of(back, 'msg').map((f) => f.data)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }])
    expect(of(back, 'presence').filter((f) => f.event === 'away')).toHaveLength(41)
  })

  it('LL-PRESENCE-6: a topic without presence lists no members, says so, and publishes no presence', async () => {
    const w = await world({
      presence: (topic) => topic !== 'big',
      authenticate: (auth) => ({ subject: String(auth) }),
    })
    const a = await member(w, 'a', 'big')
    expect(a.last('joined')).toEqual({
      type: 'joined',
      topic: 'big',
      seq: 0,
      epoch: expect.any(String),
      members: [],
      presence: false,
    })
    const b = await member(w, 'b', 'big')
    b.send({ type: 'join', topic: 'big' }) // LL-TOPIC-3: joined again, still without members
    await settle()
    expect(b.last('joined')).toMatchObject({ members: [], presence: false })
    b.close()
    await settle()
    await w.server.publish('big', 'hello')
    await settle()
    expect(of(a, 'presence')).toEqual([])
    expect(of(a, 'msg').map((f) => f.seq)).toEqual([1])
    expect(w.server.members('big')).toEqual([])
    // Other topics keep their presence.
    a.send({ type: 'join', topic: 'small' })
    await settle()
    expect(a.last('joined')?.presence).toBeUndefined()
    expect(of(a, 'presence')).toHaveLength(1)
  })

  it('LL-PRESENCE-6: the client reports a topic without presence on its joined event', async () => {
    const w = await world({ presence: (topic) => topic !== 'big' })
    const client = w.client('c1')
    const joined: unknown[] = []
    client.on('joined', (event) => joined.push(event))
    client.connect()
    await settle()
    await Promise.all([client.join('big'), client.join('small')])
    expect(joined).toEqual([
      { topic: 'big', recovered: undefined, presence: false, seq: 0 },
      { topic: 'small', recovered: undefined, presence: true, seq: 0 },
    ])
    expect(client.members('big').size).toBe(0)
    client.close()
  })

  it('LL-PRESENCE-7: presence in a big topic waits at most presenceBatchMs, and leaves with a message in order', async () => {
    const w = await world({ presenceBatchMs: 50, authenticate: (auth) => ({ subject: String(auth) }) })
    const members: RawClient[] = []
    for (let i = 0; i < 100; i++) members.push(await member(w, `m${i}`, 'room'))
    await w.advance(50)
    const first = members[0] as RawClient
    const before = { frames: first.frames.length, payloads: first.payloads }
    // Ten more join in the same moment: the crowd's presence waits and leaves as one transport message.
    for (let i = 0; i < 10; i++) await member(w, `late${i}`, 'room')
    expect(first.frames.length).toBe(before.frames)
    await w.advance(50)
    expect(first.frames.length).toBe(before.frames + 10)
    expect(first.payloads).toBe(before.payloads + 1)
    // A message takes waiting presence along, in seq order, without waiting.
    await member(w, 'last', 'room')
    await w.server.publish('room', 'now')
    await settle()
    const tail = first.frames.slice(-2)
    expect(tail.map((f) => f.type)).toEqual(['presence', 'msg'])
    expect(Number(tail[0]?.seq)).toBeLessThan(Number(tail[1]?.seq))
  })

  it('LL-PRESENCE-7: a small topic sends presence at once', async () => {
    const w = await world({ presenceBatchMs: 50, authenticate: (auth) => ({ subject: String(auth) }) })
    const a = await member(w, 'a', 'room')
    await member(w, 'b', 'room')
    expect(of(a, 'presence').map((f) => f.event)).toEqual(['joined', 'joined'])
  })
})
