/**
 * The server's public face: attach transports, publish to topics and sessions, kick, shut down.
 * Behaviour lives in core.ts, handshake.ts and frames.ts.
 */
import { CloseCode, type Member } from '@lifeline/protocol'
import type {
  CloseInfo,
  Payload,
  ServerTransport,
  ServerTransportConnection,
  ServerConnectionHandlers as TransportHandlers,
} from '../transport.js'
import { ServerConnection, type ServerConnectionHandlers, type ServerConnectionLimits } from './connection.js'
import { ServerCore, type ServerEvents } from './core.js'
import { handleFrame } from './frames.js'
import { resolveServerOptions, type ServerOptions, type SessionHandle } from './options.js'
import { topicStream } from './store.js'

export interface PublishOptions {
  /** A session that must not receive the message, typically its sender (LL-SEQ-4). */
  readonly except?: string | undefined
  /**
   * The topic's app memento as of this message (LL-APPM-6): what a client that has it can resync
   * from, e.g. `{ lastId: 812 }`. Every member reads it (it is not signed, nor bound to a subject), so
   * put nothing there that not every member may see. Kept once per topic, never per member.
   */
  readonly appMemento?: unknown
  /**
   * An idempotency key, e.g. the client message id being processed (LL-NODE-8): a store shared by
   * nodes (the JetStream store) keeps one entry per key within its window and resolves a repeat with
   * the first one's seq, so a message processed again on another node after its node died is
   * published once. The memory store ignores it (its nodes share one process).
   */
  readonly id?: string | undefined
}

export interface ShutdownOptions {
  /** Advised wait before clients reconnect (LL-INTENT-3). Default: 0. */
  readonly retryAfterMs?: number
  /** Spread of the reconnects, so clients do not return at once. Default: 5000 ms. */
  readonly jitterMs?: number
  readonly reason?: string
}

export interface ServerStats {
  readonly sessions: number
  readonly connected: number
  readonly away: number
  readonly connections: number
  readonly topics: number
  /** Client sends received and waiting for the app, over all sessions (LL-LIMIT-7). */
  readonly pendingSends: number
}

export class LifelineServer {
  private readonly core: ServerCore
  private readonly transports: ServerTransport[] = []
  private closing = false

  /** Shared by every connection. */
  private readonly limits: ServerConnectionLimits
  private readonly handlers: ServerConnectionHandlers

  constructor(options: ServerOptions = {}) {
    this.core = new ServerCore(resolveServerOptions(options))
    const core = this.core
    const resolved = core.options
    this.limits = {
      maxFrameBytes: resolved.maxFrameBytes,
      helloTimeoutMs: resolved.helloTimeoutMs,
      maxBufferedBytes: resolved.maxBufferedBytes,
      presenceBatchMs: resolved.presenceBatchMs,
    }
    this.handlers = {
      frame: (c, frame, bytes) => handleFrame(core, c, frame, bytes),
      closed: (c, info) => core.connectionClosed(c, info),
      tick: (c, now) => core.tick(c, now),
    }
    if (this.core.options.generatedKey) {
      this.core.options.logger.warn(
        'no secret configured: mementos are signed with a random key, so no session survives a restart ' +
          '(every client then starts a new session, told it was not recovered). Pass `secret` (32+ bytes) or `keys`.',
      )
    }
  }

  /** True when no secret was configured: mementos will not survive a restart. */
  get usesGeneratedSecret(): boolean {
    return this.core.options.generatedKey
  }

  on<K extends keyof ServerEvents>(event: K, listener: (value: ServerEvents[K]) => void): () => void {
    return this.core.on(event, listener)
  }

  /** Starts serving Lifeline over a transport; several may be attached (LL-RESUME-10). */
  async attach(transport: ServerTransport): Promise<void> {
    this.transports.push(transport)
    await transport.listen((connection) => this.accept(transport, connection), {
      maxFrameBytes: this.core.options.maxFrameBytes,
    })
  }

  /** Publishes to a topic; resolves with the entry's seq (LL-SEQ-1). */
  publish(topic: string, data: unknown, options: PublishOptions = {}): Promise<number> {
    const stream = topicStream(topic)
    const { appMemento } = options
    return this.core.seqOf(() =>
      this.core.append(
        stream,
        (seq) =>
          appMemento === undefined
            ? { type: 'msg', seq, topic, data }
            : { type: 'msg', seq, topic, data, amv: appMemento },
        options.except,
        options.id,
      ),
    )
  }

  /**
   * Sends to one session's direct stream, optionally setting its app memento (LL-APPM-1). A session
   * another node holds is sent to through that node (LL-NODE-9).
   */
  send(sid: string, data: unknown, options: { appMemento?: unknown } = {}): Promise<number> {
    const session = this.core.sessions.get(sid)
    if (session === undefined) return this.core.ownership.send(sid, data, options.appMemento)
    return this.core.sendDirect(session, data, options.appMemento)
  }

  /**
   * A topic's members, each online or away, with the meta its app gave it (LL-PRESENCE-3): every
   * node's, for a topic with a subscriber on this node; none for others.
   */
  members(topic: string): Member[] {
    return this.core.registry.members(topic)
  }

