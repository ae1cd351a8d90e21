/** App mementos a client app can read: the session's value (LL-APPM-5) and each topic's (LL-APPM-6..8). */
import { describe, expect, it } from 'vitest'
import { type LifelineClient, memoryStorage, type StoredSession } from '../src/index.js'
import { MemoryStore, type RecoverContext } from '../src/server.js'
import { SimulatedClock } from '../src/testing.js'
import { settle, type World, world } from './helpers.js'

type Frame = { readonly type: string } & Readonly<Record<string, unknown>>

function received(w: World): Map<string, Frame[]> {
  const log = new Map<string, Frame[]>()
  w.network.tap = (client, direction, payload) => {
    if (direction !== 's2c') return
    const value: unknown = typeof payload === 'string' ? JSON.parse(payload) : payload
    const frames = log.get(client) ?? []
    for (const frame of Array.isArray(value) ? value : [value]) frames.push(frame as Frame)
    log.set(client, frames)
  }
  return log
}

async function open(client: LifelineClient): Promise<void> {
  client.connect()
  await settle()
  expect(client.status.type).toBe('open')
}

async function member(w: World, id: string, topic = 'room', options = {}): Promise<LifelineClient> {
  const client = w.client(id, options)
  await open(client)
  await client.join(topic)
  return client
}

describe('topic app mementos', () => {
  it('LL-APPM-6: a publish with appMemento carries amv and no am on the shared entry, with no direct message per member', async () => {
    const store = new MemoryStore(new SimulatedClock())
    const w = await world({ store })
    const wire = received(w)
    const members = await Promise.all(['a', 'b', 'c'].map((id) => member(w, id)))
    await w.server.publish('room', { id: 7, text: 'hi' }, { appMemento: { lastId: 7 } })
    await settle()
    for (const id of ['a', 'b', 'c']) {
      const msgs = (wire.get(id) ?? []).filter((frame) => frame.type === 'msg')
      expect(msgs).toEqual([
        {
          type: 'msg',
          seq: expect.any(Number),
          topic: 'room',
          data: { id: 7, text: 'hi' },
          amv: { lastId: 7 },
        },
      ])
    }
    // One value per topic in the store; no session's direct stream got anything.
    expect(store.lastAppMemento('t:room')).toEqual({ seq: expect.any(Number), value: { lastId: 7 } })
    for (const client of members) expect(store.headNow(`d:${client.sid}`).lastSeq).toBe(0)
    for (const client of members) client.close()
  })

  it('LL-APPM-7: the client keeps a topic app memento once delivered, stores it with the cursor, and forgets it on leave', async () => {
    const w = await world()
    const saves: StoredSession[] = []
    const storage = { ...memoryStorage(), save: (session: StoredSession) => void saves.push(session) }
    const client = await member(w, 'c1', 'room', { storage })
    const seen: unknown[] = []
    client.on('message', () => seen.push(client.appMemento('room')))
    expect(client.appMemento('room')).toBeUndefined()
    await w.server.publish('room', 'one', { appMemento: { lastId: 1 } })
    await w.server.publish('room', 'plain')
    await w.server.publish('room', 'two', { appMemento: { lastId: 2 } })
    await w.advance(500)
    // While its message is delivered the app still has the previous value: it moves only after.
    expect(seen).toEqual([undefined, { lastId: 1 }, { lastId: 1 }])
    expect(client.appMemento('room')).toEqual({ lastId: 2 })
    expect(saves.at(-1)?.topicMementos).toEqual({ room: { lastId: 2 } })
    expect(saves.at(-1)?.cursors?.room).toBeGreaterThan(0)
    client.leave('room')
    await settle()
    expect(client.appMemento('room')).toBeUndefined()
    client.close()
  })

  it('LL-APPM-7: a reload restores the topic app memento with the cursor, before anything is replayed', async () => {
    const w = await world()
    const storage = memoryStorage()
    const first = await member(w, 'c1', 'room', { storage })
    await w.server.publish('room', 'm1', { appMemento: { lastId: 1 } })
    await w.advance(500)
    // The page goes away without a goodbye; a new page on the same storage resumes.
    w.network.client('c1').reset()
    await settle()
    const second = w.client('c2', { storage })
    const values: unknown[] = []
    second.on('session', () => values.push(second.appMemento('room')))
    await open(second)
    expect(values).toEqual([{ lastId: 1 }])
    expect(second.status).toMatchObject({ resumed: true, recovered: true })
    first.close()
    second.close()
  })

  it('LL-APPM-8: a late joiner gets the topic app memento as of joined.seq, in joined and in its joined event', async () => {
    const w = await world()
    const wire = received(w)
    const early = await member(w, 'a')
    await w.server.publish('room', 'm1', { appMemento: { lastId: 1 } })
    await w.server.publish('room', 'm2', { appMemento: { lastId: 2 } })
    await w.server.publish('room', 'no memento')
    const late = w.client('b')
    await open(late)
    const events: unknown[] = []
    late.on('joined', (event) => events.push(event))
    await late.join('room')
    const joined = (wire.get('b') ?? []).find((frame) => frame.type === 'joined')
    expect(joined).toMatchObject({ topic: 'room', amv: { lastId: 2 } })
    expect(events).toEqual([
      {
        topic: 'room',
        recovered: undefined,
        presence: true,
        seq: expect.any(Number),
        appMemento: { lastId: 2 },
      },
    ])
    // A topic that never had one: no amv.
    await late.join('quiet')
    const quiet = (wire.get('b') ?? []).find((frame) => frame.type === 'joined' && frame.topic === 'quiet')
    expect(quiet).not.toHaveProperty('amv')
    early.close()
    late.close()
  })

  it('LL-APPM-8: a rejoin that cannot recover brings the current value; one that recovers leaves it to the replay', async () => {
    const w = await world({ graceMs: 1000, memory: { topicLog: { maxEntries: 3 } } })
    const wire = received(w)
    const other = await member(w, 'other')
    const storage = memoryStorage()
    const client = await member(w, 'c1', 'room', { storage, retryDelay: () => 100 })
    await w.server.publish('room', 'm1', { appMemento: { lastId: 1 } })
    await w.advance(500)
    // Away past the grace, while the room moves on beyond what its log keeps.
    const transport = w.network.client('c1')
    transport.refusing = true
    transport.reset()
    for (let id = 2; id <= 6; id++) await w.server.publish('room', `m${id}`, { appMemento: { lastId: id } })
    await w.advance(1500)
    const joinedEvents: unknown[] = []
    client.on('joined', (event) => joinedEvents.push(event))
    transport.refusing = false
    await w.advance(200)
    expect(joinedEvents).toEqual([
      { topic: 'room', recovered: false, presence: true, seq: expect.any(Number), appMemento: { lastId: 6 } },
    ])
    // The app had { lastId: 1 } and now { lastId: 6 }: what it missed lies between, in its own storage.
    const joined = (wire.get('c1') ?? []).filter((frame) => frame.type === 'joined').at(-1)
    expect(joined).toMatchObject({ recovered: false, amv: { lastId: 6 } })
    other.close()
    client.close()
  })

  it('LL-APPM-8: joined carries no amv when an app memento was published after the join point', async () => {
    const w = await world({ graceMs: 1000 })
    const wire = received(w)
    const client = await member(w, 'c1', 'room', { retryDelay: () => 100 })
    await w.server.publish('room', 'm1', { appMemento: { lastId: 1 } })
    await w.advance(500)
    const transport = w.network.client('c1')
    transport.refusing = true
    transport.reset()
    await w.server.publish('room', 'm2', { appMemento: { lastId: 2 } })
    await w.advance(1500) // grace over: a new session rejoins with from = its cursor, still covered
    transport.refusing = false
    await w.advance(200)
    const joined = (wire.get('c1') ?? []).filter((frame) => frame.type === 'joined').at(-1)
    expect(joined).toMatchObject({ recovered: true })
    expect(joined).not.toHaveProperty('amv') // {lastId: 2} is after joined.seq: the replay brings it
    expect(client.appMemento('room')).toEqual({ lastId: 2 })
    client.close()
  })
})

