import { createServer as createHttpServer } from 'node:http'
import { createClient, inertEnvironment } from '@lifeline/core'
import { createServer } from '@lifeline/core/server'
import { waitFor } from '@lifeline/testkit'
import { describe, expect, it } from 'vitest'
import { WebSocketServer } from 'ws'
import { wsTransport } from '../src/node.js'
import { type WsServerOptions, type WsServerTransport, wsServerTransport } from '../src/server.js'
import { closeOf, onCleanup, recorder, upgrade } from './helpers.js'

async function serve(
  options: Omit<WsServerOptions, 'port' | 'server'> = {},
): Promise<{ transport: WsServerTransport; url: string; http: string; rec: ReturnType<typeof recorder> }> {
  const transport = wsServerTransport({ port: 0, ...options })
  const rec = recorder()
  await transport.listen(rec.accept)
  onCleanup(() => transport.close())
  const host = `127.0.0.1:${transport.port}`
  return { transport, url: `ws://${host}/lifeline`, http: `http://${host}`, rec }
}

const head = (url: string) => fetch(url, { method: 'HEAD' })

describe('LL-WS-4: origin allowlist', () => {
  it('refuses an unlisted origin with 403 before the upgrade, accepts a listed one and non-browsers', async () => {
    const { url, rec } = await serve({ allowedOrigins: ['https://app.example.com'] })
    expect((await upgrade(url, { origin: 'https://evil.example.com' })).status).toBe(403)
    expect((await upgrade(url, { origin: 'null' })).status).toBe(403)
    expect(rec.accepted).toHaveLength(0)
    expect((await upgrade(url, { origin: 'https://app.example.com' })).status).toBe(101)
    expect((await upgrade(url)).status).toBe(101)
    await waitFor(() => rec.accepted.length === 2, { what: 'two accepted connections' })
    expect(rec.accepted[0]?.connection.info).toMatchObject({
      transport: 'ws',
      origin: 'https://app.example.com',
      remoteAddress: '127.0.0.1',
    })
  })

  it('lets a function decide, requests without Origin included', async () => {
    const seen: (string | undefined)[] = []
    const { url } = await serve({
      allowedOrigins: (origin) => {
        seen.push(origin)
        return origin?.endsWith('.example.com') ?? false
      },
    })
    expect((await upgrade(url, { origin: 'https://a.example.com' })).status).toBe(101)
    expect((await upgrade(url, { origin: 'https://example.org' })).status).toBe(403)
    expect((await upgrade(url)).status).toBe(403)
    expect(seen).toEqual(['https://a.example.com', 'https://example.org', undefined])
  })
})

describe('LL-RESUME-9: request headers in ConnectionInfo', () => {
  it('keeps only the headers asked for (a trusted proxy header for the resume limit), none by default', async () => {
    const named = await serve({ headers: ['X-Forwarded-For'] })
    expect(
      (await upgrade(named.url, { headers: { 'x-forwarded-for': '198.51.100.7', cookie: 'a=b' } })).status,
    ).toBe(101)
    await waitFor(() => named.rec.accepted.length === 1, { what: 'the connection' })
    expect(named.rec.accepted[0]?.connection.info.headers).toEqual({ 'x-forwarded-for': '198.51.100.7' })
    const plain = await serve()
    expect((await upgrade(plain.url, { headers: { 'x-forwarded-for': '198.51.100.7' } })).status).toBe(101)
    await waitFor(() => plain.rec.accepted.length === 1, { what: 'the connection' })
    expect(plain.rec.accepted[0]?.connection.info.headers).toBeUndefined()
  })
})

describe('LL-WS-6: message size and compression', () => {
  it('accepts 1 MiB by default and closes with 1009 above it', async () => {
    const { url, rec } = await serve()
    const { socket } = await upgrade(url, { maxPayload: 4 * 1024 * 1024 })
    if (socket === undefined) throw new Error('no socket')
    socket.send('x'.repeat(1024 * 1024))
    await waitFor(() => rec.accepted[0]?.messages.length === 1, { what: 'the 1 MiB message' })
    socket.send('x'.repeat(1024 * 1024 + 1))
    expect((await closeOf(socket)).code).toBe(1009)
    await waitFor(() => rec.accepted[0]?.closed !== undefined, { what: 'the core to see the close' })
    expect(rec.accepted[0]?.messages).toHaveLength(1)
  })

  it('never negotiates permessage-deflate, even when the client offers it', async () => {
    const { url } = await serve()
    const { socket, headers } = await upgrade(url, { perMessageDeflate: true })
    expect(socket?.extensions).toBe('')
    expect(headers['sec-websocket-extensions']).toBeUndefined()
  })
})

