/**
 * @lifeline/nats/server: the server transport over NATS. Every node subscribes to the open subject in
 * one queue group, so each new connection lands on exactly one node (LL-NATS-5); that node then
 * subscribes to the connection's own subject. It moves text frames and reports closes; the Lifeline
 * server does everything else.
 */
import type {
  CloseInfo,
  ListenContext,
  ServerConnectionHandlers,
  ServerTransport,
  ServerTransportConnection,
} from '@lifeline/core'
import { exceedsBytes } from '@lifeline/protocol'
import {
  type ConnectionOptions,
  Empty,
  type Msg,
  type NatsConnection,
  type Subscription,
} from '@nats-io/nats-core'
import { connect } from '@nats-io/transport-node'
import {
  Counter,
  checkPrefix,
  closeHeaders,
  controlOf,
  DEFAULT_PREFIX,
  HEADER_ROOM,
  isConnectionId,
  openHeaders,
  type Subjects,
  subjects,
} from './binding.js'
import { type Dependent, isConnection, Watcher } from './client.js'

export interface NatsServerTransportOptions {
  /**
   * The NATS connection to use (not closed by the transport), or the options to make one (closed by
   * `close()`). Use a server-side NATS user allowed `P.>` (LL-NATS-9).
   */
  connection: NatsConnection | ConnectionOptions
  /**
   * Subject prefix P (LL-NATS-1). A `*` token serves one prefix per user, e.g. `lifeline.u.*` serves
   * `lifeline.u.alice` and `lifeline.u.bob` (LL-NATS-9); a connection's prefix is its
   * `info.channel`. Default: `lifeline`.
   */
  prefix?: string
  /** The queue group all nodes of one deployment share (LL-NATS-5). Default: `lifeline`. */
  queue?: string
  /**
   * Largest message accepted, in bytes; a larger one closes the connection with 1009 (LL-NATS-4).
   * Default: the Lifeline server's maxFrameBytes. Listening fails when it exceeds the NATS server's
   * max_payload less 256 bytes of headers.
   */
  maxPayload?: number
}

export interface NatsServerTransport extends ServerTransport {
  readonly name: 'nats'
  readonly encoding: 'text'
  /** The largest frame (or batch) a connection can carry both ways, known once listening. */
  readonly maxPayload: number
  /** Connections open on this node. */
  readonly connections: number
}

type Accept = (connection: ServerTransportConnection) => ServerConnectionHandlers

const MIB = 1024 * 1024

class NatsServer implements NatsServerTransport, Dependent {
  readonly name = 'nats' as const
  readonly encoding = 'text' as const
  private readonly prefix: string
  private readonly queue: string
  private nc: NatsConnection | undefined
  private opener: Subscription | undefined
  private accept: Accept | undefined
  private readonly links = new Map<string, ServerLink>()
  private closing: Promise<void> | undefined
  private drainTimer: ReturnType<typeof setTimeout> | undefined
  private limit = MIB

  constructor(private readonly options: NatsServerTransportOptions) {
    this.prefix = checkPrefix(options.prefix ?? DEFAULT_PREFIX, true)
    this.queue = options.queue ?? 'lifeline'
    if (
      options.maxPayload !== undefined &&
      (!Number.isInteger(options.maxPayload) || options.maxPayload <= 0)
    ) {
      throw new RangeError(
        `natsServerTransport: maxPayload must be a positive integer, got ${options.maxPayload}`,
      )
    }
  }

  get maxPayload(): number {
    return this.limit
  }

  get connections(): number {
    return this.links.size
  }

  async listen(accept: Accept, context?: ListenContext): Promise<void> {
    if (this.accept !== undefined || this.closing !== undefined) {
      throw new Error('natsServerTransport: listen may be called once, before close')
    }
    this.accept = accept
    const given = this.options.connection
    const nc = isConnection(given) ? given : await connect(given)
    this.nc = nc
    const serverMax = (nc.info?.max_payload ?? MIB) - HEADER_ROOM
    const wanted = this.options.maxPayload ?? context?.maxFrameBytes ?? Math.min(MIB, serverMax)
    if (wanted > serverMax) {
      if (!isConnection(given)) await nc.close()
      throw new RangeError(
        `natsServerTransport: frames of ${wanted} bytes (maxPayload, or the server's maxFrameBytes) exceed the NATS server's max_payload less ${HEADER_ROOM} bytes of headers (${serverMax}); LL-NATS-4`,
      )
    }
    this.limit = wanted
    new Watcher(nc).add(this)
    this.subscribeOpener(nc)
    await nc.flush()
  }

  /** The NATS connection dropped (LL-NATS-8): every Lifeline connection on it ends. */
  lost(reason: string): void {
    // NATS resubscribes the opener by itself on reconnect.
    for (const link of [...this.links.values()]) link.end({ code: 1006, reason, clean: false }, false)
  }

  /** While draining, new connections go to other nodes (or are told nobody listens). */
  drain(retryAfterMs: number): void {
    const nc = this.nc
    if (nc === undefined || this.closing !== undefined || retryAfterMs <= 0) return
    this.opener?.unsubscribe()
    this.opener = undefined
    clearTimeout(this.drainTimer)
    this.drainTimer = setTimeout(() => {
      if (this.closing === undefined && !nc.isClosed()) this.subscribeOpener(nc)
    }, retryAfterMs)
    this.drainTimer.unref?.()
  }

