/**
 * LL-LIMIT-7 over Socket.IO: a client flooding sends at a slow asynchronous handler. Socket.IO cannot
 * pause a socket, so the transport pauses Engine.IO's (flow.ts): the `ws` socket on websocket, the next
 * POST on polling. A flooder ignoring the advertised window is held back by TCP on websocket; on
 * polling it piles its sends up on its side and its next POST, past the bound, ends it with 4105.
 * Either way the server holds a bounded backlog and a neighbour keeps working.
 */
import { createClient, inertEnvironment } from '@lifeline/core'
import { createServer, type LifelineServer } from '@lifeline/core/server'
import { waitFor } from '@lifeline/testkit'
import { io as connect, type Socket } from 'socket.io-client'
import { describe, expect, it } from 'vitest'
import { socketIoTransport } from '../src/index.js'
import { socketIoServerTransport } from '../src/server.js'
import { ioServer, MODES, type Mode, onCleanup } from './helpers.js'

const SECRET = 'x'.repeat(32)
const pad = 'x'.repeat(100)

interface Flooded {
  readonly server: LifelineServer
  readonly url: string
  readonly processed: { attacker: number; neighbour: number }
  /** Highest `stats.pendingSends` seen, sampled every 5 ms. */
  peak(): number
}

/** A Lifeline server on Socket.IO whose async handler takes 2 ms per send. */
async function floodedServer(maxPendingSends: number): Promise<Flooded> {
  const processed = { attacker: 0, neighbour: 0 }
  const { io, port } = await ioServer()
  const server = createServer({
    secret: SECRET,
    maxPendingSends,
    onMessage: async (message) => {
      await new Promise((resolve) => setTimeout(resolve, 2))
      if (message.data === 'n') processed.neighbour++
      else processed.attacker++
    },
  })
  await server.attach(socketIoServerTransport(io))
  onCleanup(() => server.shutdown())
  let peak = 0
  const sampler = setInterval(() => {
    peak = Math.max(peak, server.stats.pendingSends)
  }, 5)
  onCleanup(() => clearInterval(sampler))
  return { server, url: `http://127.0.0.1:${port}`, processed, peak: () => peak }
}

interface Raw {
  readonly socket: Socket
  readonly frames: Record<string, unknown>[]
}

/** A raw Socket.IO client on Lifeline's namespace that has said hello and got its welcome. */
async function rawClient(url: string, mode: Mode): Promise<Raw> {
  const socket = connect(`${url}/lifeline`, { transports: [mode], reconnection: false, forceNew: true })
  onCleanup(() => socket.disconnect())
  const frames: Record<string, unknown>[] = []
  socket.on('lifeline', (frame: Record<string, unknown>) => frames.push(frame))
  socket.emit('lifeline', { type: 'hello', versions: [1], attempt: 0 })
  await waitFor(() => frames.some((frame) => frame.type === 'welcome'), { what: 'the welcome' })
  return { socket, frames }
}

const sendFrame = (seq: number) => ({ type: 'send', seq, id: `a.${seq}`, data: pad })

/** A neighbour over Socket.IO in the same mode: its sends must go through while the flood lasts. */
async function neighbourSends(url: string, mode: Mode, processed: Flooded['processed']): Promise<void> {
  const neighbour = createClient({
    transport: socketIoTransport(url, { transports: [mode] }),
    environment: inertEnvironment,
  })
  onCleanup(() => neighbour.close())
  neighbour.connect()
  for (let i = 0; i < 20; i++) await neighbour.send('n')
  expect(processed.neighbour).toBe(20)
}

