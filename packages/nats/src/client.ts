/**
 * The client side of the NATS binding, independent of how the NATS connection is made (browsers:
 * websocket, `@lifeline/nats`; Node: TCP, `@lifeline/nats/node`). One Lifeline connection is one
 * connection id C (LL-NATS-1): subscribe to P.s.C, open through P.o.C (LL-NATS-5), frames to P.c.C.
 */
import type {
  ClientTransport,
  CloseInfo,
  Payload,
  TransportConnection,
  TransportHandlers,
} from '@lifeline/core'
import { exceedsBytes } from '@lifeline/protocol'
import {
  Empty,
  type Msg,
  type NatsConnection,
  PermissionViolationError,
  type Subscription,
} from '@nats-io/nats-core'
import {
  Counter,
  checkPrefix,
  closeHeaders,
  connectionId,
  controlOf,
  DEFAULT_PREFIX,
  HEADER_ROOM,
  openHeaders,
  type Subjects,
  subjects,
} from './binding.js'

export interface NatsTransportOptions {
  /**
   * Subject prefix P (LL-NATS-1). A deployment that shares one NATS account between users gives each
   * user its own prefix, e.g. `lifeline.u.alice`, and permissions on it only (LL-NATS-9). Default:
   * `lifeline`.
   */
  prefix?: string
}

/**
 * Where NATS connections come from. `owned`: one per Lifeline connection, made for it with NATS's own
 * reconnect off, closed with it (Lifeline's backoff decides when to dial again). Shared: the app's
 * connection, which NATS reconnects by itself; each of its drops ends the Lifeline connections on it.
 */
export type ConnectionSource =
  | { readonly type: 'owned'; readonly connect: () => Promise<NatsConnection> }
  | { readonly type: 'shared'; readonly connection: NatsConnection }

/** What the entry points take: servers and options for connections made per Lifeline connection. */
export interface OwnedConnectionOptions<C> extends NatsTransportOptions {
  /**
   * The NATS server URL(s). Each Lifeline connection opens its own NATS connection with NATS's
   * reconnect off: Lifeline's backoff decides when to dial again.
   */
  servers?: string | string[]
  /** More NATS connection options (auth, name, timeouts); `reconnect` is always off. */
  connection?: Omit<C, 'servers' | 'reconnect'>
}

export function isConnection(value: object): value is NatsConnection {
  return typeof (value as Partial<NatsConnection>).publish === 'function'
}

/** `natsTransport` for one way of dialing NATS (websocket in browsers, TCP in Node). */
export function transportFactory<C extends object>(
  dial: (
    options: Omit<C, 'servers' | 'reconnect'> & { servers?: string | string[]; reconnect: false },
  ) => Promise<NatsConnection>,
): (source: OwnedConnectionOptions<C> | NatsConnection, options?: NatsTransportOptions) => ClientTransport {
  return (source, options = {}) => {
    if (isConnection(source)) return clientTransport({ type: 'shared', connection: source }, options)
    const { servers, connection, ...rest } = source
    const base = (connection ?? {}) as Omit<C, 'servers' | 'reconnect'>
    return clientTransport(
      {
        type: 'owned',
        connect: () => dial({ ...base, ...(servers === undefined ? {} : { servers }), reconnect: false }),
      },
      { ...rest, ...options },
    )
  }
}

/** Builds the transport; entry points pass how to connect. */
export function clientTransport(source: ConnectionSource, options: NatsTransportOptions): ClientTransport {
  const prefix = checkPrefix(options.prefix ?? DEFAULT_PREFIX, false)
  const shared = source.type === 'shared' ? new Watcher(source.connection) : undefined
  return {
    encoding: 'text',
    name: 'nats',
    connect: (handlers) => new ClientLink(source, shared, prefix, handlers),
  }
}

/** Anything that ends when its NATS connection drops. */
export interface Dependent {
  lost(reason: string): void
  /** NATS refused a publish on `subject` (a permission violation, LL-NATS-9). */
  refused?(subject: string, error: Error): void
}

/**
 * LL-NATS-8: a NATS disconnect may have lost messages in flight, so every Lifeline connection on it
 * ends. One status loop per NATS connection, however many Lifeline connections it carries.
 */
export class Watcher {
  private readonly dependents = new Set<Dependent>()

  constructor(private readonly nc: NatsConnection) {
    const status = nc.status()
    void (async () => {
      for await (const event of status) {
        if (event.type === 'disconnect' || event.type === 'staleConnection') this.lost(`NATS ${event.type}`)
        else if (event.type === 'error' && event.error instanceof PermissionViolationError) {
          for (const dependent of [...this.dependents]) dependent.refused?.(event.error.subject, event.error)
        }
      }
    })().catch(() => {})
    void nc.closed().then(
      () => this.lost('NATS connection closed'),
      () => this.lost('NATS connection closed'),
    )
  }

  add(dependent: Dependent): void {
    if (this.nc.isClosed()) dependent.lost('NATS connection closed')
    else this.dependents.add(dependent)
  }

  delete(dependent: Dependent): void {
    this.dependents.delete(dependent)
  }

