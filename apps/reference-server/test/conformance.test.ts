/** Conformance mode: the test application and the control channel of spec/conformance.md. */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createClient, type LifelineClient } from '@lifeline/core'
import { wsTransport } from '@lifeline/ws/node'
import { afterEach, describe, expect, it } from 'vitest'
import { ConfigError, parseConfig } from '../src/config.js'
import { readSettings } from '../src/conformance.js'
import { type TestServer, testServer } from './helpers.js'

describe('conformance configuration', () => {
  it('is off by default, on with --conformance or CONFORMANCE=1', () => {
    expect(parseConfig([], {}).conformance).toBeUndefined()
    expect(parseConfig(['--conformance'], {}).conformance).toEqual({})
    expect(parseConfig(['--conformance', '--port', '0'], {})).toMatchObject({ conformance: {}, port: 0 })
    expect(parseConfig([], { CONFORMANCE: '1' }).conformance).toEqual({})
    expect(parseConfig([], { CONFORMANCE: 'false' }).conformance).toBeUndefined()
    expect(parseConfig(['--conformance=false'], { CONFORMANCE: '1' }).conformance).toBeUndefined()
    expect(() => parseConfig([], { CONFORMANCE: 'maybe' })).toThrow(ConfigError)
    expect(() => parseConfig([], { CONFORMANCE: 'maybe' })).toThrow(/CONFORMANCE must be true or false/)
  })

  it('reads reset settings over the control channel defaults', () => {
    expect(readSettings(undefined).settings).toEqual({
      graceMs: 3000,
      heartbeatMs: 25_000,
      heartbeatTimeoutMs: 10_000,
      maxTopics: 100,
      topicLogEntries: 1000,
      sessionLogEntries: 1000,
    })
    expect(readSettings({ graceMs: 0, maxTopics: 2, colour: 'red' })).toMatchObject({
      settings: { graceMs: 0, maxTopics: 2, heartbeatMs: 25_000 },
      ignored: ['colour'],
    })
    expect(() => readSettings({ heartbeatMs: 0 })).toThrow(/heartbeatMs must be a whole number/)
    expect(() => readSettings([])).toThrow(/settings must be an object/)
  })
})

