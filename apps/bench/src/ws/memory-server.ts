/** A server alone in a peer process, so its memory can be measured: Lifeline, raw ws or Socket.IO. */
import { collectGarbage } from '../framework/counter.js'
import { type LifelineSide, type RawSide, startLifeline, startRaw } from './servers.js'
import { type SocketIoSide, startSocketIo } from './sio.js'

let lifeline: LifelineSide | undefined
let raw: RawSide | undefined
let socketIo: SocketIoSide | undefined

export async function start(args: { kind: 'lifeline' | 'raw' | 'socket.io' }): Promise<string> {
  if (args.kind === 'lifeline') {
    lifeline = await startLifeline()
    return lifeline.url
  }
  if (args.kind === 'raw') {
    raw = await startRaw(false)
    return raw.url
  }
  socketIo = await startSocketIo(false)
  return socketIo.url
}

/** Connections (sessions) the server holds. */
export function connections(): number {
  if (lifeline !== undefined) return lifeline.server.stats.connected
  if (raw !== undefined) return raw.sockets.length
  return socketIo?.io.of('/').sockets.size ?? 0
}

/** RSS and heap after a full garbage collection. */
export async function measure(): Promise<{ rss: number; heap: number }> {
  await collectGarbage()
  const usage = process.memoryUsage()
  return { rss: usage.rss, heap: usage.heapUsed }
}
