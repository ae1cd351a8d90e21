import { createServer as createHttpServer, type Server } from 'node:http'
import type { ClientTransport, CloseInfo, TransportConnection } from '@lifeline/core'
import { waitFor } from '@lifeline/testkit'
import { describe, expect, it, vi } from 'vitest'
import WebSocket, { WebSocketServer } from 'ws'
import { wsTransport as browserTransport } from '../src/index.js'
import { wsTransport } from '../src/node.js'
import { wsServerTransport } from '../src/server.js'
import { onCleanup, recorder } from './helpers.js'

interface Dialed {
  readonly link: TransportConnection
  readonly messages: string[]
  readonly protocolErrors: string[]
  readonly closes: CloseInfo[]
  opened: boolean
}

function dial(transport: ClientTransport): Dialed {
  const dialed: Omit<Dialed, 'link'> & { opened: boolean } = {
    messages: [],
    protocolErrors: [],
    closes: [],
    opened: false,
  }
  const link = transport.connect({
    open: () => {
      dialed.opened = true
    },
    message: (payload) => dialed.messages.push(String(payload)),
    protocolError: (reason) => dialed.protocolErrors.push(reason),
    close: (info) => dialed.closes.push(info),
  })
  onCleanup(() => link.close(1000, 'test over'))
  return Object.assign(dialed, { link })
}

async function serve() {
  const transport = wsServerTransport({ port: 0 })
  const rec = recorder()
  await transport.listen(rec.accept)
  onCleanup(() => transport.close())
  return { transport, rec, url: `ws://127.0.0.1:${transport.port}/lifeline` }
}

async function httpServer(handler: Parameters<typeof createHttpServer>[1]): Promise<Server> {
  const server = createHttpServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  )
  return server
}

const portOf = (server: Server) => {
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

describe('client transport', () => {
  it('carries text both ways and reports a binary message as a protocol error (LL-WS-1)', async () => {
    const { rec, url } = await serve()
    const client = dial(wsTransport(url))
    await waitFor(() => client.opened && rec.accepted.length === 1, { what: 'the connection' })
    const server = rec.accepted[0]
    client.link.send('{"type":"ping"}')
    server?.connection.send('{"type":"pong"}')
    await waitFor(() => client.messages.length === 1 && server?.messages.length === 1, {
      what: 'one each way',
    })
    expect(client.messages).toEqual(['{"type":"pong"}'])
    expect(server?.messages).toEqual(['{"type":"ping"}'])
    expect(client.protocolErrors).toEqual([])
  })

  it('reports binary from the server as a protocol error', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
    onCleanup(() => new Promise((resolve) => wss.close(resolve)))
    wss.on('connection', (socket) => socket.send(Buffer.from([0, 1])))
    await new Promise((resolve) => wss.once('listening', resolve))
    const address = wss.address()
    if (address === null || typeof address === 'string') throw new Error('no port')
    const client = dial(wsTransport(`ws://127.0.0.1:${address.port}/`))
    await waitFor(() => client.protocolErrors.length === 1, { what: 'the protocol error' })
    expect(client.protocolErrors[0]).toMatch(/binary/)
    expect(client.messages).toEqual([])
  })

  it('reports close exactly once when closed before it opened', async () => {
    const { url } = await serve()
    const client = dial(wsTransport(url))
    client.link.close(1000, 'never mind')
    await waitFor(() => client.closes.length === 1, { what: 'the close' })
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(client.closes).toHaveLength(1)
    expect(client.closes[0]?.clean).toBe(false)
    expect(client.opened).toBe(false)
  })

  it('reports a failed dial as one unclean close', async () => {
    const { transport, url } = await serve()
    await transport.close()
    const client = dial(wsTransport(url))
    await waitFor(() => client.closes.length === 1, { what: 'the failed dial' })
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(client.closes).toEqual([{ code: 1006, reason: '', clean: false }])
  })

  it('closes with any code and reason without throwing: 1000 for invalid codes, reasons cut to fit', async () => {
    const { rec, url } = await serve()
    const client = dial(wsTransport(url))
    await waitFor(() => client.opened && rec.accepted.length === 1, { what: 'the connection' })
    client.link.close(1006, 'é'.repeat(200))
    await waitFor(() => rec.accepted[0]?.closed !== undefined, { what: 'the server to see the close' })
    expect(rec.accepted[0]?.closed).toMatchObject({ code: 1000, reason: 'é'.repeat(41), clean: true })
    await waitFor(() => client.closes.length === 1, { what: 'the client close' })
  })

  it('refuses more than maxPayload from the server with 1009 (Node default 1 MiB)', async () => {
    const { rec, url } = await serve()
    const client = dial(wsTransport(url))
    await waitFor(() => client.opened && rec.accepted.length === 1, { what: 'the connection' })
    rec.accepted[0]?.connection.send('x'.repeat(1024 * 1024 + 1))
    // ws stops reading once it refuses a message, so the client itself sees the link fail (1006).
    await waitFor(() => client.closes.length === 1 && rec.accepted[0]?.closed !== undefined, {
      what: 'both closes',
    })
    expect(rec.accepted[0]?.closed?.code).toBe(1009)
    expect(client.messages).toEqual([])
  })

  it('the browser entry needs a WebSocket: a clear error without one, any lookalike with one', async () => {
    vi.stubGlobal('WebSocket', undefined)
    onCleanup(() => vi.unstubAllGlobals())
    expect(() => browserTransport('ws://localhost/lifeline')).toThrow(
      /no global WebSocket.*@lifeline\/ws\/node/,
    )
    const { rec, url } = await serve()
    const client = dial(browserTransport(url, { WebSocket, protocols: ['lifeline.v1'] }))
    await waitFor(() => client.opened && rec.accepted.length === 1, { what: 'the connection' })
    expect(browserTransport(url, { WebSocket })).toMatchObject({ name: 'ws', encoding: 'text' })
  })
})

