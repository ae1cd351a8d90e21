/**
 * The server's shared state and the operations every part of it uses: appending to streams,
 * presence, the session phase machine's effects, and freeing what a session held.
 */
import {
  CloseCode,
  exceedsBytes,
  jsonShape,
  MAX_NESTING_DEPTH,
  type ServerBye,
  type UnrecoveredReason,
} from '@lifeline/protocol'
import { Emitter } from '../emitter.js'
import { MessageTooDeepError, MessageTooLargeError, PublicError } from '../errors.js'
import type { CloseInfo } from '../transport.js'
import { FlushScheduler, type ServerConnection } from './connection.js'
import { MementoSigner } from './memento.js'
import type { ResolvedServerOptions, SessionHandle } from './options.js'
import { RateLimiter } from './rate-limiter.js'
import type { ServerSession } from './session.js'
import { type SessionEvent, sessionTransition } from './session-machine.js'
import { type EntryFrame, type StreamEntry, type StreamName, topicStream } from './store.js'
import { TopicRegistry } from './topic-registry.js'

export type EndReason = 'bye' | 'kick' | 'grace' | 'shutdown'

export interface ServerEvents extends Record<string, unknown> {
  /** A session opened on a connection: new, or resumed (LL-RESUME-2..4). */
  session: {
    readonly sid: string
    readonly subject: string
    readonly resumed: boolean
    readonly recovered: boolean
    readonly reason: string | undefined
    readonly attempt: number
    readonly transport: string
  }
  /** A session's connection dropped; its grace period started (LL-GRACE-1). */
  away: { readonly sid: string; readonly code: number }
  /** A session ended (LL-GRACE-2, LL-GRACE-3). */
  end: { readonly sid: string; readonly reason: EndReason }
  /** Entries replayed on a resume or a join with `from` (LL-REPLAY-1). */
  replay: { readonly sid: string; readonly entries: number }
  /** A connection refused before a session opened (auth, version, limits). */
  refused: { readonly code: number; readonly reason: string; readonly transport: string }
  /** An error in an app hook or the store; the server goes on. */
  error: Error
}

/** Most ended session ids remembered, to answer how they ended rather than `unknown` (LL-RESUME-4). */
const MAX_TOMBSTONES = 10_000

/** The reason a late resume of an ended session gets (LL-RESUME-4). */
const END_REASONS: Readonly<Record<EndReason, UnrecoveredReason>> = {
  bye: 'ended',
  kick: 'kicked',
  grace: 'expired',
  shutdown: 'expired',
}

export class ServerCore extends Emitter<ServerEvents> {
  readonly signer: MementoSigner
  readonly sessions = new Map<string, ServerSession>()
  readonly sessionsBySubject = new Map<string, number>()
  readonly connections = new Set<ServerConnection>()
  readonly registry: TopicRegistry
  readonly scheduler = new FlushScheduler()
  readonly failedResumes: RateLimiter
  private readonly tombstones = new Map<string, UnrecoveredReason>()

  constructor(readonly options: ResolvedServerOptions) {
    super()
    this.signer = new MementoSigner({
      keys: options.keys,
      currentKeyId: options.currentKeyId,
      randomBytes: options.randomBytes,
    })
    this.registry = new TopicRegistry(options.bus, options.presenceBatchMs > 0, options.store)
    this.failedResumes = new RateLimiter(options.clock, options.maxFailedResumesPerMinute, 60_000)
  }

  override emit<K extends keyof ServerEvents>(event: K, value: ServerEvents[K]): void {
    super.emit(event, value)
  }

  /**
   * What a client may read of an app hook's failure (LL-LIMIT-11): a PublicError's message; anything
   * else is reported here and the client gets `fallback`.
   */
  publicReason(error: unknown, fallback: string, what: string): string {
    if (error instanceof PublicError) return error.message
    this.reportError(error, what)
    return fallback
  }