  close(): Promise<void> {
    this.closing ??= this.stop()
    return this.closing
  }

  removed(id: string): void {
    this.links.delete(id)
  }

  private subscribeOpener(nc: NatsConnection): void {
    if (this.opener !== undefined) return
    this.opener = nc.subscribe(`${this.prefix}.o.*`, {
      queue: this.queue,
      callback: (error, msg) => {
        if (error === null) this.open(nc, msg)
      },
    })
  }

  private open(nc: NatsConnection, msg: Msg): void {
    const accept = this.accept
    if (accept === undefined || this.closing !== undefined) return
    const control = controlOf(msg)
    if (control?.type !== 'open') return
    const tokens = msg.subject.split('.')
    const id = tokens[tokens.length - 1] ?? ''
    // The reply goes to the subject the binding derives, never to one the message names: a client
    // must not make the server publish on someone else's subjects.
    if (!isConnectionId(id) || this.links.has(id)) return
    const channel = tokens.slice(0, -2).join('.')
    const link = new ServerLink(this, nc, id, subjects(channel, id), this.limit)
    this.links.set(id, link)
    link.start(accept, channel)
  }

  private async stop(): Promise<void> {
    clearTimeout(this.drainTimer)
    this.opener?.unsubscribe()
    this.opener = undefined
    for (const link of [...this.links.values()])
      link.end({ code: 1001, reason: 'server stopped', clean: true }, true)
    const nc = this.nc
    if (nc === undefined || nc.isClosed()) return
    // The core has said bye on every connection: let those frames leave before closing.
    await nc.flush().catch(() => {})
    if (!isConnection(this.options.connection)) await nc.close()
  }
}

class ServerLink {
  private closed = false
  private handlers: ServerConnectionHandlers | undefined
  private sub: Subscription | undefined
  private readonly counter = new Counter()

  constructor(
    private readonly owner: NatsServer,
    private readonly nc: NatsConnection,
    private readonly id: string,
    private readonly subjects: Subjects,
    private readonly maxPayload: number,
  ) {}

  start(accept: Accept, channel: string): void {
    this.handlers = accept({
      info: { transport: 'nats', channel },
      send: (payload) => this.send(typeof payload === 'string' ? payload : JSON.stringify(payload)),
      close: (code, reason) => this.end({ code, reason, clean: true }, true),
      terminate: () => this.end({ code: 1006, reason: 'terminated', clean: false }, true),
    })
    this.sub = this.nc.subscribe(this.subjects.client, {
      callback: (error, msg) => {
        if (error === null) this.receive(msg)
      },
    })
    // The client may send only after the open answer: the subscription must exist by then.
    this.nc.flush().then(
      () => {
        if (!this.closed) this.publish(Empty, openHeaders())
      },
      () => this.end({ code: 1006, reason: 'NATS flush failed', clean: false }, false),
    )
  }

  end(info: CloseInfo, tell: boolean): void {
    if (this.closed) return
    this.closed = true
    this.sub?.unsubscribe()
    this.owner.removed(this.id)
    if (tell) this.publish(Empty, closeHeaders(info.code, info.reason)) // LL-NATS-7
    const handlers = this.handlers
    if (handlers !== undefined) queueMicrotask(() => handlers.close(info))
  }

  private send(text: string): void {
    if (this.closed) return
    if (exceedsBytes(text, this.maxPayload)) {
      // LL-NATS-4: never publish past max_payload (NATS would drop this node's whole connection).
      this.end({ code: 1011, reason: 'message too big for the NATS server', clean: false }, true)
      return
    }
    this.publish(text, this.counter.next())
  }

  private receive(msg: Msg): void {
    const handlers = this.handlers
    if (this.closed || handlers === undefined) return
    const control = controlOf(msg)
    if (control !== undefined) {
      if (control.type === 'close')
        this.end({ code: control.code, reason: control.reason, clean: control.code !== 1006 }, false)
      return
    }
    if (msg.data.length > this.maxPayload) {
      this.end({ code: 1009, reason: 'message too big', clean: false }, true)
      return
    }
    if (!this.counter.accept(msg)) {
      // LL-NATS-6: a lost message ends the connection; the client resumes and resends.
      this.end({ code: 1006, reason: 'a message was lost in transit', clean: false }, true)
      return
    }
    handlers.message(msg.string())
  }

  private publish(data: string | Uint8Array, headers: ReturnType<Counter['next']>): void {
    try {
      this.nc.publish(this.subjects.server, data, { headers })
    } catch {
      // A closed or draining NATS connection: the watcher ends every link on it.
    }
  }
}

/**
 * A Lifeline server transport over NATS.
 *
 * ```ts
 * await server.attach(natsServerTransport({ connection: { servers: 'nats://127.0.0.1:4222' } }))
 * ```
 */
export function natsServerTransport(options: NatsServerTransportOptions): NatsServerTransport {
  return new NatsServer(options)
}