describe('client probe (LL-CLIENT-3, LL-WS-5)', () => {
  it('has no probe unless asked', () => {
    expect(wsTransport('ws://localhost/lifeline').probe).toBeUndefined()
  })

  it('derives the HTTP URL from the WebSocket URL and follows drains', async () => {
    const { transport, url } = await serve()
    const probe = wsTransport(url, { probe: true }).probe
    expect(await probe?.()).toBe(true)
    transport.drain(10_000)
    expect(await probe?.()).toBe(false)
  })

  it('probes a given URL: 2xx and unknown 4xx say yes; 503, 500, 429, timeouts and refusals say no', async () => {
    const statuses: Record<string, number> = {
      '/ok': 200,
      '/gone': 404,
      '/busy': 503,
      '/err': 500,
      '/slow': 429,
    }
    const methods: string[] = []
    const server = await httpServer((req, res) => {
      methods.push(req.method ?? '')
      if (req.url === '/hang') return
      res.writeHead(statuses[req.url ?? ''] ?? 200).end()
    })
    const base = `http://127.0.0.1:${portOf(server)}`
    const probe = (path: string) =>
      wsTransport('ws://unused/', { probe: `${base}${path}`, probeTimeoutMs: 200 }).probe?.()
    expect(await probe('/ok')).toBe(true)
    expect(await probe('/gone')).toBe(true)
    expect(await probe('/busy')).toBe(false)
    expect(await probe('/err')).toBe(false)
    expect(await probe('/slow')).toBe(false)
    expect(await probe('/hang')).toBe(false)
    expect(new Set(methods)).toEqual(new Set(['HEAD']))
    const refused = portOf(server)
    await new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
    expect(await wsTransport('ws://unused/', { probe: `http://127.0.0.1:${refused}/` }).probe?.()).toBe(false)
  })
})