  /** Dependents stay registered until they `delete` themselves (a server transport outlives drops). */
  private lost(reason: string): void {
    for (const dependent of [...this.dependents]) dependent.lost(reason)
  }
}

type Phase = 'dialing' | 'opening' | 'open' | 'closed'

class ClientLink implements TransportConnection, Dependent {
  private phase: Phase = 'dialing'
  private nc: NatsConnection | undefined
  private watcher: Watcher | undefined
  private sub: Subscription | undefined
  private readonly subjects: Subjects
  private readonly counter = new Counter()
  private maxPayload = Number.POSITIVE_INFINITY

  constructor(
    private readonly source: ConnectionSource,
    shared: Watcher | undefined,
    prefix: string,
    private readonly handlers: TransportHandlers,
  ) {
    this.subjects = subjects(prefix, connectionId())
    this.watcher = shared
    this.dial().catch((error: unknown) =>
      this.end({ code: 1006, reason: `dial failed: ${messageOf(error)}`, clean: false }, false),
    )
  }

  send(payload: Payload): void {
    const nc = this.nc
    if (this.phase !== 'open' || nc === undefined) return
    const text = typeof payload === 'string' ? payload : JSON.stringify(payload)
    // LL-NATS-4: NATS would refuse it and drop the whole NATS connection; end only this one.
    if (exceedsBytes(text, this.maxPayload)) {
      this.end({ code: 1009, reason: 'message too big for the NATS server', clean: false }, true)
      return
    }
    try {
      nc.publish(this.subjects.client, text, { headers: this.counter.next() })
    } catch (error) {
      this.end({ code: 1006, reason: `publish failed: ${messageOf(error)}`, clean: false }, false)
    }
  }

  close(code: number, reason: string): void {
    this.end({ code, reason, clean: true }, true)
  }

  private async dial(): Promise<void> {
    const nc = this.source.type === 'owned' ? await this.source.connect() : this.source.connection
    if (this.phase === 'closed') {
      if (this.source.type === 'owned') await nc.close()
      return
    }
    this.nc = nc
    if (nc.isClosed()) throw new Error('the NATS connection is closed')
    this.maxPayload = Math.max(0, (nc.info?.max_payload ?? 1024 * 1024) - HEADER_ROOM)
    this.watcher ??= new Watcher(nc)
    this.watcher.add(this)
    const sub = nc.subscribe(this.subjects.server, {
      callback: (error, msg) => {
        if (error === null) this.receive(msg)
      },
    })
    this.sub = sub
    void sub.closed.then((error) => {
      if (error instanceof Error) this.refused(this.subjects.server, error)
    })
    // The subscription must exist at the server before the open: the answer comes to it.
    await nc.flush()
    if (this.phase !== 'dialing') return
    this.phase = 'opening'
    // LL-NATS-5: one node of the queue group answers; NATS itself answers 503 when none listens.
    nc.publish(this.subjects.open, Empty, { reply: this.subjects.server, headers: openHeaders() })
  }

  lost(reason: string): void {
    this.end({ code: 1006, reason, clean: false }, false)
  }

  /** LL-NATS-9: this NATS user may not use these subjects: a deployment error, not worth retrying. */
  refused(subject: string, error: Error): void {
    if (
      subject !== this.subjects.server &&
      subject !== this.subjects.client &&
      subject !== this.subjects.open
    )
      return
    this.end({ code: 4004, reason: `NATS refused ${subject}: ${error.message}`, clean: true }, false)
  }

  private receive(msg: Msg): void {
    if (this.phase === 'closed' || this.phase === 'dialing') return
    const control = controlOf(msg)
    if (control === undefined) {
      if (this.phase !== 'open') return
      if (!this.counter.accept(msg)) {
        this.end({ code: 1006, reason: 'a message was lost in transit', clean: false }, true)
        return
      }
      this.handlers.message(msg.string())
      return
    }
    switch (control.type) {
      case 'open':
        if (this.phase !== 'opening') return
        this.phase = 'open'
        this.handlers.open()
        return
      case 'close':
        this.end({ code: control.code, reason: control.reason, clean: control.code !== 1006 }, false)
        return
      case 'status':
        this.end(
          { code: 1006, reason: `no Lifeline server answered (NATS ${control.code})`, clean: false },
          false,
        )
        return
    }
  }

  /** Reports the close once; `tell`: say so to the server (LL-NATS-7). */
  private end(info: CloseInfo, tell: boolean): void {
    if (this.phase === 'closed') return
    const told = tell && (this.phase === 'open' || this.phase === 'opening')
    this.phase = 'closed'
    const nc = this.nc
    this.watcher?.delete(this)
    this.sub?.unsubscribe()
    if (nc !== undefined && !nc.isClosed()) {
      try {
        if (told) nc.publish(this.subjects.client, Empty, { headers: closeHeaders(info.code, info.reason) })
      } catch {
        // The NATS connection is going: the server learns it from its heartbeat (LL-BEAT-3).
      }
      if (this.source.type === 'owned')
        void nc
          .flush()
          .then(
            () => nc.close(),
            () => nc.close(),
          )
          .catch(() => {})
    }
    queueMicrotask(() => this.handlers.close(info))
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
