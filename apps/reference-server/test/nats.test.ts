/**
 * The reference server as nodes of a cluster (`--nats`): two nodes on one nats-server share the
 * JetStream store and bus. A chat message sent to one node reaches the room's members on both, over
 * ws and over NATS, each once and in order.
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
})
