/**
 * The server's shared state and the operations every part of it uses: appending to streams,
 * presence, the session lifecycle's effects (session-machine.ts), and freeing what a session held.
 * Ownership across nodes (claims, takeovers, requests to other nodes) is in ownership.ts.
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
import { movedBye, readAll } from './handshake.js'
import { MementoSigner } from './memento.js'
import type { ResolvedServerOptions, SessionHandle } from './options.js'
import { Ownership } from './ownership.js'
import { RateLimiter } from './rate-limiter.js'
import type { ServerSession } from './session.js'
import { type EndReason, owns, type SessionEvent, sessionTransition } from './session-machine.js'
import {
  type EndedReason,
  type EntryFrame,
  type StoredMember,
  type StreamEntry,
  type StreamName,
  topicStream,
} from './store.js'
import { TopicRegistry } from './topic-registry.js'

export type { EndReason } from './session-machine.js'

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
  /** Another node took a session this node held (LL-NODE-3); it lives on there. */
  moved: { readonly sid: string; readonly term: number }
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
const END_REASONS: Readonly<Record<EndReason, EndedReason>> = {
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
  readonly ownership: Ownership
  /** Set by `halt()`: this node acts as a dead one, writing nothing more. */
  halted = false
  private readonly tombstones = new Map<string, UnrecoveredReason>()
  /** Reports a failed store write of a session (shared by every session: no closure each). */
  readonly writeFailed = (error: unknown, what: string): void => this.reportError(error, what)

  constructor(readonly options: ResolvedServerOptions) {
    super()
    this.signer = new MementoSigner({
      keys: options.keys,
      currentKeyId: options.currentKeyId,
      randomBytes: options.randomBytes,
    })
    this.registry = new TopicRegistry(options.bus, options.presenceBatchMs > 0, options.store)
    this.failedResumes = new RateLimiter(options.clock, options.maxFailedResumesPerMinute, 60_000)
    this.ownership = new Ownership(this)
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
    id?: string,
  ): StreamEntry | Promise<StreamEntry> {
    const max = this.options.maxFrameBytes
    const appended = this.options.store.append(
      stream,
      (seq) => {
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
      },
      id === undefined ? undefined : { id },
    )
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

  /**
   * Publishes a presence entry on a topic that has presence (LL-PRESENCE-1, -2, -6), after writing the
   * member to the store (LL-NODE-7), in the order of the session's other writes.
   */
  presence(session: ServerSession, topic: string, event: 'joined' | 'away' | 'reconnected' | 'left'): void {
    if (this.halted) return
    if (event === 'left') this.registry.unsubscribe(topic, session)
    if (!this.options.presence(topic)) return
    const { sid, meta } = session
    const stream = topicStream(topic)
    const state: StoredMember['state'] = event === 'away' ? 'away' : 'online'
    const member: StoredMember | undefined =
      event === 'left' ? undefined : meta === undefined ? { sid, state } : { sid, state, meta }
    const store = this.options.store
    const append = (): Promise<void> | undefined => {
      const entry = this.append(stream, (seq) =>
        meta === undefined
          ? { type: 'presence', seq, topic, sid, event }
          : { type: 'presence', seq, topic, sid, event, meta },
      )
      return entry instanceof Promise ? entry.then(() => {}) : undefined
    }
    session.writes.run(() => {
      const written = store.setMember(stream, sid, member)
      return written instanceof Promise ? written.then(append) : append()
    }, 'presence append failed')
  }

  /** Runs the session lifecycle and performs its effects. */
  transition(session: ServerSession, event: SessionEvent): void {
    if (this.halted) return
    const [state, effects] = sessionTransition(session.state, event)
    session.state = state
    for (const effect of effects) {
      switch (effect.type) {
        case 'presence':
          for (const topic of [...session.topics]) this.presence(session, topic, effect.event)
          break
        case 'start-grace': {
          // An adopted session keeps what is left of its grace (LL-NODE-6), never more than a full one.
          const now = this.options.clock.now()
          const left = session.expiresAt === undefined ? this.options.graceMs : session.expiresAt - now
          const ms = Math.max(0, Math.min(this.options.graceMs, left))
          session.expiresAt = now + ms
          session.graceTimer.set(ms, () => this.transition(session, { type: 'grace-over' }))
          break
        }
        case 'cancel-grace':
          session.graceTimer.clear()
          session.expiresAt = undefined
          break
        case 'claim':
          this.ownership.claim(session, effect.term, effect.purpose)
          break
        case 'persist':
          this.persist(session)
          break
        case 'take-over':
          this.ownership.takeOver(session)
          break
        case 'close':
          this.closeMoved(session, effect.code)
          break
        case 'free':
          this.free(session, effect.reason)
          break
        case 'release':
          this.release(session)
          break
      }
    }
    session.settle()
  }

  /** Ends a session at once, closing its connection with a bye when it has one (LL-GRACE-3). */
  end(session: ServerSession, reason: EndReason, bye: ServerBye | undefined): void {
    const connection = session.connection
    session.connection = undefined
    if (connection !== undefined && bye !== undefined) connection.close(bye)
    this.transition(session, { type: 'end', reason })
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

  /**
   * Writes the session's record, after its earlier writes (LL-NODE-2); only while this node owns it.
   * The record is taken when the write runs, so it is the newest.
   */
  persist(session: ServerSession): void {
    if (this.halted) return
    if (!owns(session.state) && session.phase !== 'expiring' && session.phase !== 'ending') return
    const store = this.options.store
    const node = this.options.node
    session.writes.run(() => store.putSession(session.record(node)), 'store: putSession failed')
  }

  /** A session taken over: its last record, under its own term, for the taker to read (LL-NODE-3). */
  persistLast(session: ServerSession): void {
    if (this.halted || session.phase !== 'released') return
    const { store, node } = this.options
    session.writes.run(() => store.putSession(session.record(node)), 'store: putSession failed')
  }

  /** Persists, and resolves once the record (and every earlier write) is stored. */
  persisted(session: ServerSession): Promise<void> {
    this.persist(session)
    return session.writes.idle()
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
      kick: (reason = 'kicked') => void this.kick(session, reason),
    }
  }

  /** LL-INTENT-2; a session that moved to another node is kicked there (LL-NODE-9). */
  kick(session: ServerSession, reason: string): Promise<boolean> {
    if (session.phase === 'ended') return Promise.resolve(false)
    if (!owns(session.state)) return this.ownership.kick(session.sid, reason)
    this.end(session, 'kick', { type: 'bye', code: CloseCode.KICKED, reason, reconnect: false })
    return Promise.resolve(true)
  }

  /** Sends to a session's direct stream; the app memento rides on the message (LL-APPM-1). */
  sendDirect(session: ServerSession, data: unknown, appMemento?: unknown): Promise<number> {
    if (session.phase === 'released') return this.ownership.send(session.sid, data, appMemento) // LL-NODE-9
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

  /** Takes a session off a topic (a leave, or the app removing it: LL-TOPIC-4, LL-TOPIC-7). */
  leave(session: ServerSession, topic: string): boolean {
    if (!session.topics.delete(topic)) return false
    session.removeStream(topicStream(topic))
    this.presence(session, topic, 'left')
    this.persist(session)
    return true
  }

  /**
   * LL-NODE-5: a live entry came after a gap; what the feed skipped is read back from the store and
   * delivered before it. Not there any more: the connection ends, and the resume names the stream.
   */
  repair(session: ServerSession, stream: StreamName, after: number): void {
    const connection = session.connection
    const lost = (error?: unknown) => {
      if (error !== undefined) this.reportError(error, 'store: reading back a gap failed')
      if (session.connection !== connection) return
      connection?.close({
        type: 'bye',
        code: CloseCode.INTERNAL_ERROR,
        reason: 'a stream lost entries',
        reconnect: true,
      })
    }
    readAll(this.options.store, stream, after).then((read) => {
      if (session.connection !== connection || !session.hasStream(stream)) return
      if (!read.covered || read.epoch !== session.epochOf(stream)) return lost()
      session.release(stream, read.entries)
    }, lost)
  }

  /** LL-TOPIC-7: unjoined REMOVED, presence left. */
  remove(session: ServerSession, topic: string, reason: string): boolean {
    if (!this.leave(session, topic)) return false
    session.connection?.send({ type: 'unjoined', topic, code: CloseCode.REMOVED, reason })
    return true
  }

  /** LL-RESUME-8 across nodes: the connection here ends; the session goes on elsewhere. */
  private closeMoved(session: ServerSession, code: 'superseded' | 'replaced'): void {
    const connection = session.connection
    session.connection = undefined
    connection?.close(movedBye(code))
  }

  /** What the session held on this node, dropped; the store's shared state is left as it is. */
  private forget(session: ServerSession): void {
    session.graceTimer.clear()
    for (const topic of session.topics) this.registry.unsubscribe(topic, session)
    session.unsubscribeDirect?.()
    session.unsubscribeDirect = undefined
    if (this.sessions.get(session.sid) === session) {
      this.sessions.delete(session.sid)
      const count = (this.sessionsBySubject.get(session.subject) ?? 1) - 1
      if (count <= 0) this.sessionsBySubject.delete(session.subject)
      else this.sessionsBySubject.set(session.subject, count)
    }
  }

  /** Another node owns the session now (LL-NODE-3): forgotten here without a word to its topics. */
  private release(session: ServerSession): void {
    this.forget(session)
    // Sends queued behind the one being processed were never processed: the client resends them.
    session.dropBacklog()
    this.emit('moved', { sid: session.sid, term: session.state.term })
  }

  /** The session ended here (its `left` is published): its tombstone and the end of its shared state. */
  private free(session: ServerSession, reason: EndReason): void {
    this.forget(session)
    session.topics.clear()
    if (this.tombstones.size >= MAX_TOMBSTONES) {
      const oldest = this.tombstones.keys().next().value
      if (oldest !== undefined) this.tombstones.delete(oldest)
    }
    const ended = END_REASONS[reason]
    this.tombstones.set(session.sid, ended)
    const { store, node } = this.options
    // LL-NODE-4: the tombstone, at the term won to end the session, tells every node how it ended.
    session.writes.run(
      () => store.putSession({ ...session.record(node), ended, expiresAt: undefined }),
      'store: putSession failed',
    )
    session.writes.run(() => store.dropStream(session.direct), 'store: freeing a session failed')
    this.emit('end', { sid: session.sid, reason })
  }
}