  /** The app's handle on a session, if it exists (connected or in grace). */
  session(sid: string): SessionHandle | undefined {
    return this.core.sessions.get(sid)?.app
  }

  /**
   * Ends a session: bye KICKED, no reconnect, presence left at once (LL-INTENT-2). A session on this
   * node is kicked before this returns; one another node holds, through that node (LL-NODE-9).
   * Resolves false when no such session exists.
   */
  kick(sid: string, reason = 'kicked'): Promise<boolean> {
    const session = this.core.sessions.get(sid)
    if (session === undefined) return this.core.ownership.kick(sid, reason)
    return this.core.kick(session, reason)
  }

  /**
   * Takes a session off a topic: unjoined REMOVED, presence left (LL-TOPIC-7); on this node at once,
   * else through the node that holds it (LL-NODE-9). Resolves false when it was not in the topic.
   */
  remove(sid: string, topic: string, reason = 'removed'): Promise<boolean> {
    const session = this.core.sessions.get(sid)
    if (session === undefined) return this.core.ownership.remove(sid, topic, reason)
    return Promise.resolve(!session.unsettled && this.core.remove(session, topic, reason))
  }

  get stats(): ServerStats {
    let connected = 0
    let away = 0
    let pendingSends = 0
    for (const session of this.core.sessions.values()) {
      if (session.phase === 'connected') connected++
      else if (session.phase === 'away') away++
      pendingSends += session.backlog.length
    }
    return {
      sessions: this.core.sessions.size,
      connected,
      away,
      connections: this.core.connections.size,
      topics: this.core.registry.size,
      pendingSends,
    }
  }

  /**
   * Tells every connected client to go away and come back after retryAfterMs plus jitter
   * (LL-INTENT-3), keeping their sessions in grace: a drain, before a deploy or to rebalance nodes.
   */
  goAway(options: ShutdownOptions = {}): void {
    const bye = {
      type: 'bye' as const,
      code: CloseCode.GOING_AWAY,
      reason: options.reason ?? 'server going away',
      reconnect: true,
      retryAfterMs: options.retryAfterMs ?? 0,
      jitterMs: options.jitterMs ?? 5000,
    }
    for (const transport of this.transports) transport.drain?.(bye.retryAfterMs)
    for (const connection of [...this.core.connections]) connection.close(bye)
  }

  /**
   * Drops a session's connection without a bye, as a network failure would: the session goes away
   * and waits for its resume. For demos and fault tests.
   */
  drop(sid: string): boolean {
    const connection = this.core.sessions.get(sid)?.connection
    if (connection === undefined) return false
    connection.terminate()
    return true
  }

  /**
   * Going away for good: clients are told to come back later (to another node sharing the store),
   * then transports, bus and store close, and no timer is left behind.
   */
  async shutdown(options: ShutdownOptions = {}): Promise<void> {
    if (this.closing) return
    this.closing = true
    this.goAway({ reason: 'server shutting down', ...options })
    for (const session of this.core.sessions.values()) session.graceTimer.clear()
    await Promise.all(this.transports.map((transport) => transport.close()))
    // Every session's last record is stored: another node resumes it from there (LL-NODE-3).
    await Promise.all([...this.core.sessions.values()].map((session) => session.writes.idle()))
    this.core.ownership.stop()
    await this.core.registry.close()
    const { store, bus } = this.core.options
    await Promise.all([bus.close(), store.close()])
  }

  /**
   * Stops this node at once, as a crash would: connections dropped without a word, timers cleared,
   * nothing more written to the store or the bus, which stay open for the other nodes sharing them.
   * For fault tests and simulations.
   */
  async halt(): Promise<void> {
    if (this.closing) return
    this.closing = true
    this.core.halted = true
    this.core.ownership.stop()
    for (const session of this.core.sessions.values()) session.graceTimer.clear()
    for (const connection of [...this.core.connections]) connection.terminate()
    await Promise.all(this.transports.map((transport) => transport.close()))
    await this.core.registry.close()
    for (const session of this.core.sessions.values()) session.unsubscribeDirect?.()
  }

  private accept(transport: ServerTransport, connection: ServerTransportConnection): TransportHandlers {
    const core = this.core
    const serverConnection = new ServerConnection(
      connection,
      transport.encoding,
      core.options.clock,
      this.limits,
      core.scheduler,
      this.handlers,
    )
    core.connections.add(serverConnection)
    if (this.closing) {
      serverConnection.close({
        type: 'bye',
        code: CloseCode.GOING_AWAY,
        reason: 'shutting down',
        reconnect: true,
      })
    }
    return new TransportSide(serverConnection)
  }
}

/**
 * What the transport calls, as methods on one small object per connection: closures here would cost
 * every idle connection a few hundred bytes.
 */
class TransportSide implements TransportHandlers {
  constructor(private readonly connection: ServerConnection) {}

  message(payload: Payload): void {
    this.connection.receive(payload)
  }

  close(info: CloseInfo): void {
    this.connection.transportClosed(info)
  }

  protocolError(reason: string): void {
    this.connection.transportError(reason)
  }
}

/** Creates a server; attach transports with `attach`. */
export function createServer(options: ServerOptions = {}): LifelineServer {
  return new LifelineServer(options)
}