describe('session app mementos', () => {
  it('LL-APPM-5: a resumed welcome carries the app memento with its readable value', async () => {
    const w = await world()
    const wire = received(w)
    const client = w.client('c1', { retryDelay: () => 100 })
    await open(client)
    await w.server.send(client.sid ?? '', 'state', { appMemento: { lastAnnotation: 812 } })
    await w.advance(300)
    w.network.client('c1').reset()
    await w.advance(200)
    const welcome = (wire.get('c1') ?? []).filter((frame) => frame.type === 'welcome').at(-1)
    expect(welcome).toMatchObject({ resumed: true, am: expect.any(String), amv: { lastAnnotation: 812 } })
    expect(client.appMemento()).toEqual({ lastAnnotation: 812 })
    client.close()
  })
})

describe('onRecover', () => {
  it('LL-APPM-3: sees the topics the client follows, in a new session before it rejoined them', async () => {
    const contexts: RecoverContext[] = []
    const w = await world({ graceMs: 1000, onRecover: (context) => void contexts.push(context) })
    const client = await member(w, 'c1', 'room', { retryDelay: () => 100 })
    await client.join('doc:9')
    await w.advance(500)
    const transport = w.network.client('c1')
    transport.refusing = true
    transport.reset()
    await w.advance(1500)
    transport.refusing = false
    await w.advance(200)
    expect(contexts).toHaveLength(1)
    expect(contexts[0]?.reason).toBe('expired')
    expect([...(contexts[0]?.topics ?? [])].sort()).toEqual(['doc:9', 'room'])
    client.close()
  })
})