  /** An error the server survives: logged (by default to the console) and emitted. */
  reportError(error: unknown, what = 'error'): void {
    const value = error instanceof Error ? error : new Error(String(error))
    try {
      this.options.logger.error(what, { error: value })
    } catch {
      // A logger that throws must not take the server down with it.
    }
    this.emit('error', value)
  }

  /**
   * Appends an entry to a stream and fans it out to every subscribed node (LL-SEQ-1). Synchronous
   * with a store that answers synchronously: no promise per message on the hot path.
   */
  append(
    stream: StreamName,
    frame: (seq: number) => EntryFrame,
    except?: string,
  ): StreamEntry | Promise<StreamEntry> {
    const max = this.options.maxFrameBytes
    const appended = this.options.store.append(stream, (seq) => {
      const built = frame(seq)
      const text = JSON.stringify(built)
      // A frame clients would refuse (LL-LIMIT-1, LL-LIMIT-8) must never enter a log: its replay would
      // fail forever. A batch around it takes one more level.
      if (exceedsBytes(text, max)) throw new MessageTooLargeError(text.length, max)
      const shape = jsonShape(text)
      if (shape.depth > MAX_NESTING_DEPTH - 1) throw new MessageTooDeepError(MAX_NESTING_DEPTH - 1)
      // LL-LIMIT-10: a log counts what it holds, the entry's value as well as its text.
      const size = shape.heldBytes
      return except === undefined ? { frame: built, text, size } : { frame: built, text, except, size }
    })
    if (appended instanceof Promise) {
      return appended.then((entry) => {
        this.options.bus.publish(stream, entry)
        return entry
      })
    }
    this.options.bus.publish(stream, appended)
    return appended
  }

