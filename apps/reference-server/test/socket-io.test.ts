/** The reference server serves Lifeline over WebSocket and Socket.IO at once (LL-SIO-4 defaults). */
import { createClient, type LifelineClient } from '@lifeline/core'
import { socketIoTransport } from '@lifeline/socket.io'
import { wsTransport } from '@lifeline/ws/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { raw, type TestServer, testServer } from './helpers.js'

const POLL = { timeout: 10_000, interval: 20 } as const

let server: TestServer
const clients: LifelineClient[] = []

beforeAll(async () => {
  server = await testServer()
})

afterAll(async () => {
  for (const client of clients) client.close()
  await server.close()
})

function chat(
  name: string,
  transport: ReturnType<typeof wsTransport>,
): { client: LifelineClient; texts: string[] } {
  const client = createClient({ transport, auth: { name } })
  clients.push(client)
  const texts: string[] = []
  client.on('message', (message) => void texts.push((message.data as { text: string }).text))
  client.connect()
  return { client, texts }
}

describe('the reference server over Socket.IO', () => {
  it('LL-SIO-4: one room over ws, Socket.IO websocket and Socket.IO long-polling at once; HTTP routes unharmed', async () => {
    const origin = `http://127.0.0.1:${server.port}`
    const people = [
      chat('ws', wsTransport(server.wsUrl)),
      chat('sio', socketIoTransport(origin, { transports: ['websocket'] })),
      chat('poll', socketIoTransport(origin, { transports: ['polling'] })),
    ]
    for (const { client } of people) await client.join('room:mixed')
    for (const { client } of people)
      await client.send({ text: `from ${client.sid}` }, { topic: 'room:mixed' })
    for (const { texts } of people) await expect.poll(() => texts.length, POLL).toBe(3)
    expect(new Set(people.map(({ texts }) => texts.join('|'))).size).toBe(1) // the same order everywhere
    expect(server.lifeline.stats.sessions).toBeGreaterThanOrEqual(3)
    expect((await raw(server.port, '/healthz')).status).toBe(200)
    expect((await raw(server.port, '/nowhere')).status).toBe(404)
  })
})
