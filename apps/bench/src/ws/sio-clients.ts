/** Socket.IO clients in a peer process (see clients.ts for the Lifeline ones). */
import { io, type Socket } from 'socket.io-client'
import { countArrived } from '../framework/counter.js'

const sockets: Socket[] = []
let reconnectStarted = 0

export interface ConnectArgs {
  readonly url: string
  readonly count: number
  /** Joined (with an ack) before this returns. */
  readonly room?: string
  /** At-least-once sends: every emit waits for an ack, retried on timeout. */
  readonly retries?: boolean
}

export async function connect(args: ConnectArgs): Promise<number> {
  const pending: Promise<void>[] = []
  for (let i = 0; i < args.count; i++) {
    const socket = io(args.url, {
      transports: ['websocket'],
      forceNew: true,
      ...(args.retries === true ? { ackTimeout: 10_000, retries: 3 } : {}),
    })
    sockets.push(socket)
    socket.on('m', () => countArrived(1))
    const ready = new Promise<void>((resolve) => socket.once('connect', () => resolve()))
    const room = args.room
    pending.push(room === undefined ? ready : ready.then(() => join(socket, room)))
    if (pending.length % 200 === 0) await Promise.all(pending)
  }
  await Promise.all(pending)
  return sockets.length
}

function join(socket: Socket, room: string): Promise<void> {
  return new Promise<void>((resolve) => socket.emit('join', room, () => resolve()))
}

/** Every connected socket joins the room at once; resolves when every join was acked. */
export async function joinAll(args: { room: string }): Promise<void> {
  await Promise.all(sockets.map((socket) => join(socket, args.room)))
}

/** Drops every socket's transport, as a network failure would, and keeps them from reconnecting. */
export function drop(): number {
  for (const socket of sockets) {
    socket.io.reconnection(false)
    socket.io.engine.close()
  }
  return sockets.length
}

/** Reconnects every socket; connection state recovery replays what they missed. */
export function reconnect(): void {
  reconnectStarted = performance.now()
  for (const socket of sockets) {
    socket.io.reconnection(true)
    socket.connect()
  }
}

export function sinceReconnect(): number {
  return performance.now() - reconnectStarted
}

export function recovered(): number {
  return sockets.filter((socket) => socket.connected && socket.recovered).length
}

/** The first socket emits `count` messages; with retries, each is acked before the next leaves. */
export function send(args: { count: number }): void {
  const socket = sockets[0]
  if (socket === undefined) throw new Error('no socket')
  for (let i = 0; i < args.count; i++)
    socket.emit('m', { text: 'the quick brown fox jumps over the lazy dog', n: i })
}

export function close(): void {
  for (const socket of sockets.splice(0)) socket.close()
}
