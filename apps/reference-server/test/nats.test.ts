/**
 * The reference server as nodes of a cluster (`--nats`): two nodes on one nats-server share the
 * JetStream store and bus. A chat message sent to one node reaches the room's members on both, over
 * ws and over NATS, each once and in order; a ws client of a node that dies resumes on the other.
 */
import { createClient, inertEnvironment, type LifelineClient } from '@lifeline/core'
import { natsTransport } from '@lifeline/nats/node'
import { type NatsServer, startNatsServer, waitFor } from '@lifeline/testkit'
import { wsTransport } from '@lifeline/ws/node'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { parseConfig } from '../src/config.js'
import { type TestServer, testServer } from './helpers.js'

let nats: NatsServer
beforeAll(async () => {
  nats = await startNatsServer()
})
afterAll(() => nats.stop())

const running: (TestServer | LifelineClient)[] = []
afterEach(async () => {
  for (const item of running.splice(0).reverse()) {
    if ('lifeline' in item) await item.close()
    else item.close()
  }
})

interface Chat {
  readonly from: string
  readonly text: string
}

function member(client: LifelineClient, room: string): Chat[] {
  const seen: Chat[] = []
  client.on('message', (message) => {
    if (message.topic === room) seen.push(message.data as Chat)
  })
  running.push(client)
  client.connect()
  return seen
}

describe('reference server: --nats runs it as one node of a cluster', () => {
  it('parses --nats and --nats-replicas, and refuses what is not a NATS URL', () => {
    expect(parseConfig(['--nats', 'nats://a:4222,nats://b:4222', '--nats-replicas', '3'], {}).nats).toEqual({
      servers: ['nats://a:4222', 'nats://b:4222'],
      replicas: 3,
      prefix: 'lifeline',
    })
    expect(parseConfig([], { NATS_URL: 'nats://127.0.0.1:4222' }).nats).toEqual({
      servers: ['nats://127.0.0.1:4222'],
      replicas: 1,
      prefix: 'lifeline',
    })
    expect(parseConfig([], {}).nats).toBeUndefined()
    expect(() => parseConfig(['--nats', 'http://x'], {})).toThrow(/not a NATS URL/)
    expect(() => parseConfig(['--nats', 'nats://x:1', '--nats-replicas', '2'], {})).toThrow(/1, 3 or 5/)
  })

  it('two nodes share a room: ws clients on each node and a NATS client get every message once, in order', async () => {
    const a = await testServer({ nats: { servers: [nats.url], replicas: 1, prefix: 'lifeline' } })
    running.push(a)
    const b = await testServer({ nats: { servers: [nats.url], replicas: 1, prefix: 'lifeline' } })
    running.push(b)
    const room = 'room:lobby'
    const onA = createClient({
      transport: wsTransport(a.wsUrl),
      auth: { name: 'ann' },
      environment: inertEnvironment,
    })
    const onB = createClient({
      transport: wsTransport(b.wsUrl),
      auth: { name: 'bob' },
      environment: inertEnvironment,
    })
    const overNats = createClient({
      transport: natsTransport({ servers: nats.url }),
      auth: { name: 'nat' },
      environment: inertEnvironment,
    })
    const seen = [member(onA, room), member(onB, room), member(overNats, room)]
    for (const client of [onA, onB, overNats]) await client.join(room)
    for (let i = 1; i <= 10; i++)
      await (i % 2 === 0 ? onA : onB).send({ text: `hello ${i}` }, { topic: room })
    await overNats.send({ text: 'from NATS' }, { topic: room })
    await waitFor(() => seen.every((list) => list.length >= 11), { what: 'every message on every member' })
    const expected = [...Array.from({ length: 10 }, (_, i) => `hello ${i + 1}`), 'from NATS']
    for (const list of seen) expect(list.map((chat) => chat.text)).toEqual(expected)
    expect(a.lifeline.stats.sessions + b.lifeline.stats.sessions).toBe(3)
  })

  it('LL-NODE-3: a ws client of node A resumes on node B when A dies, recovered; nothing lost or duplicated either way', async () => {
    const config = { nats: { servers: [nats.url], replicas: 1, prefix: 'lifeline' } }
    const a = await testServer(config)
    running.push(a)
    const b = await testServer(config)
    running.push(b)
    const room = 'room:lobby'
    const target = { node: 0 }
    // One session, two ways in: A's ws endpoint, then B's once A is gone (a load balancer's failover).
    const mover = createClient({
      transport: [wsTransport(a.wsUrl), wsTransport(b.wsUrl)],
      transportPolicy: () => target.node,
      auth: { name: 'ann' },
      environment: inertEnvironment,
      retryDelay: () => 50,
    })
    const watcher = createClient({
      transport: wsTransport(b.wsUrl),
      auth: { name: 'bob' },
      environment: inertEnvironment,
    })
    const unrecovered: unknown[] = []
    mover.on('unrecovered', (event) => unrecovered.push(event))
    const [moverSeen, watcherSeen] = [member(mover, room), member(watcher, room)]
    await mover.join(room)
    await watcher.join(room)
    const sid = mover.sid
    const sends: Promise<unknown>[] = []
    for (let i = 1; i <= 10; i++) sends.push(mover.send({ text: `ann ${i}` }, { topic: room }))
    await waitFor(() => watcherSeen.length >= 5, { what: 'traffic before A dies' })
    target.node = 1
    // A crash as far as the cluster sees it: connections cut without a word, nothing more written.
    await a.lifeline.halt()
    for (let i = 11; i <= 20; i++) sends.push(mover.send({ text: `ann ${i}` }, { topic: room }))
    for (let i = 1; i <= 5; i++) await watcher.send({ text: `bob ${i}` }, { topic: room })
    await Promise.all(sends)
    await waitFor(() => moverSeen.length >= 25 && watcherSeen.length >= 25, { what: 'every message on both' })
    expect(mover.status).toMatchObject({ type: 'open', resumed: true, transport: 'ws' })
    expect(mover.sid).toBe(sid)
    expect(mover.recovered).toBe(true)
    expect(unrecovered).toEqual([])
    expect(b.lifeline.session(sid as string)).toBeDefined()
    const texts = (list: Chat[]) => list.map((chat) => chat.text)
    // The room's one order, on both: every message once (c2s processed once, s2c delivered once).
    expect(texts(moverSeen)).toEqual(texts(watcherSeen))
    expect(new Set(texts(moverSeen)).size).toBe(25)
    const of = (who: string) => texts(moverSeen).filter((text) => text.startsWith(who))
    expect(of('ann')).toEqual(Array.from({ length: 20 }, (_, i) => `ann ${i + 1}`))
    expect(of('bob')).toEqual(Array.from({ length: 5 }, (_, i) => `bob ${i + 1}`))
  })
})
