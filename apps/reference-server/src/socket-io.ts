/**
 * Lifeline over Socket.IO on the reference server's own http.Server, beside the WebSocket endpoint: the
 * defaults of LL-SIO-4 (path /socket.io/, namespace /lifeline, event lifeline), so a session may start
 * on one and resume on the other (LL-RESUME-10).
 */
import type { Server as HttpServer } from 'node:http'
import { type SocketIoServerTransport, socketIoServerTransport } from '@lifeline/socket.io/server'
import { Server } from 'socket.io'

export const SOCKET_IO_PATH = '/socket.io/'

export interface SocketIoEndpoint {
  readonly io: Server
  readonly transport: SocketIoServerTransport
  /** Closes Socket.IO's engine (after the Lifeline server shut down and the HTTP server closed). */
  close(): Promise<void>
}

/**
 * Attaches Socket.IO to `http`. Call it after the app's own `request` listener is registered: Engine.IO
 * answers its path first and hands every other request to the listeners it found.
 */
export function attachSocketIo(
  http: HttpServer,
  allowedOrigins: readonly string[] | undefined,
): SocketIoEndpoint {
  // The browser client is bundled with the demo; cross-origin pages follow the same allowlist as ws.
  const io = new Server(http, {
    path: SOCKET_IO_PATH,
    serveClient: false,
    ...(allowedOrigins === undefined ? {} : { cors: { origin: [...allowedOrigins] } }),
  })
  const transport = socketIoServerTransport(io, {
    ...(allowedOrigins === undefined ? {} : { allowedOrigins: [...allowedOrigins] }),
  })
  return {
    io,
    transport,
    close: () => new Promise<void>((resolve) => void io.close(() => resolve())),
  }
}

/** Whether an upgrade request is Socket.IO's to take. */
export function isSocketIoPath(path: string | undefined): boolean {
  return path?.startsWith(SOCKET_IO_PATH) === true
}