describe('LL-WS-5: probes and the HTTP side of an owned server', () => {
  it('answers HEAD 204 while accepting, 503 with Retry-After while draining, 204 again after', async () => {
    const { transport, http } = await serve()
    const accepting = await head(`${http}/lifeline`)
    expect(accepting.status).toBe(204)
    expect(accepting.headers.get('access-control-allow-origin')).toBe('*')
    transport.drain(1500)
    const draining = await head(`${http}/lifeline?x=1`)
    expect(draining.status).toBe(503)
    expect(draining.headers.get('retry-after')).toBe('2')
    transport.drain(100)
    await waitFor(async () => (await head(`${http}/lifeline`)).status === 204, { what: 'the drain to end' })
  })

  it('answers 426 to other methods on the path, 404 elsewhere, and refuses upgrades elsewhere', async () => {
    const { http, transport } = await serve()
    const get = await fetch(`${http}/lifeline`)
    expect(get.status).toBe(426)
    expect(get.headers.get('upgrade')).toBe('websocket')
    expect((await fetch(`${http}/other`)).status).toBe(404)
    expect((await head(`${http}/other`)).status).toBe(404)
    expect((await upgrade(`ws://127.0.0.1:${transport.port}/other`)).status).toBe(404)
  })

  it('echoes an allowed origin for CORS when an allowlist is set, and none for others', async () => {
    const { http } = await serve({ allowedOrigins: ['https://app.example.com'] })
    const allowed = await fetch(`${http}/lifeline`, {
      method: 'HEAD',
      headers: { origin: 'https://app.example.com' },
    })
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.com')
    const other = await fetch(`${http}/lifeline`, {
      method: 'HEAD',
      headers: { origin: 'https://evil.example.com' },
    })
    expect(other.headers.get('access-control-allow-origin')).toBeNull()
  })
})

describe('attached to an existing http.Server', () => {
  it('takes only its own path, leaving other routes and upgrade handlers working', async () => {
    const app = createHttpServer((req, res) => {
      if (lifeline.handleProbe(req, res)) return
      res.writeHead(req.url === '/hello' ? 200 : 404).end(req.url === '/hello' ? 'hi' : '')
    })
    const other = new WebSocketServer({ noServer: true })
    other.on('connection', (socket) => socket.on('message', (data) => socket.send(`echo ${data}`)))
    app.on('upgrade', (req, socket, head) => {
      if (req.url === '/other') other.handleUpgrade(req, socket, head, (ws) => other.emit('connection', ws))
    })
    const lifeline = wsServerTransport({ server: app })
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', () => resolve()))
    onCleanup(
      () =>
        new Promise<void>((resolve) => {
          app.closeAllConnections()
          app.close(() => resolve())
        }),
    )
    const requestListeners = app.listenerCount('request')
    const rec = recorder()
    await lifeline.listen(rec.accept)
    expect(app.listenerCount('request')).toBe(requestListeners)
    expect(app.listenerCount('upgrade')).toBe(2)
    const base = `127.0.0.1:${lifeline.port}`

    expect(await (await fetch(`http://${base}/hello`)).text()).toBe('hi')
    expect((await head(`http://${base}/lifeline`)).status).toBe(204)
    expect((await upgrade(`ws://${base}/lifeline`)).status).toBe(101)
    await waitFor(() => rec.accepted.length === 1, { what: 'the Lifeline connection' })
    const echo = await echoOnce(`ws://${base}/other`)
    expect(echo).toBe('echo ping')

    await lifeline.close()
    await lifeline.close()
    expect(app.listenerCount('upgrade')).toBe(1)
    expect(await (await fetch(`http://${base}/hello`)).text()).toBe('hi')
    expect((await head(`http://${base}/lifeline`)).status).toBe(503)
    expect(await echoOnce(`ws://${base}/other`)).toBe('echo ping')
  })
})

describe('LL-WS-1, LL-WS-3: binary messages', () => {
  it('make the Lifeline server say bye 4000 and close with 4000', async () => {
    const server = createServer({ secret: 'security-secret-security-secret-secret' })
    const transport = wsServerTransport({ port: 0 })
    await server.attach(transport)
    onCleanup(() => server.shutdown())
    const { socket } = await upgrade(`ws://127.0.0.1:${transport.port}/lifeline`)
    if (socket === undefined) throw new Error('no socket')
    const frames: { type: string; code?: number; reconnect?: boolean }[] = []
    socket.on('message', (data) => frames.push(JSON.parse(data.toString())))
    socket.send(JSON.stringify({ type: 'hello', versions: [1], attempt: 0 }))
    await waitFor(() => frames.some((frame) => frame.type === 'welcome'), { what: 'welcome' })
    const closed = closeOf(socket)
    socket.send(Buffer.from([1, 2, 3]))
    expect((await closed).code).toBe(4000)
    expect(frames.at(-1)).toMatchObject({ type: 'bye', code: 4000, reconnect: false })
  })
})