describe('conformance mode', () => {
  let server: TestServer | undefined
  const clients: LifelineClient[] = []

  afterEach(async () => {
    for (const client of clients.splice(0)) client.close()
    await server?.close()
    server = undefined
  })

  const control = (path: string, body?: unknown) =>
    fetch(`${server?.controlUrl}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    }).then(async (response) => ({
      status: response.status,
      body: (await response.json()) as Record<string, unknown>,
    }))

  const events = async (after = 0) =>
    ((await control(`/events?after=${after}`)).body.events ?? []) as Array<Record<string, unknown>>

  function client(token: string): LifelineClient {
    const made = createClient({ transport: wsTransport(server?.wsUrl ?? ''), auth: { token } })
    clients.push(made)
    made.connect()
    return made
  }

  it('runs the test application and answers the control channel', async () => {
    server = await testServer({ conformance: {} })
    expect(server.controlUrl).toBe(`http://127.0.0.1:${server.port}/conformance`)
    expect((await control('')).body).toMatchObject({ ok: true, faults: [] })
    expect(await control('/reset', { settings: { graceMs: 1000, colour: 'red' } })).toEqual({
      status: 200,
      body: { ok: true, ignored: ['colour'] },
    })

    const alice = client('alice')
    const seen: unknown[] = []
    alice.on('message', (message) => seen.push(message.data))
    await expect.poll(() => alice.sid).toBeDefined()
    expect(await events()).toEqual([{ n: 1, event: 'attempt', sid: alice.sid, attempt: 0 }])

    await alice.join('room:1')
    await expect(alice.join('deny:1')).rejects.toThrow()
    await alice.send({ text: 'hi' }, { topic: 'room:1' })
    await expect(alice.send({ reject: true })).rejects.toThrow()
    expect(await events(1)).toEqual([{ n: 2, event: 'message', sid: alice.sid, data: { text: 'hi' } }])
    await expect.poll(() => seen).toEqual([{ from: 'alice', data: { text: 'hi' } }])

    expect((await control('/do', { action: 'publish', sid: alice.sid, data: { n: 1 } })).body).toEqual({
      ok: true,
    })
    await expect.poll(() => seen.length).toBe(2)
    expect((await control('/do', { action: 'kick', sid: 's_nobody' })).body).toEqual({
      ok: false,
      error: 'no session s_nobody',
    })
    expect(await control('/do', { action: 'dance' })).toEqual({
      status: 400,
      body: { ok: false, error: 'unknown action "dance"' },
    })
    expect((await control('/reset', { settings: { heartbeatMs: -1 } })).status).toBe(400)
    expect((await control('/events?after=x')).status).toBe(400)

    // A restart cuts every link and forgets every session; the keys and the event log stay.
    const sid = alice.sid
    expect((await control('/do', { action: 'restart' })).body).toEqual({ ok: true })
    await expect.poll(() => alice.sid !== undefined && alice.sid !== sid).toBe(true)
    expect(alice.recovered).toBe(false)
    // The new session is a failed resume: the recover hook runs (no app memento was ever set).
    expect(await events(2)).toEqual([
      { n: 3, event: 'attempt', sid: alice.sid, attempt: 0 },
      { n: 4, event: 'recover', sid: alice.sid },
    ])

    expect((await control('/reset', {})).body).toEqual({ ok: true })
    // A reset forgets the events too: numbering starts again (alice may already be back, as a new session).
    const after = await events()
    expect(after.map((event) => event.n)).toEqual([1, 2].slice(0, after.length))
    expect(after.every((event) => event.n !== 4)).toBe(true)
  })

  it('says bye 4200 on shutdown and still takes resumes', async () => {
    server = await testServer({ conformance: true })
    const bob = client('bob')
    await expect.poll(() => bob.sid).toBeDefined()
    const sid = bob.sid
    const statuses: string[] = []
    bob.on('status', (status) => statuses.push(status.type))
    expect((await control('/do', { action: 'shutdown', retryAfterMs: 0, jitterMs: 0 })).body).toEqual({
      ok: true,
    })
    await expect.poll(() => statuses.includes('waiting')).toBe(true)
    await expect.poll(() => bob.status.type, { timeout: 5000 }).toBe('open')
    expect(bob.sid).toBe(sid)
    expect(bob.recovered).toBe(true)
  })

  it('can be started with deliberate faults', async () => {
    server = await testServer({ conformance: { faults: ['no-rotate', 'duplicate-replay'] } })
    expect((await control('')).body).toMatchObject({ faults: ['no-rotate', 'duplicate-replay'] })
  })
})

describe('lifeline-server --conformance', () => {
  it('prints its endpoints and exits 0 on SIGTERM', { timeout: 30_000 }, async () => {
    const main = fileURLToPath(new URL('../src/main.ts', import.meta.url))
    const child = spawn(process.execPath, ['--import', 'tsx', main, '--conformance', '--port', '0'], {
      env: { ...process.env, LIFELINE_SECRET: '', PORT: '', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    try {
      await expect
        .poll(() => stdout, { timeout: 20_000, interval: 50 })
        .toMatch(
          /conformance mode \(tests only\): ws:\/\/127\.0\.0\.1:\d+\/lifeline, control channel http:\S+\/conformance$/m,
        )
      const controlUrl = /control channel (http:\S+)$/m.exec(stdout)?.[1] as string
      const reset = await fetch(`${controlUrl}/reset`, { method: 'POST', body: '{"settings":{}}' })
      expect(await reset.json()).toEqual({ ok: true })
      expect(stderr).not.toMatch(/WARNING/) // a random secret is what a test server wants
      child.kill('SIGTERM')
      expect(await exited).toBe(0)
    } finally {
      child.kill('SIGKILL')
    }
  })
})
