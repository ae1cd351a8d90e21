/**
 * The server sides, in the bench process: Lifeline over ws, and raw `ws` sending the same payloads
 * one message at a time or batched per tick the way Lifeline batches (LL-WS-2).
 */
import { createServer, type LifelineServer, type ServerOptions } from '@lifeline/core/server'
import { MAX_BATCH_FRAMES } from '@lifeline/protocol'
import { wsServerTransport } from '@lifeline/ws/server'
import { type WebSocket, WebSocketServer } from 'ws'

export const SECRET = 'bench-secret-bench-secret-bench-secret'

/** A typical chat message, varied so nothing is cached by accident. */
export const payloads = Array.from({ length: 1000 }, (_, i) => ({
  from: `user${i % 50}`,
  text: `message ${i}: the quick brown fox jumps over the lazy dog`,
  at: 1_763_000_000_000 + i,
}))

export interface LifelineSide {
  readonly server: LifelineServer
  readonly url: string
  close(): Promise<void>
}

/** Each client authenticates as its own subject (`auth` is its name), as real users would. */
export async function startLifeline(options: ServerOptions = {}): Promise<LifelineSide> {
  const transport = wsServerTransport({ port: 0 })
  const server = createServer({
    secret: SECRET,
    authenticate: (auth) => ({ subject: typeof auth === 'string' ? auth : 'anonymous' }),
    ...options,
  })
  await server.attach(transport)
  return {
    server,
    url: `ws://127.0.0.1:${transport.port}/lifeline`,
    close: () => server.shutdown({ jitterMs: 0 }),
  }
}

/** Raw ws: every text message received is counted (a JSON array counts its elements). */
export interface RawSide {
  readonly url: string
  readonly sockets: WebSocket[]
  /** Messages received from clients (after JSON.parse, as an app would). */
  received: number
  /** Sends one payload to a socket: one ws message, or queued for this tick's batch. */
  send(socket: WebSocket, text: string): void
  /** Waits until `count` sockets are connected. */
  connected(count: number): Promise<void>
  close(): Promise<void>
}

export async function startRaw(batched: boolean): Promise<RawSide> {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    perMessageDeflate: false,
    clientTracking: false,
  })
  await new Promise<void>((resolve) => wss.once('listening', resolve))
  const port = (wss.address() as { port: number }).port
  const sockets: WebSocket[] = []
  const waiters: Array<() => void> = []
  const queues = new Map<WebSocket, string[]>()
  let dirty: WebSocket[] = []
  const flush = () => {
    const list = dirty
    dirty = []
    for (const socket of list) {
      const queue = queues.get(socket) ?? []
      queues.delete(socket)
      for (let i = 0; i < queue.length; i += MAX_BATCH_FRAMES) {
        const chunk = queue.slice(i, i + MAX_BATCH_FRAMES)
        socket.send(chunk.length === 1 ? (chunk[0] as string) : `[${chunk.join(',')}]`)
      }
    }
  }
  const side: RawSide = {
    url: `ws://127.0.0.1:${port}`,
    sockets,
    received: 0,
    send: batched
      ? (socket, text) => {
          let queue = queues.get(socket)
          if (queue === undefined) {
            queue = []
            queues.set(socket, queue)
            if (dirty.length === 0) queueMicrotask(flush)
            dirty.push(socket)
          }
          queue.push(text)
        }
      : (socket, text) => socket.send(text),
    connected: (count) =>
      new Promise<void>((resolve) => {
        if (sockets.length >= count) return resolve()
        waiters.push(() => sockets.length >= count && resolve())
      }),
    close: async () => {
      for (const socket of sockets) socket.terminate()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
    },
  }
  wss.on('connection', (socket) => {
    sockets.push(socket)
    socket.on('message', (data) => {
      const parsed: unknown = JSON.parse(data.toString())
      side.received += Array.isArray(parsed) ? parsed.length : 1
    })
    for (const waiter of waiters) waiter()
  })
  return side
}

/** Resolves when `read()` reaches `target`, checking every few ms (for counts kept in this process). */
export function until(read: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  return new Promise<void>((resolve, reject) => {
    const check = () => {
      if (read()) return resolve()
      if (performance.now() > deadline) return reject(new Error('timed out'))
      setTimeout(check, 1)
    }
    check()
  })
}