  /** The seq of an append, as a promise: for the app-facing API, which never throws synchronously. */
  seqOf(append: () => StreamEntry | Promise<StreamEntry>): Promise<number> {
    try {
      const entry = append()
      return entry instanceof Promise ? entry.then((e) => e.seq) : Promise.resolve(entry.seq)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /** Publishes a presence entry on a topic that has presence (LL-PRESENCE-1, -2, -6). */
  presence(session: ServerSession, topic: string, event: 'joined' | 'away' | 'reconnected' | 'left'): void {
    if (event === 'left') this.registry.unsubscribe(topic, session)
    if (!this.options.presence(topic)) return
    if (event !== 'left') this.registry.setMember(topic, session, event === 'away' ? 'away' : 'online')
    const meta = session.meta
    this.seqOf(() =>
      this.append(topicStream(topic), (seq) =>
        meta === undefined
          ? { type: 'presence', seq, topic, sid: session.sid, event }
          : { type: 'presence', seq, topic, sid: session.sid, event, meta },
      ),
    ).catch((error: unknown) => this.reportError(error, 'presence append failed'))
  }

  /** Runs the session phase machine and performs its effects. */
  transition(session: ServerSession, event: SessionEvent, reason: EndReason = 'grace'): void {
    const [phase, effects] = sessionTransition(session.phase, event)
    session.phase = phase
    for (const effect of effects) {
      switch (effect.type) {
        case 'presence':
          for (const topic of [...session.topics]) this.presence(session, topic, effect.event)
          break
        case 'start-grace':
          session.expiresAt = this.options.clock.now() + this.options.graceMs
          session.graceTimer.set(this.options.graceMs, () => this.transition(session, { type: 'grace-over' }))
          this.persist(session)
          break
        case 'cancel-grace':
          session.graceTimer.clear()
          session.expiresAt = undefined
          break
        case 'free':
          this.free(session, reason)
          break
      }
    }
  }

  /** Ends a session at once, closing its connection with a bye when it has one (LL-GRACE-3). */
  end(session: ServerSession, reason: EndReason, bye: ServerBye | undefined): void {
    const connection = session.connection
    session.connection = undefined
    if (connection !== undefined && bye !== undefined) connection.close(bye)
    this.transition(session, { type: 'end' }, reason)
  }

  /** The transport or the heartbeat ended a connection. */
  connectionClosed(connection: ServerConnection, info: CloseInfo): void {
    this.connections.delete(connection)
    const session = connection.sid === undefined ? undefined : this.sessions.get(connection.sid)
    if (session === undefined || session.connection !== connection) return
    session.connection = undefined
    session.connectionLost()
    this.registry.disconnected(session)
    this.emit('away', { sid: session.sid, code: info.code })
    this.transition(session, { type: 'dropped' })
  }

  /** Refreshes a memento at half-life on a long-lived connection (LL-MEMENTO-6). */
  tick(connection: ServerConnection, now: number): void {
    const session = connection.sid === undefined ? undefined : this.sessions.get(connection.sid)
    if (session === undefined || now - session.mementoIssuedAt < this.options.mementoTtlMs / 2) return
    connection.send({ type: 'memento', memento: this.issueMemento(session) })
  }

  issueMemento(session: ServerSession): string {
    const now = this.options.clock.now()
    session.mementoIssuedAt = now
    return this.signer.issue({
      sid: session.sid,
      sub: session.subject,
      gen: session.generation,
      exp: Math.floor(now + this.options.mementoTtlMs),
    })
  }

  /** How a session ended, while that is remembered (LL-GRACE-2). */
  endReason(sid: string): UnrecoveredReason | undefined {
    return this.tombstones.get(sid)
  }

  persist(session: ServerSession): void {
    this.options.store
      .putSession(session.record())
      .catch((error: unknown) => this.reportError(error, 'store: putSession failed'))
  }

  handle(session: ServerSession): SessionHandle {
    return {
      get sid() {
        return session.sid
      },
      get subject() {
        return session.subject
      },
      get meta() {
        return session.meta
      },
      get topics() {
        return session.topics
      },
      send: (data, options) => this.sendDirect(session, data, options?.appMemento),
      kick: (reason = 'kicked') =>
        this.end(session, 'kick', { type: 'bye', code: CloseCode.KICKED, reason, reconnect: false }),
    }
  }

  /** Sends to a session's direct stream; the app memento rides on the message (LL-APPM-1). */
  sendDirect(session: ServerSession, data: unknown, appMemento?: unknown): Promise<number> {
    return this.seqOf(() => {
      if (session.phase === 'ended') throw new Error(`session ${session.sid} has ended`)
      let am: string | undefined
      if (appMemento !== undefined) {
        am = this.signer.issueAppMemento(session.subject, appMemento)
        session.appMemento = am
      }
      // LL-APPM-5: the readable value rides along with the token.
      return this.append(session.direct, (seq) =>
        am === undefined ? { type: 'msg', seq, data } : { type: 'msg', seq, data, am, amv: appMemento },
      )
    })
  }

  private free(session: ServerSession, reason: EndReason): void {
    session.graceTimer.clear()
    for (const topic of session.topics) this.registry.unsubscribe(topic, session)
    session.topics.clear()
    session.unsubscribeDirect?.()
    session.unsubscribeDirect = undefined
    this.sessions.delete(session.sid)
    const count = (this.sessionsBySubject.get(session.subject) ?? 1) - 1
    if (count <= 0) this.sessionsBySubject.delete(session.subject)
    else this.sessionsBySubject.set(session.subject, count)
    if (this.tombstones.size >= MAX_TOMBSTONES) {
      const oldest = this.tombstones.keys().next().value
      if (oldest !== undefined) this.tombstones.delete(oldest)
    }
    this.tombstones.set(session.sid, END_REASONS[reason])
    const store = this.options.store
    Promise.all([store.deleteSession(session.sid), store.dropStream(session.direct)]).catch(
      (error: unknown) => this.reportError(error, 'store: freeing a session failed'),
    )
    this.emit('end', { sid: session.sid, reason })
  }
}