async function echoOnce(url: string): Promise<string> {
  const { socket } = await upgrade(url)
  if (socket === undefined) throw new Error(`no upgrade at ${url}`)
  const reply = new Promise<string>((resolve) => socket.once('message', (data) => resolve(data.toString())))
  socket.send('ping')
  const text = await reply
  socket.close()
  return text
}

describe('LL-WS-3, LL-INTENT-5: closing the transport', () => {
  it("lets the core's byes out before cutting the sockets, even behind a backlog", async () => {
    const server = createServer({ secret: 'security-secret-security-secret-secret' })
    const transport = wsServerTransport({ port: 0 })
    await server.attach(transport)
    onCleanup(() => server.shutdown())
    const client = createClient({
      transport: wsTransport(`ws://127.0.0.1:${transport.port}/lifeline`),
      environment: inertEnvironment,
    })
    onCleanup(() => client.close())
    let received = 0
    client.on('message', () => received++)
    client.connect()
    await waitFor(() => client.status.type === 'open', { what: 'the client to open' })
    const sid = client.sid ?? ''
    await Promise.all(Array.from({ length: 7 }, () => server.send(sid, 'x'.repeat(900_000))))
    await server.shutdown({ retryAfterMs: 60_000, jitterMs: 0 })
    await waitFor(() => client.status.type === 'waiting', { what: 'the client to wait' })
    expect(client.status).toMatchObject({ type: 'waiting', reason: 'server', delayMs: 60_000 })
    expect(received).toBe(7)
  })
})

describe('LL-LIMIT-7: one connection flooding sends at a slow async handler', () => {
  it('LL-LIMIT-7: is held back by backpressure (its socket is not read), holds a bounded backlog, and a neighbour keeps working', async () => {
    const processed = { attacker: 0, neighbour: 0 }
    const server = createServer({
      secret: 'x'.repeat(32),
      maxPendingSends: 1000,
      onMessage: async (message) => {
        await new Promise((resolve) => setTimeout(resolve, 2))
        if (message.data === 'n') processed.neighbour++
        else processed.attacker++
      },
    })
    const transport = wsServerTransport({ port: 0 })
    await server.attach(transport)
    onCleanup(() => server.shutdown())
    const url = `ws://127.0.0.1:${transport.port}/lifeline`
    const { socket } = await upgrade(url)
    if (socket === undefined) throw new Error('no socket')
    socket.send(JSON.stringify({ type: 'hello', versions: [1], attempt: 0 }))
    const welcome = await new Promise<Record<string, unknown>>((resolve) =>
      socket.once('message', (data) => resolve(JSON.parse(String(data)) as Record<string, unknown>)),
    )
    expect(welcome.limits).toMatchObject({ maxPendingSends: 1000 })
    // The attacker ignores the advertised window: 40,000 sends as fast as its socket takes them.
    let seq = 0
    const pad = 'x'.repeat(100)
    const pump = () => {
      while (seq < 40_000 && socket.bufferedAmount < 4 * 1024 * 1024) {
        const batch = []
        for (let i = 0; i < 200; i++) batch.push({ type: 'send', seq: ++seq, id: `a.${seq}`, data: pad })
        socket.send(JSON.stringify(batch))
      }
      if (seq < 40_000) setTimeout(pump, 5)
    }
    pump()
    const neighbour = createClient({ transport: wsTransport(url), environment: inertEnvironment })
    neighbour.connect()
    onCleanup(() => neighbour.close())
    let peak = 0
    const sampler = setInterval(() => {
      peak = Math.max(peak, server.stats.pendingSends)
    }, 5)
    onCleanup(() => clearInterval(sampler))
    for (let i = 0; i < 20; i++) await neighbour.send('n')
    expect(processed.neighbour).toBe(20)
    await waitFor(() => socket.bufferedAmount > 0 && processed.attacker > 500, {
      what: 'the attacker to be held back by TCP',
      timeoutMs: 20_000,
    })
    expect(peak).toBeLessThanOrEqual(1000)
    expect(peak).toBeGreaterThan(100)
    // Held back, not refused: the socket stays open and is read again as the app catches up.
    expect(socket.readyState).toBe(socket.OPEN)
  })
})
