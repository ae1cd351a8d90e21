/**
 * @lifeline/socket.io: the client transport over socket.io-client, for browsers and Node. Socket.IO's
 * reconnection and recovery are off (LL-SIO-2): the core owns retries, and every attempt is a new
 * Socket.IO connection (LL-SIO-8). The server transport is `@lifeline/socket.io/server`.
 */
import type { ClientTransport, CloseInfo, TransportConnection, TransportHandlers } from '@lifeline/core'
import { Manager, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client'
import { frameProblem, type ResolvedEndpoint, resolveEndpoint, type SocketIoEndpoint } from './binding.js'

export {
  DEFAULT_EVENT,
  DEFAULT_NAMESPACE,
  DEFAULT_PATH,
  type SocketIoEndpoint,
} from './binding.js'

/** Socket.IO options Lifeline decides itself, so they cannot be passed through. */
type Decided =
  | 'reconnection'
  | 'autoConnect'
  | 'forceNew'
  | 'multiplex'
  | 'path'
  | 'transports'
  | 'upgrade'
  | 'retries'
  | 'ackTimeout'

export interface SocketIoTransportOptions {
  /**
   * Socket.IO transports, in order. `['websocket']` skips long-polling, `['polling']` never upgrades
   * (for networks whose proxies refuse WebSocket upgrades). Default: Socket.IO's own, polling first
   * and then an upgrade to WebSocket.
   */
  transports?: readonly ('polling' | 'websocket' | 'webtransport')[]
  /** Whether to upgrade from polling to WebSocket. Default: true, as in Socket.IO. */
  upgrade?: boolean
  /** The name the client's status reports, e.g. `socket.io-polling`. Default: `socket.io`. */
  name?: string
  /**
   * Called with the Socket.IO socket of every attempt, before it connects: the app may use it for its
   * own events (LL-SIO-5: with names other than Lifeline's). Lifeline closes it when the attempt ends.
   */
  onSocket?: (socket: Socket) => void
  /**
   * Other socket.io-client options, passed through: `extraHeaders`, `withCredentials`, `query`, `auth`
   * (the handshake's, for the app's middlewares; Lifeline's own credentials travel in hello), etc.
   */
  io?: Omit<Partial<ManagerOptions & SocketOptions>, Decided>
}

/**
 * A client transport over Socket.IO, from a server's origin (LL-SIO-4 defaults) or an endpoint
 * descriptor (LL-SIO-5).
 *
 * ```ts
 * createClient({ transport: socketIoTransport('https://chat.example.com') })
 * createClient({ transport: socketIoTransport({ url: 'https://chat.example.com', namespace: '/' }) })
 * ```
 */
export function socketIoTransport(
  endpoint: string | SocketIoEndpoint,
  options: SocketIoTransportOptions = {},
): ClientTransport {
  const resolved = resolveEndpoint(endpoint, 'socketIoTransport')
  return {
    encoding: 'object', // LL-SIO-1: Socket.IO encodes each frame itself, one per event
    name: options.name ?? 'socket.io',
    connect: (handlers) => connect(resolved, options, handlers),
  }
}

/** Longest wait, after the core closed a connection, for the server to end the socket (LL-SIO-9). */
const LINGER_MS = 1000

function connect(
  endpoint: ResolvedEndpoint,
  options: SocketIoTransportOptions,
  handlers: TransportHandlers,
): TransportConnection {
  // LL-SIO-2, LL-SIO-8: a Manager of its own per attempt, no reconnection, nothing to recover from.
  const manager = new Manager(endpoint.url, {
    ...options.io,
    path: endpoint.path,
    reconnection: false,
    autoConnect: false,
    ...(options.transports === undefined ? {} : { transports: [...options.transports] }),
    ...(options.upgrade === undefined ? {} : { upgrade: options.upgrade }),
  })
  const socket = manager.socket(
    endpoint.namespace,
    options.io?.auth === undefined ? {} : { auth: options.io.auth },
  )
  let ended = false
  let linger: ReturnType<typeof setTimeout> | undefined
  const end = (info: CloseInfo, wait = false): void => {
    if (ended) return
    ended = true
    socket.off(endpoint.event, onFrame)
    if (wait && socket.connected) {
      // LL-SIO-9: a Socket.IO server handles events a tick after they arrive, and drops those still
      // pending when a disconnect packet comes in with them; so leave the disconnect to the server,
      // which answers a bye by ending the socket, and only cut it after a bound.
      linger = setTimeout(() => socket.disconnect(), LINGER_MS)
      socket.once('disconnect', () => clearTimeout(linger))
    } else socket.disconnect() // releases the Manager: its only socket is gone
    handlers.close(info)
  }
  const onFrame = (...args: unknown[]): void => {
    if (ended) return
    const problem = frameProblem(args)
    if (problem === undefined) handlers.message(args[0] as object)
    else handlers.protocolError(problem)
  }
  socket.on(endpoint.event, onFrame)
  socket.on('connect', () => {
    if (!ended) handlers.open()
  })
  // LL-SIO-8: a refusal (a middleware, an unknown namespace, a failed handshake) is a failed attempt.
  socket.on('connect_error', (error: Error) => {
    end({ code: 1006, reason: `connect_error: ${error.message}`, clean: false })
  })
  socket.on('disconnect', (reason: Socket.DisconnectReason) => {
    // LL-SIO-3: the server ending the socket is a close; anything else is a failed link.
    const clean = reason === 'io server disconnect' || reason === 'io client disconnect'
    end({ code: clean ? 1000 : 1006, reason, clean })
  })
  options.onSocket?.(socket)
  socket.connect()
  return {
    send: (payload) => {
      if (!ended && socket.connected) socket.emit(endpoint.event, payload)
    },
    close: (code, reason) => end({ code, reason, clean: true }, true),
  }
}
