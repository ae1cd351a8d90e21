import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { FaultProxy, freePort, sleep, waitFor } from '../src/index.js'

/** A TCP server that records what each connection sends, chunk by chunk, and can echo it back. */
interface Upstream {
  readonly port: number
  readonly sockets: Socket[]
  readonly chunks: string[]
  readonly closed: { hadError: boolean }[]
  stop(): Promise<void>
}

const cleanups: (() => Promise<void> | void)[] = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function upstream(echo: boolean): Promise<Upstream> {
  const sockets: Socket[] = []
  const chunks: string[] = []
  const closed: { hadError: boolean }[] = []
  const server: Server = createServer((socket) => {
    sockets.push(socket)
    socket.on('error', () => {})
    socket.on('data', (data) => {
      chunks.push(data.toString())
      if (echo) socket.write(data)
    })
    socket.on('close', (hadError) => closed.push({ hadError }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  const stop = async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  cleanups.push(stop)
  return { port: address.port, sockets, chunks, closed, stop }
}

async function proxyTo(port: number): Promise<{ proxy: FaultProxy; port: number }> {
  const proxy = new FaultProxy({ port })
  cleanups.push(() => proxy.close())
  return { proxy, port: await proxy.start() }
}

interface Dialed {
  readonly socket: Socket
  readonly received: string[]
  readonly events: string[]
}

function dial(port: number): Dialed {
  const socket = tcpConnect({ port, host: '127.0.0.1' })
  const dialed: Dialed = { socket, received: [], events: [] }
  socket.on('data', (data) => dialed.received.push(data.toString()))
  socket.on('error', (error: NodeJS.ErrnoException) => dialed.events.push(`error ${error.code}`))
  socket.on('end', () => dialed.events.push('end'))
  socket.on('close', () => dialed.events.push('close'))
  cleanups.push(() => void socket.destroy())
  return dialed
}

const joined = (parts: readonly string[]) => parts.join('')

describe('FaultProxy', () => {
  it('forwards both ways and counts connections and dials', async () => {
    const server = await upstream(true)
    const { proxy, port } = await proxyTo(server.port)
    const client = dial(port)
    client.socket.write('hello')
    await waitFor(() => joined(client.received) === 'hello', { what: 'the echo' })
    expect(proxy.connections).toBe(1)
    expect(proxy.dials).toBe(1)
    client.socket.end()
    await waitFor(() => proxy.connections === 0 && server.closed.length === 1, { what: 'the pair to close' })
    expect(server.closed).toEqual([{ hadError: false }])
  })

  it('delays by the latency and keeps order when the latency changes', async () => {
    const server = await upstream(false)
    const { proxy, port } = await proxyTo(server.port)
    const client = dial(port)
    await waitFor(() => server.sockets.length === 1, { what: 'the connection' })
    proxy.latency(80)
    const started = performance.now()
    client.socket.write('a')
    await sleep(10)
    proxy.latency(0) // a later chunk must not overtake the delayed one
    client.socket.write('b')
    await waitFor(() => joined(server.chunks) === 'ab', { what: 'both chunks' })
    expect(performance.now() - started).toBeGreaterThanOrEqual(75)
  })

  it('black-holes both ways while keeping the sockets open, then passes new data', async () => {
    const server = await upstream(true)
    const { proxy, port } = await proxyTo(server.port)
    const client = dial(port)
    client.socket.write('one')
    await waitFor(() => joined(client.received) === 'one', { what: 'the first echo' })
    proxy.blackhole()
    client.socket.write('lost')
    server.sockets[0]?.write('lost too')
    const late = dial(port) // a dial into the black hole never reaches the server
    await sleep(100)
    expect(joined(server.chunks)).toBe('one')
    expect(joined(client.received)).toBe('one')
    expect(server.sockets).toHaveLength(1)
    expect(client.events).toEqual([])
    proxy.pass()
    client.socket.write('two')
    await waitFor(() => joined(client.received) === 'onetwo', { what: 'the echo after pass' })
    expect(proxy.dials).toBe(2)
    expect(late.events).toEqual([])
  })

  it('resets every connection abruptly, on both sides', async () => {
    const server = await upstream(true)
    const { proxy, port } = await proxyTo(server.port)
    const client = dial(port)
    client.socket.write('x')
    await waitFor(() => joined(client.received) === 'x', { what: 'the echo' })
    proxy.reset()
    await waitFor(() => client.events.includes('close') && server.closed.length === 1, {
      what: 'both closes',
    })
    expect(client.events).toContain('error ECONNRESET')
    expect(server.closed).toEqual([{ hadError: true }])
    expect(proxy.connections).toBe(0)
  })

  it('drops every connection with a FIN on both sides, nothing else sent', async () => {
    const server = await upstream(true)
    const { proxy, port } = await proxyTo(server.port)
    const client = dial(port)
    client.socket.write('x')
    await waitFor(() => joined(client.received) === 'x', { what: 'the echo' })
    client.socket.on('end', () => client.events.push('end'))
    proxy.drop()
    await waitFor(() => client.events.includes('end') && server.closed.length === 1, {
      what: 'both ends',
    })
    expect(client.events.filter((event) => event.startsWith('error'))).toEqual([])
    expect(server.closed).toEqual([{ hadError: false }])
    expect(joined(client.received)).toBe('x')
    expect(proxy.connections).toBe(0)
  })

  it('limits bandwidth per direction, keeping order, and lifts the limit', async () => {
    const server = await upstream(false)
    const { proxy, port } = await proxyTo(server.port)
    const client = dial(port)
    await waitFor(() => server.sockets.length === 1, { what: 'the connection' })
    proxy.bandwidth(20_000) // 20 KB/s: 4 KB takes about 200 ms
    const started = performance.now()
    for (let i = 0; i < 4; i++) client.socket.write(String(i).repeat(1000))
    await waitFor(() => joined(server.chunks).length === 4000, { what: '4 KB' })
    expect(performance.now() - started).toBeGreaterThanOrEqual(150)
    expect(joined(server.chunks)).toBe(['0', '1', '2', '3'].map((d) => d.repeat(1000)).join(''))
    proxy.bandwidth(0)
    expect(proxy.bytesPerSecond).toBe(0)
    client.socket.write('y'.repeat(4000))
    await waitFor(() => joined(server.chunks).length === 8000, { what: 'the next 4 KB' })
  })

  it('slices every chunk while asked to', async () => {
    const server = await upstream(false)
    const { proxy, port } = await proxyTo(server.port)
    const client = dial(port)
    await waitFor(() => server.sockets.length === 1, { what: 'the connection' })
    proxy.sliceAll(true)
    client.socket.write('abcd')
    await waitFor(() => server.chunks.length === 2, { what: 'two halves' })
    await sleep(20)
    client.socket.write('efgh')
    await waitFor(() => server.chunks.length === 4, { what: 'two more halves' })
    expect(server.chunks).toEqual(['ab', 'cd', 'ef', 'gh'])
    proxy.sliceAll(false)
  })

  it('refuses new connections while asked to, and accepts them again after', async () => {
    const server = await upstream(true)
    const { proxy, port } = await proxyTo(server.port)
    proxy.refuse(true)
    const refused = dial(port)
    await waitFor(() => refused.events.includes('close'), { what: 'the refused dial to close' })
    expect(server.sockets).toHaveLength(0)
    proxy.refuse(false)
    const accepted = dial(port)
    accepted.socket.write('ok')
    await waitFor(() => joined(accepted.received) === 'ok', { what: 'the echo' })
    expect(proxy.dials).toBe(2)
  })

  it('slices the next chunk into two writes, keeping every byte in order', async () => {
    const server = await upstream(false)
    const { proxy, port } = await proxyTo(server.port)
    const client = dial(port)
    await waitFor(() => server.sockets.length === 1, { what: 'the connection' })
    proxy.sliceNext()
    client.socket.write('0123456789')
    await waitFor(() => joined(server.chunks) === '0123456789', { what: 'the sliced chunk' })
    expect(server.chunks).toEqual(['01234', '56789'])
    client.socket.write('next')
    await waitFor(() => server.chunks.length === 3, { what: 'the next chunk, whole' })
    expect(server.chunks[2]).toBe('next')
  })

  it('closes: stops listening and drops its connections; safe twice', async () => {
    const server = await upstream(true)
    const { proxy, port } = await proxyTo(server.port)
    const client = dial(port)
    client.socket.write('x')
    await waitFor(() => joined(client.received) === 'x', { what: 'the echo' })
    await proxy.close()
    await proxy.close()
    await waitFor(() => client.events.includes('close'), { what: 'the client to be dropped' })
    const late = dial(port)
    await waitFor(() => late.events.includes('error ECONNREFUSED'), { what: 'a refused dial' })
  })
})

describe('freePort and waitFor', () => {
  it('finds a port that can be listened on', async () => {
    const port = await freePort()
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()))
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })

  it('waits for a condition, and times out naming what it waited for', async () => {
    let ready = false
    setTimeout(() => {
      ready = true
    }, 20)
    await waitFor(() => ready)
    await expect(waitFor(() => false, { timeoutMs: 30, what: 'godot' })).rejects.toThrow(/waiting for godot/)
  })
})
