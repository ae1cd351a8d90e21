/**
 * @lifeline/socket.io/server: a server transport that attaches to an app's Socket.IO `Server` (on its
 * own namespace, `/lifeline` by default) or to one of its namespaces (beside the app's own events). It
 * moves frames as `lifeline` events and reports disconnects; the Lifeline server does everything else.
 */
import type {
  ConnectionInfo,
  ListenContext,
  ServerConnectionHandlers,
  ServerTransport,
  ServerTransportConnection,
} from '@lifeline/core'
import { DEFAULT_MAX_FRAME_BYTES } from '@lifeline/protocol'
import type { DisconnectReason, Namespace, Server, Socket } from 'socket.io'
import {
  checkEvent,
  checkNamespace,
  DEFAULT_EVENT,
  DEFAULT_NAMESPACE,
  frameProblem,
  maxHttpBufferSize,
} from './binding.js'
import { type EngineConnection, EngineFlow } from './flow.js'

export { DEFAULT_EVENT, DEFAULT_NAMESPACE, DEFAULT_PATH, type SocketIoEndpoint } from './binding.js'

/** Decides whether a connection from a browser Origin may proceed; undefined for non-browsers. */
export type OriginCheck = (origin: string | undefined) => boolean

export interface SocketIoServerOptions {
  /** The namespace, when attaching to a `Server`. Default: `/lifeline` (LL-SIO-4). */
  namespace?: string
  /** The event frames travel as; must differ from the app's own events (LL-SIO-5). Default: `lifeline`. */
  event?: string
  /**
   * The Lifeline server's maxFrameBytes, for a transport listened to without one (the Lifeline server
   * passes its own when attached). Default: 1 MiB.
   */
  maxFrameBytes?: number
  /**
   * The browser origins allowed to connect, or a function deciding; checked by a namespace middleware,
   * so a refusal is a `connect_error` (LL-SIO-8). With a list, connections without an Origin header
   * (not browsers) are allowed. Default: whatever the Socket.IO server allows (its `cors`/`allowRequest`).
   */
  allowedOrigins?: readonly string[] | OriginCheck
}

export interface SocketIoServerTransport extends ServerTransport {
  readonly name: 'socket.io'
  readonly encoding: 'object'
  /** The namespace Lifeline serves on. */
  readonly namespace: Namespace
  /** The Engine.IO limit this transport set (LL-SIO-7), once listening. */
  readonly maxHttpBufferSize: number | undefined
}

/** socket.io-parser's EVENT packet type. */
const EVENT = 2
const WRITE_OPTIONS = { compress: true }

type Accept = (connection: ServerTransportConnection) => ServerConnectionHandlers

/** The engine.io internals the limit lives in: its options, and the `ws` server built from them. */
interface EngineLike {
  opts?: { maxHttpBufferSize?: number }
  ws?: { options?: { maxPayload?: number } }
}

const DISCONNECTS_BY_PEER: ReadonlySet<DisconnectReason> = new Set([
  'client namespace disconnect',
  'server namespace disconnect',
])

function originCheck(allowed: readonly string[] | OriginCheck): OriginCheck {
  if (typeof allowed === 'function') return allowed
  const origins = new Set(allowed)
  return (origin) => origin === undefined || origins.has(origin)
}

class SocketIoServer implements SocketIoServerTransport {
  readonly name = 'socket.io' as const
  readonly encoding = 'object' as const
  readonly namespace: Namespace
  private readonly io: Server
  private readonly event: string
  /** True when the namespace is Lifeline's alone: after close, it refuses new connections. */
  private readonly owned: boolean
  private readonly sockets = new Set<Socket>()
  private accept: Accept | undefined
  private closed = false
  private limit: number | undefined
  /** The EVENT packet prefix for pre-encoded frames; null until computed. */
  private prefix: string | undefined | null = null

  constructor(
    target: Server | Namespace,
    private readonly options: SocketIoServerOptions,
  ) {
    this.event = checkEvent(options.event ?? DEFAULT_EVENT, 'socketIoServerTransport')
    if (isNamespace(target)) {
      if (options.namespace !== undefined) {
        throw new TypeError('socketIoServerTransport: given a Namespace, `namespace` must not be set')
      }
      this.namespace = target
      this.io = target.server
      this.owned = false
    } else {
      const name = checkNamespace(options.namespace ?? DEFAULT_NAMESPACE, 'socketIoServerTransport')
      this.namespace = target.of(name)
      this.io = target
      this.owned = name !== '/'
    }
  }

  get maxHttpBufferSize(): number | undefined {
    return this.limit
  }

