import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  createClient,
  type InboundMessage,
  type LifelineClient,
  memoryStorage,
  SendRejectedError,
  type SessionEvent,
} from '@lifeline/core'
import { wsTransport } from '@lifeline/ws/node'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { chatClient, metricsOf, raw, sample, type TestServer, testServer } from './helpers.js'

const POLL = { timeout: 10_000, interval: 20 } as const

let fixture: string
let demoDir: string
let server: TestServer
const clients: LifelineClient[] = []

function track(client: LifelineClient): LifelineClient {
  clients.push(client)
  return client
}

beforeAll(async () => {
  fixture = await mkdtemp(join(tmpdir(), 'lifeline-reference-'))
  demoDir = join(fixture, 'demo')
  await mkdir(join(demoDir, 'assets'), { recursive: true })
  await writeFile(join(demoDir, 'index.html'), '<!doctype html><title>fixture demo</title>')
  await writeFile(join(demoDir, 'assets', 'index-B3xq9_Zk.js'), 'console.log("hashed")')
  await writeFile(join(demoDir, 'assets', 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>')
  await writeFile(join(demoDir, '.env'), 'TOP SECRET')
  await writeFile(join(fixture, 'secret.txt'), 'TOP SECRET')
  await symlink(join(fixture, 'secret.txt'), join(demoDir, 'leak.txt'))
  server = await testServer({ demoDir })
})

afterEach(() => {
  for (const client of clients.splice(0)) client.close()
})

afterAll(async () => {
  await server?.close()
  await rm(fixture, { recursive: true, force: true })
})

describe('health and metrics', () => {
  it('/healthz reports the sessions; /metrics moves when a session connects', async () => {
    const before = await metricsOf(server)
    const health = await fetch(`${server.url}healthz`)
    expect(health.status).toBe(200)
    expect(health.headers.get('content-type')).toMatch(/^application\/json/)
    const body = (await health.json()) as Record<string, unknown>
    expect(body).toMatchObject({ status: 'ok' })
    expect(Object.keys(body).sort()).toEqual(['away', 'connected', 'sessions', 'status', 'uptimeSeconds'])

    const client = track(chatClient(server, 'ada'))
    await expect.poll(() => client.status.type, POLL).toBe('open')

    const after = await metricsOf(server)
    expect(sample(after, 'lifeline_sessions_opened_total')).toBe(
      sample(before, 'lifeline_sessions_opened_total') + 1,
    )
    expect(sample(after, 'lifeline_sessions{state="connected"}')).toBeGreaterThanOrEqual(1)
    for (const name of [
      'lifeline_sessions',
      'lifeline_resumes_total',
      'lifeline_replayed_entries_total',
      'lifeline_drops_total',
      'lifeline_unrecoverable_total',
      'lifeline_sessions_ended_total',
      'lifeline_connections_refused_total',
    ]) {
      expect(after).toContain(`# TYPE ${name} `)
    }
    const healthAfter = (await (await fetch(`${server.url}healthz`)).json()) as { connected: number }
    expect(healthAfter.connected).toBeGreaterThanOrEqual(1)

    client.close()
    await expect
      .poll(async () => sample(await metricsOf(server), 'lifeline_sessions_ended_total{reason="bye"}'), POLL)
      .toBeGreaterThanOrEqual(1)
  })

  it('counts refused connections by code', async () => {
    const client = track(
      createClient({ transport: wsTransport(server.wsUrl), auth: { name: '   ' }, maxAttempts: 1 }),
    )
    client.connect()
    await expect.poll(() => client.status.type, POLL).toBe('closed')
    expect(
      sample(await metricsOf(server), 'lifeline_connections_refused_total{code="4003"}'),
    ).toBeGreaterThan(0)
  })
})

describe('static files', () => {
  it('serves the demo with content types and cache headers', async () => {
    const index = await raw(server.port, '/')
    expect(index.status).toBe(200)
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(index.headers['cache-control']).toBe('no-cache')
    expect(index.body).toContain('fixture demo')

    const head = await raw(server.port, '/index.html', 'HEAD')
    expect(head.status).toBe(200)
    expect(head.body).toBe('')

    const script = await raw(server.port, '/assets/index-B3xq9_Zk.js')
    expect(script.status).toBe(200)
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8')
    expect(script.headers['cache-control']).toBe('public, max-age=31536000, immutable')

    const logo = await raw(server.port, '/assets/logo.svg')
    expect(logo.headers['content-type']).toBe('image/svg+xml')
    expect(logo.headers['cache-control']).toBe('no-cache')

    expect((await raw(server.port, '/nothing-here.js')).status).toBe(404)
    expect((await raw(server.port, '/', 'POST')).status).toBe(405)
  })

  it.each([
    '/../secret.txt',
    '/../../../../etc/passwd',
    '/..%2fsecret.txt',
    '/%2e%2e/secret.txt',
    '/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
    '/..%5csecret.txt',
    '/%00',
    '/%E0%A4%A',
    '/.env',
    '/leak.txt',
  ])('refuses %s', async (path) => {
    const response = await raw(server.port, path)
    expect([400, 404]).toContain(response.status)
    expect(response.body).not.toContain('TOP SECRET')
    expect(response.body).not.toContain('root:')
  })

  it('answers the reconnect probe on /lifeline, and 426 to plain requests there', async () => {
    const probe = await raw(server.port, '/lifeline', 'HEAD')
    expect(probe.status).toBe(204)
    expect((await raw(server.port, '/lifeline')).status).toBe(426)
  })
})

describe('the chat app', () => {
  it('publishes each message to the room, once, and rejects what is not a chat message', async () => {
    const alice = track(chatClient(server, ' alice '))
    const bob = track(chatClient(server, 'bob'))
    const seen = { alice: [] as InboundMessage[], bob: [] as InboundMessage[] }
    alice.on('message', (m) => seen.alice.push(m))
    bob.on('message', (m) => seen.bob.push(m))
    await Promise.all([alice.join('room:lobby'), bob.join('room:lobby')])

    await alice.send({ text: '  hello  ' }, { topic: 'room:lobby' })
    await expect.poll(() => seen.bob.length, POLL).toBe(1)
    await expect.poll(() => seen.alice.length, POLL).toBe(1)
    expect(seen.bob[0]?.data).toEqual({
      id: expect.any(String),
      from: 'alice',
      text: 'hello',
      at: expect.any(Number),
      n: 1,
    })
    expect(seen.alice[0]?.data).toEqual(seen.bob[0]?.data)

    await expect(alice.send({ text: '' }, { topic: 'room:lobby' })).rejects.toBeInstanceOf(SendRejectedError)
    await expect(alice.send({ text: 'x'.repeat(501) }, { topic: 'room:lobby' })).rejects.toThrow(/500/)
    // Writing takes the right to join (any room here), not a membership: a new session resends what was
    // pending before it rejoins (LL-RESUME-6). The room gets it; alice, not a member, does not.
    await alice.send({ text: 'hi elsewhere' }, { topic: 'room:elsewhere' })
    await expect(alice.send({ text: 'hi' })).rejects.toThrow(/room/)
    await expect(alice.send({ text: 'hi' }, { topic: 'lobby' })).rejects.toThrow(/room/)
    await expect(alice.join('lobby')).rejects.toThrow()
    expect(seen.bob).toHaveLength(1)
    expect(seen.alice).toHaveLength(1)
  })
})

describe('/demo/drop', () => {
  it('kills the socket; the client goes away and resumes by itself, recovering everything; no memento in the logs (LL-MEMENTO-7)', async () => {
    const storage = memoryStorage()
    const dora = track(
      createClient({ transport: wsTransport(server.wsUrl), auth: { name: 'dora' }, storage }),
    )
    dora.connect()
    await dora.join('room:lobby')
    const sessions: SessionEvent[] = []
    const states: string[] = []
    dora.on('session', (event) => sessions.push(event))
    dora.on('status', (status) => states.push(status.type))
    const before = await metricsOf(server)
    const sid = dora.sid as string

    const response = await fetch(`${server.url}demo/drop?sid=${encodeURIComponent(sid)}`, { method: 'POST' })
    expect(response.status).toBe(204)

    await expect.poll(() => sessions.length, POLL).toBe(1)
    expect(sessions[0]).toMatchObject({ sid, resumed: true, recovered: true, resumeAsked: true })
    expect(states).toContain('connecting')
    expect(dora.status.type).toBe('open')
    expect(dora.wasReconnected).toBe(true)

    const after = await metricsOf(server)
    expect(sample(after, 'lifeline_drops_total')).toBe(sample(before, 'lifeline_drops_total') + 1)
    expect(sample(after, 'lifeline_resumes_total{recovered="true"}')).toBe(
      sample(before, 'lifeline_resumes_total{recovered="true"}') + 1,
    )
    expect(sample(after, 'lifeline_unrecoverable_total')).toBe(sample(before, 'lifeline_unrecoverable_total'))

    // LL-MEMENTO-7: the memento the client resumed with never shows up in the logs.
    const memento = storage.load()?.memento as string
    expect(memento.length).toBeGreaterThan(20)
    expect(server.logs.some((line) => line.includes(memento))).toBe(false)
    expect(server.logs.some((line) => line.includes('"msg":"session resumed"'))).toBe(true)
    for (const line of server.logs) {
      expect(JSON.parse(line)).toMatchObject({
        time: expect.any(String),
        level: expect.any(String),
        msg: expect.any(String),
      })
    }
  })

  it('answers 404 for an unknown session, 400 without sid, 405 for GET, 403 cross-origin', async () => {
    expect((await fetch(`${server.url}demo/drop?sid=s_nobody`, { method: 'POST' })).status).toBe(404)
    expect((await fetch(`${server.url}demo/drop`, { method: 'POST' })).status).toBe(400)
    expect((await fetch(`${server.url}demo/drop?sid=x`)).status).toBe(405)
    const cross = await raw(server.port, '/demo/drop?sid=x', 'POST', { Origin: 'https://evil.example' })
    expect(cross.status).toBe(403)
  })
})

describe('shutdown', () => {
  it('tells clients to go away and come back later (waiting, reason server), then stops', async () => {
    const own = await testServer({ demoDir })
    const client = createClient({ transport: wsTransport(own.wsUrl), auth: { name: 'eve' } })
    try {
      client.connect()
      await expect.poll(() => client.status.type, POLL).toBe('open')
      await own.close()
      await expect.poll(() => client.status, POLL).toMatchObject({ type: 'waiting', reason: 'server' })
      expect(own.http.listening).toBe(false)
      expect(own.logs.some((line) => line.includes('"msg":"stopped"'))).toBe(true)
    } finally {
      client.close()
      await own.close()
    }
  })
})
