/**
 * Socket.IO as a baseline, configured as its users would for the same job: WebSocket only (no polling
 * upgrade), connection state recovery on where a drop must not lose messages.
 */
import { createServer } from 'node:http'
import { Server } from 'socket.io'

export interface SocketIoSide {
  readonly io: Server
  readonly url: string
  /** 'm' events received from clients. */
  received: number
  close(): Promise<void>
}

export async function startSocketIo(recovery: boolean): Promise<SocketIoSide> {
  const http = createServer()
  const io = new Server(http, {
    transports: ['websocket'],
    serveClient: false,
    perMessageDeflate: false,
    ...(recovery
      ? { connectionStateRecovery: { maxDisconnectionDuration: 120_000, skipMiddlewares: true } }
      : {}),
  })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  const port = (http.address() as { port: number }).port
  const side: SocketIoSide = {
    io,
    url: `http://127.0.0.1:${port}`,
    received: 0,
    close: async () => {
      io.disconnectSockets(true)
      await new Promise<void>((resolve) => io.close(() => resolve()))
    },
  }
  io.on('connection', (socket) => {
    socket.on('join', (room: string, ack?: () => void) => {
      void socket.join(room)
      ack?.()
    })
    socket.on('m', (_data: unknown, ack?: () => void) => {
      side.received++
      ack?.()
    })
  })
  return side
}