  listen(accept: Accept, context?: ListenContext): void {
    if (this.accept !== undefined || this.closed) {
      throw new Error('socketIoServerTransport: listen may be called once, before close')
    }
    this.accept = accept
    const maxFrameBytes = context?.maxFrameBytes ?? this.options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES
    this.limit = maxHttpBufferSize(maxFrameBytes, this.namespace.name, this.event)
    this.applyLimit(this.limit)
    const allowed = this.options.allowedOrigins
    const check = allowed === undefined ? undefined : originCheck(allowed)
    if (this.owned || check !== undefined) {
      this.namespace.use((socket, next) => {
        if (this.closed && this.owned) return next(new Error('lifeline: not accepting connections'))
        if (check !== undefined && !check(socket.handshake.headers.origin)) {
          return next(new Error('lifeline: origin not allowed'))
        }
        next()
      })
    }
    this.namespace.on('connection', this.onConnection)
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve()
    this.closed = true
    this.namespace.off('connection', this.onConnection)
    // The core has said bye on each; a disconnect packet queues behind it, so nothing is cut short.
    for (const socket of this.sockets) socket.disconnect()
    this.sockets.clear()
    return Promise.resolve()
  }

  /**
   * The text before a frame's JSON in an EVENT packet of Socket.IO's own parser (`2/ns,["event",`), or
   * undefined when the server uses another parser: checked by encoding a sample with it, once.
   */
  private textPrefix(): string | undefined {
    if (this.prefix !== null) return this.prefix
    const nsp = this.namespace.name
    const prefix = `${EVENT}${nsp === '/' ? '' : `${nsp},`}[${JSON.stringify(this.event)},`
    const sample = { type: 'ping', id: 1 }
    const encoded = this.io.encoder.encode({ type: EVENT, nsp, data: [this.event, sample] })
    this.prefix =
      encoded.length === 1 && encoded[0] === `${prefix}${JSON.stringify(sample)}]` ? prefix : undefined
    return this.prefix
  }

  /**
   * LL-SIO-7: Engine.IO's limit, for connections to come. It reads its options per polling transport
   * and per handshake, but built its `ws` server from them once, so that copy is set too.
   */
  private applyLimit(limit: number): void {
    this.io._opts.maxHttpBufferSize = limit // used when the Server attaches to an HTTP server later
    const engine = this.io.engine as unknown as EngineLike | undefined
    if (engine?.opts !== undefined) engine.opts.maxHttpBufferSize = limit
    if (engine?.ws?.options !== undefined) engine.ws.options.maxPayload = limit
  }

  private readonly onConnection = (socket: Socket): void => {
    const accept = this.accept
    if (accept === undefined || this.closed) return void socket.disconnect()
    this.sockets.add(socket)
    const origin = socket.handshake.headers.origin
    const info: ConnectionInfo = {
      transport: 'socket.io',
      remoteAddress: socket.handshake.address,
      ...(origin === undefined ? {} : { origin }),
    }
    let ended = false
    const { encoder } = this.io
    const nsp = this.namespace.name
    // Frames go through the flow, so it counts what waits to be written (LL-LIMIT-3).
    const flow = new EngineFlow(socket.conn as unknown as EngineConnection)
    const prefix = this.textPrefix()
    const handlers = accept({
      info,
      // Encoded with the server's own parser and written to its Engine.IO connection, as `emit` does,
      // but past the adapter: with connectionStateRecovery on, `emit` would store every frame a second
      // time and append an offset argument (LL-SIO-2: Lifeline's log is the only one). A stream entry
      // comes with its JSON: with Socket.IO's own parser, the packet is that text in its envelope.
      send: (payload, text) => {
        if (ended || !socket.connected) return
        if (text !== undefined && prefix !== undefined) return flow.write(`${prefix}${text}]`, WRITE_OPTIONS)
        for (const packet of encoder.encode({ type: EVENT, nsp, data: [this.event, payload] })) {
          flow.write(packet, WRITE_OPTIONS)
        }
      },
      bufferedBytes: () => flow.bufferedBytes(),
      // LL-LIMIT-7, one level down: Socket.IO cannot pause a socket (see flow.ts).
      pauseReading: () => flow.pause(),
      resumeReading: () => flow.resume(),
      // LL-SIO-3: the bye said why; the disconnect follows it on the same socket.
      close: () => {
        ended = true
        flow.end()
        socket.disconnect()
      },
      // The whole Engine.IO connection, without a Socket.IO disconnect: the peer sees a failed link.
      terminate: () => {
        ended = true
        flow.end()
        socket.conn.close()
      },
    })
    socket.on(this.event, (...args: unknown[]) => {
      if (ended) return
      const problem = frameProblem(args)
      if (problem === undefined) handlers.message(args[0] as object)
      else handlers.protocolError(problem) // LL-SIO-6
    })
    socket.once('disconnect', (reason: DisconnectReason) => {
      ended = true
      flow.end()
      this.sockets.delete(socket)
      const clean = DISCONNECTS_BY_PEER.has(reason)
      handlers.close({ code: clean ? 1000 : 1006, reason, clean })
    })
  }
}

function isNamespace(target: Server | Namespace): target is Namespace {
  return !('of' in target)
}

/**
 * A Lifeline server transport over an app's Socket.IO server.
 *
 * ```ts
 * const io = new Server(httpServer)
 * await lifeline.attach(socketIoServerTransport(io))              // namespace /lifeline
 * await lifeline.attach(socketIoServerTransport(io.of('/chat')))  // beside the app's own events
 * ```
 */
export function socketIoServerTransport(
  target: Server | Namespace,
  options: SocketIoServerOptions = {},
): SocketIoServerTransport {
  return new SocketIoServer(target, options)
}