describe('LL-LIMIT-7: one Socket.IO client flooding sends at a slow async handler', () => {
  it('LL-LIMIT-7: over websocket, a flooder ignoring the window is held back by TCP (its ws socket is not read), holds a bounded backlog, and a neighbour keeps working', async () => {
    const flooded = await floodedServer(1000)
    const { socket, frames } = await rawClient(flooded.url, 'websocket')
    expect(frames[0]?.limits).toMatchObject({ maxPendingSends: 1000 })
    const ws = () =>
      (socket.io.engine as unknown as { transport: { ws?: { bufferedAmount: number } } }).transport.ws
    let seq = 0
    const pump = () => {
      while (seq < 40_000 && (ws()?.bufferedAmount ?? 0) < 4 * 1024 * 1024) {
        for (let i = 0; i < 200; i++) socket.emit('lifeline', sendFrame(++seq))
      }
      if (seq < 40_000 && socket.connected) setTimeout(pump, 5)
    }
    pump()
    await neighbourSends(flooded.url, 'websocket', flooded.processed)
    await waitFor(() => (ws()?.bufferedAmount ?? 0) > 0 && flooded.processed.attacker > 500, {
      what: 'the flooder to be held back by TCP',
      timeoutMs: 20_000,
    })
    expect(flooded.peak()).toBeLessThanOrEqual(1000)
    expect(flooded.peak()).toBeGreaterThan(100)
    // Held back, not refused: still connected, read again as the app catches up.
    expect(socket.connected).toBe(true)
    expect(frames.filter((frame) => frame.type === 'bye')).toEqual([])
  })

  it('LL-LIMIT-7: over polling, a flooder ignoring the window piles its sends up on its side; its next POST past the bound is closed with 4105, the backlog stays bounded, and a neighbour keeps working', async () => {
    const flooded = await floodedServer(1000)
    const { socket, frames } = await rawClient(flooded.url, 'polling')
    let seq = 0
    const pump = () => {
      for (let i = 0; i < 200; i++) socket.emit('lifeline', sendFrame(++seq))
      if (seq < 40_000 && socket.connected) setTimeout(pump, 5)
    }
    pump()
    await neighbourSends(flooded.url, 'polling', flooded.processed)
    await waitFor(() => frames.some((frame) => frame.type === 'bye'), { what: 'the bye', timeoutMs: 20_000 })
    expect(frames.find((frame) => frame.type === 'bye')).toMatchObject({ code: 4105 }) // BACKLOG_OVERFLOW
    expect(flooded.peak()).toBeLessThanOrEqual(1000)
    await waitFor(() => flooded.server.stats.pendingSends === 0, { what: 'the dropped backlog' })
  })

  it.each(MODES)(
    'LL-LIMIT-7: over %s, a burst past the advertised window is closed with 4105; its sends are dropped unprocessed and a neighbour is unaffected',
    async (mode) => {
      const flooded = await floodedServer(100)
      const { socket, frames } = await rawClient(flooded.url, mode)
      // 2,000 sends at once against a window of 100: they arrive together, faster than a pause can act.
      for (let seq = 1; seq <= 2000; seq++) socket.emit('lifeline', sendFrame(seq))
      await waitFor(() => frames.some((frame) => frame.type === 'bye'), { what: 'the bye' })
      expect(frames.find((frame) => frame.type === 'bye')).toMatchObject({ code: 4105 })
      await waitFor(() => !socket.connected, { what: 'the disconnect' })
      await waitFor(() => flooded.server.stats.pendingSends === 0, { what: 'the dropped backlog' })
      expect(flooded.processed.attacker).toBeLessThan(2000)
      await neighbourSends(flooded.url, mode, flooded.processed)
    },
  )

  it.each(MODES)(
    'LL-LIMIT-7: over %s, a Lifeline client keeping to the window is paused and resumed, never closed: 1,000 sends processed once, in order',
    async (mode) => {
      const { io, port } = await ioServer()
      const processed: number[] = []
      const server = createServer({
        secret: SECRET,
        maxPendingSends: 100,
        onMessage: async (message) => {
          await new Promise((resolve) => setTimeout(resolve, message.data === 1 ? 200 : 0))
          processed.push(message.data as number)
        },
      })
      const transport = socketIoServerTransport(io)
      await server.attach(transport)
      onCleanup(() => server.shutdown())
      let pauses = 0
      transport.namespace.on('connection', (socket) => {
        // Counts pauses of the Engine.IO connection underneath, whichever way the transport pauses it.
        const engine = socket.conn as unknown as { transport: { name: string; socket?: { pause(): void } } }
        const ws = engine.transport.socket
        if (ws !== undefined) {
          const pause = ws.pause.bind(ws)
          ws.pause = () => {
            pauses++
            pause()
          }
        }
      })
      const client = createClient({
        transport: socketIoTransport(`http://127.0.0.1:${port}`, { transports: [mode] }),
        environment: inertEnvironment,
        outbox: { maxMessages: 10_000 },
      })
      onCleanup(() => client.close())
      client.connect()
      const sends = Array.from({ length: 1000 }, (_, i) => client.send(i + 1))
      await Promise.all(sends)
      expect(processed).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1))
      expect(client.wasReconnected).toBe(false)
      if (mode === 'websocket') expect(pauses).toBeGreaterThan(0)
    },
  )
})

describe('LL-LIMIT-3: a Socket.IO client that stops reading', () => {
  it('LL-LIMIT-3: over websocket, what waits to be written is counted, and past maxBufferedBytes the server closes with 4202 SLOW_CONSUMER', async () => {
    const { io, port } = await ioServer()
    const server = createServer({ secret: SECRET, maxBufferedBytes: 256 * 1024 })
    await server.attach(socketIoServerTransport(io))
    onCleanup(() => server.shutdown())
    const away: number[] = []
    server.on('away', (event) => away.push(event.code))
    const { socket, frames } = await rawClient(`http://127.0.0.1:${port}`, 'websocket')
    const sid = String(frames[0]?.sid)
    // The client stops reading its WebSocket: the server's writes pile up in its `ws` socket.
    const { ws } = (
      socket.io.engine as unknown as { transport: { ws: { pause(): void; terminate(): void } } }
    ).transport
    ws.pause()
    onCleanup(() => ws.terminate()) // it reads nothing, not even a close frame
    // Up to 64 MiB: past whatever the kernel's socket buffers take before bytes wait in user space.
    const chunk = 'y'.repeat(16 * 1024)
    for (let i = 0; i < 4000 && away.length === 0; i++) {
      await server.send(sid, chunk).catch(() => {})
      await new Promise((resolve) => setImmediate(resolve))
    }
    await waitFor(() => away.length > 0, { what: 'the slow consumer to be cut off' })
    expect(away).toEqual([4202])
  })
})
