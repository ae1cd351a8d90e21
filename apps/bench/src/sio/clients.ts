/**
 * The Socket.IO client sides, run in a peer process: a Lifeline client over Socket.IO, or a plain
 * socket.io-client socket counting its `m` events. Both parse what arrives (Socket.IO does it for them).
 */
import { createClient, inertEnvironment, type LifelineClient } from '@lifeline/core'
import { socketIoTransport } from '@lifeline/socket.io'
import { io, type Socket } from 'socket.io-client'
import { countArrived, resetCount, waitForCount } from '../framework/counter.js'

const clients: LifelineClient[] = []
const sockets: Socket[] = []

/** One Lifeline client over Socket.IO's websocket transport; resolves with its session id once open. */
export function lifeline(args: { url: string }): Promise<string> {
  const client = createClient({
    transport: socketIoTransport(args.url, { transports: ['websocket'] }),
    environment: inertEnvironment,
  })
  clients.push(client)
  client.on('message', () => countArrived(1))
  const opened = new Promise<string>((resolve) => {
    const off = client.on('status', (status) => {
      if (status.type !== 'open') return
      off()
      resolve(client.sid as string)
    })
  })
  client.connect()
  return opened
}

/** A plain Socket.IO socket (websocket transport, as its users configure it for this job). */
export function plain(args: { url: string; event?: string }): Promise<void> {
  const socket = io(args.url, { transports: ['websocket'], forceNew: true })
  sockets.push(socket)
  socket.on(args.event ?? 'm', () => countArrived(1))
  return new Promise<void>((resolve) => socket.once('connect', () => resolve()))
}

let cpuAtReset = process.cpuUsage()

export function reset(): number {
  cpuAtReset = process.cpuUsage()
  return resetCount()
}

/** Once `total` arrived: this process's CPU (user + system, µs) since the reset, per message. */
export async function expect(args: { total: number }): Promise<number> {
  await waitForCount(args.total)
  const used = process.cpuUsage(cpuAtReset)
  return (used.user + used.system) / args.total
}

export function close(): void {
  for (const client of clients.splice(0)) client.close()
  for (const socket of sockets.splice(0)) socket.close()
}
