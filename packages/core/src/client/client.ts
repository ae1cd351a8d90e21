/**
 * The client runtime: performs the effects of the connection machine (machine.ts) and keeps the
 * session's data (outbox, inbox, topics, mementos) across connections.
 */
import {
  CloseCode,
  DEFAULT_MAX_FRAME_BYTES,
  type Hello,
  type ProtocolError,
  type ServerBye,
  type ServerFrame,
  type Welcome,
} from '@lifeline/protocol'
import { Timer } from '../clock.js'
import { Emitter } from '../emitter.js'
import { ConnectionClosedError, SendRejectedError } from '../errors.js'
import { atEndOfTick } from '../microtask.js'
import type { ClientTransport, CloseInfo } from '../transport.js'
import { ClientConnection } from './connection.js'
import { sendFrame, sendText, TOPIC_PATTERN } from './encoder.js'
import type { ClientEvents, ClientStatus, SendOptions, SessionEvent } from './events.js'
import { DIRECT, Inbox } from './inbox.js'
import { type ConnectionEffect, type ConnectionEvent, type ConnectionState, transition } from './machine.js'
import { type ClientOptions, type ResolvedClientOptions, resolveClientOptions } from './options.js'
import { Sends } from './sends.js'
import type { StoredSession } from './storage.js'
import { TopicSync } from './topic-sync.js'
import type { MemberInfo } from './topics.js'
import { TransportPicker } from './transports.js'

export class LifelineClient extends Emitter<ClientEvents> {
  private readonly options: ResolvedClientOptions
  private state: ConnectionState = { status: 'idle' }
  private connection: ClientConnection | undefined
  private readonly picker: TransportPicker
  /** The transport of the current attempt, by index in the picker. */
  private transportIndex = 0
  /** Whether the current attempt's connection has had its welcome. */
  private welcomed = false
  private readonly retryTimer: Timer
  private readonly ackTimer: Timer
  private readonly sends: Sends
  private ackDue = false
  private flushDue = false
  private readonly inbox: Inbox
  private readonly topics: TopicSync
  private memento: string | undefined
  private appMementoToken: string | undefined
  private appMementoValue: unknown
  private session: SessionEvent | undefined
  private maxFrameBytes = DEFAULT_MAX_FRAME_BYTES
  private resumeAsked = false
  private hasBeenOpen = false
  private reconnected = false
  private attempts = 0
  private warnedIdle = false
  private stopEnvironment: (() => void) | undefined
  private readonly events: ConnectionEvent[] = []
  private dispatching = false
  private loading = false
  private detached = false

  constructor(options: ClientOptions) {
    super()
    this.options = resolveClientOptions(options)
    this.picker = new TransportPicker(this.options.transports, this.options.transportPolicy)
    this.retryTimer = new Timer(this.options.clock)
    this.ackTimer = new Timer(this.options.clock)
    this.inbox = new Inbox(this.options.ackEvery)
    this.sends = new Sends(
      {
        limits: this.options.outbox,
        storage: this.options.storage,
        clock: this.options.clock,
        idPrefix: this.options.idPrefix,
        onOverflow: this.options.onOverflow,
      },
      this.inbox,
      () => ({
        memento: this.memento,
        appMementoToken: this.appMementoToken,
        appMementoValue: this.appMementoValue,
      }),
      {
        pending: (count) => this.emit('pending', count),
        settled: (id, topic, error) => this.emit('settled', { id, topic, error }),
        unsaved: (ids) => this.emit('unsaved', { ids }),
        lost: (ids) => this.emit('sendsLost', { ids }),
      },
    )
    this.topics = new TopicSync(
      this.inbox,
      (frame) => {
        if (this.state.status === 'open') this.connection?.send(frame)
      },
      {
        joined: (topic, recovered, presence, seq) => {
          const appMemento = this.inbox.appMemento(topic)
          this.emit('joined', { topic, recovered, presence, seq, appMemento })
          // LL-TOPIC-2: a join that did not recover lost entries of that topic.
          if (recovered === false) this.emit('gap', { topic, reason: 'overflow', seq })
        },
        joinError: (topic, code, reason) => this.emit('joinError', { topic, code, reason }),
        unjoined: (topic, code, reason) => this.emit('unjoined', { topic, code, reason }),
        error: (error) => this.emit('error', error),
      },
    )
  }

  get status(): ClientStatus {
    const state = this.state
    switch (state.status) {
      case 'idle':
        return { type: 'idle' }
      case 'connecting':
        return { type: 'connecting', attempt: state.failures, transport: this.transportName() }
      case 'open':
        return {
          type: 'open',
          transport: this.transportName(),
          sid: this.session?.sid ?? '',
          resumed: this.session?.resumed ?? false,
          recovered: this.session?.recovered ?? false,
        }
      case 'waiting':
        return { type: 'waiting', attempt: state.failures, delayMs: state.delayMs, reason: state.reason }
      default:
        return { type: 'closed', error: state.error }
    }
  }

  /** The name of the transport of the current (or last) attempt, e.g. `ws` or `socket.io`. */
  private transportName(): string {
    return this.picker.transports[this.transportIndex]?.name ?? ''
  }

  /** Sends not yet acked by the server, for a "3 pending" badge (LL-CLIENT-5). */
  get pending(): number {
    return this.sends.size
  }

  /** True once a connection after the first one has opened. */
  get wasReconnected(): boolean {
    return this.reconnected
  }

  /** Connection attempts made after the first open connection was lost (LL-INTENT-6). */
  get reconnectAttempts(): number {
    return this.attempts
  }

  /** Whether the last welcome recovered everything (false on a first connect). */
  get recovered(): boolean {
    return this.session?.recovered ?? false
  }

  /** The public session id, once open. */
  get sid(): string | undefined {
    return this.session?.sid
  }

  /** Members of a joined topic, by session id (LL-PRESENCE-3). */
  members(topic: string): ReadonlyMap<string, MemberInfo> {
    return this.topics.members(topic)
  }

  /**
   * The app memento's value, as the server app set it: the session's (no argument, LL-APPM-5), or a
   * topic's (LL-APPM-7) as of what the app has been given of that topic. After a reload it says where
   * the app's own history of the topic ends: load up to it, and the session brings what follows.
   */
  appMemento(topic?: string): unknown {
    return topic === undefined ? this.appMementoValue : this.inbox.appMemento(topic)
  }

  /** Topics joined or being joined. */
  get joinedTopics(): readonly string[] {
    return this.topics.names()
  }

  /** Unacked sends, oldest first, including those a reload kept (LL-SEND-9): for a pending list. */
  get pendingSends(): ReadonlyArray<{
    readonly id: string
    readonly topic: string | undefined
    readonly data: unknown
  }> {
    return this.sends.pendingMessages()
  }

  /**
   * Starts: reads what the storage kept (a session to resume, sends from before a reload), then
   * dials. With an asynchronous storage the dial waits for it.
   */
  connect(): void {
    if (this.state.status !== 'idle' || this.loading) return
    let stored: StoredSession | undefined | Promise<StoredSession | undefined>
    try {
      stored = this.options.storage.load()
    } catch {
      stored = undefined // an unreadable storage must not stop the client from connecting
    }
    if (!(stored instanceof Promise)) return this.start(stored)
    this.loading = true
    stored.then(
      (value) => this.start(value),
      () => this.start(undefined),
    )
  }

  private start(stored: StoredSession | undefined): void {
    this.loading = false
    if (this.state.status !== 'idle') return
    this.memento = stored?.memento
    this.appMementoToken = stored?.appMemento
    this.appMementoValue = stored?.appMementoValue
    if (stored?.cursors !== undefined) this.inbox.restore(stored.cursors, stored.epochs)
    if (stored?.topicMementos !== undefined) this.inbox.restoreMementos(stored.topicMementos)
    this.sends.restore(stored)
    const environment = this.options.environment
    this.stopEnvironment = environment.subscribe({
      online: () => this.dispatch({ type: 'online' }),
      offline: () => this.dispatch({ type: 'offline' }),
      visible: () => {
        if (this.state.status === 'open') this.connection?.ping() // LL-HELLO-1: nothing before welcome
      },
      hidden: () => {
        this.flushAcks()
        void this.sends.save()
      },
    })
    this.dispatch({ type: 'connect', online: environment.isOnline() })
  }

  /** Ends the session: bye to the server, no reconnect, pending sends fail (LL-INTENT-1). */
  close(): void {
    this.dispatch({ type: 'close' })
  }

  /**
   * Stops this client without ending its session, as a page unload does (call it on `pagehide`):
   * what the storage holds is saved a last time and then left alone for the next page, which resumes
   * the session and sends what is pending (LL-SEND-9); the connection closes without a bye (1001), so
   * the session waits in its grace period; no send settles. Tests use it to model a reload.
   */
  detach(): void {
    if (this.state.status === 'closed') return
    void this.sends.save()
    this.detached = true
    this.sends.detach()
    this.dispatch({ type: 'detach' })
  }

  /**
   * Sends a message, exactly once (LL-SEND-1..7). Resolves when the server app has processed it;
   * rejects on rejection, overflow, a message too large, or a close. Before `connect()` the status
   * is `idle`: the send waits in the outbox (counted by `pending`) until `connect()`, and the logger
   * says so once, since a forgotten `connect()` would otherwise leave it pending without a word.
   */
  send(data: unknown, options: SendOptions = {}): Promise<void> {
    if (this.state.status === 'idle' && !this.warnedIdle) {
      this.warnedIdle = true
      this.options.logger.warn('send() before connect(): queued until client.connect() is called')
    }
    const sent =
      this.state.status === 'closed'
        ? this.sends.refuse(options, new ConnectionClosedError('the client is closed', 1000))
        : this.sends.add(data, options, this.maxFrameBytes)
    // Sends marks a failure handled: one nobody awaits never crashes the app (LL-CLIENT-5).
    if (this.state.status === 'open') this.scheduleFlush()
    return sent
  }

  /** Sends made in one tick leave together: one pass over the outbox, not one per send. */
  private scheduleFlush(): void {
    if (this.flushDue) return
    this.flushDue = true
    atEndOfTick(() => {
      this.flushDue = false
      if (this.state.status === 'open') this.flushOutbox()
    })
  }

  /**
   * Joins a topic, at any time; restored or rejoined after reconnects (LL-TOPIC-1, -5, -6). A join
   * asked before `connect()` declares the topic: it is sent after the first welcome.
   */
  join(topic: string): Promise<void> {
    let joined: Promise<void>
    if (!TOPIC_PATTERN.test(topic))
      joined = Promise.reject(new TypeError(`invalid topic ${JSON.stringify(topic)}`))
    else if (this.state.status === 'closed')
      joined = Promise.reject(new ConnectionClosedError('the client is closed', 1000))
    else joined = this.topics.join(topic, this.state.status === 'open')
    // Like send: never an unhandled rejection; a refusal is also the `joinError` event.
    joined.catch(() => {})
    return joined
  }

  /** Leaves a topic; its entries are no longer delivered (LL-TOPIC-4). */
  leave(topic: string): void {
    this.topics.leave(topic, this.state.status === 'open')
  }

  /**
   * Runs one event through the machine and performs its effects. An effect that raises another event
   * (a dial failing at once) queues it, so every transition completes, and is reported, in order.
   */
  private dispatch(event: ConnectionEvent): void {
    this.events.push(event)
    if (this.dispatching) return
    this.dispatching = true
    try {
      for (let next = this.events.shift(); next !== undefined; next = this.events.shift()) this.step(next)
    } finally {
      this.dispatching = false
    }
  }

  private step(event: ConnectionEvent): void {
    const previous = this.state
    const [next, effects] = transition(previous, event, this.options)
    this.state = next
    for (const effect of effects) this.perform(effect)
    if (next !== previous) {
      if (next.status === 'closed') this.shutdown()
      this.emit('status', this.status)
    }
  }

  private perform(effect: ConnectionEffect): void {
    switch (effect.type) {
      case 'dial':
        return void this.dial()
      case 'schedule':
        return this.retryTimer.set(effect.delayMs, () => this.dispatch({ type: 'retry' }))
      case 'cancel-retry':
        return this.retryTimer.clear()
      case 'hang-up': {
        const connection = this.connection
        this.connection = undefined
        if (connection === undefined) return
        if (!effect.bye) return connection.close(this.detached ? 1001 : 1000, 'client closed')
        // LL-INTENT-1: the server answers bye 4007 and closes; close ourselves only if it does not.
        connection.send({ type: 'bye' })
        return connection.closeAfterBye(this.options.closeTimeoutMs)
      }
      case 'fail-pending':
        this.sends.failAll(effect.error)
        return this.topics.failAll(effect.error)
    }
  }

  private async dial(): Promise<void> {
    if (this.hasBeenOpen) this.attempts++
    const { index, transport } = this.pickTransport()
    this.welcomed = false
    if (transport.probe !== undefined) {
      const reachable = await transport.probe().catch(() => false)
      if (this.state.status !== 'connecting' || this.connection !== undefined) return
      if (!reachable) {
        this.picker.failed(index)
        return this.dispatch({ type: 'lost', code: 1006, reason: 'probe failed', bye: undefined })
      }
    }
    const connection: ClientConnection = new ClientConnection(
      transport,
      this.options.clock,
      { connectTimeoutMs: this.options.connectTimeoutMs, batch: this.options.batch },
      {
        open: () => void this.sendHello(connection),
        frame: (frame) => this.receive(connection, frame),
        lost: (info, bye) => this.lost(connection, info, bye),
        protocolError: (error: ProtocolError) => this.emit('error', error),
      },
    )
    this.connection = connection
    connection.start()
  }

  /** The transport of this attempt (LL-RESUME-10: any of them may carry the session). */
  private pickTransport(): { readonly index: number; readonly transport: ClientTransport } {
    const failures = this.state.status === 'connecting' ? this.state.failures : 0
    let picked: { readonly index: number; readonly transport: ClientTransport }
    try {
      picked = this.picker.pick(failures)
    } catch (error) {
      // A policy that throws or answers out of range must not stop the client: say so, use the first.
      this.emit('error', error instanceof Error ? error : new Error(String(error)))
      picked = { index: 0, transport: this.picker.transports[0] as ClientTransport }
    }
    this.transportIndex = picked.index
    return picked
  }

  private async sendHello(connection: ClientConnection): Promise<void> {
    let auth: unknown
    try {
      auth = typeof this.options.auth === 'function' ? await this.options.auth() : this.options.auth
    } catch (error) {
      // LL-AUTH-4: no credentials, no attempt: fail it now and try again after the backoff.
      this.emit('error', error instanceof Error ? error : new Error(String(error)))
      return connection.close(1000, 'auth failed')
    }
    if (connection !== this.connection || connection.isEnded) return
    const failures = this.state.status === 'connecting' ? this.state.failures : 0
    const hello: Hello = {
      type: 'hello',
      versions: [...this.options.versions],
      cid: this.options.idPrefix, // LL-RESUME-8: one random id per client object, never stored
      attempt: failures,
    }
    if (auth !== undefined) hello.auth = auth
    this.resumeAsked = this.memento !== undefined
    if (this.memento !== undefined) {
      // LL-RESUME-1, LL-HELLO-5: hand back the memento untouched, with what the app already has.
      hello.resume = { memento: this.memento, ...this.inbox.resumeCursors(this.topics.names()) }
    }
    if (this.appMementoToken !== undefined) hello.am = this.appMementoToken
    connection.send(hello)
  }

  private lost(connection: ClientConnection, info: CloseInfo, bye: ServerBye | undefined): void {
    if (connection !== this.connection) return
    this.connection = undefined
    if (!this.welcomed) this.picker.failed(this.transportIndex)
    this.ackTimer.clear()
    this.inbox.takeAcks() // the next hello carries the cursors instead
    void this.sends.save() // so a reload before that hello does not deliver them again
    this.sends.connectionLost()
    this.topics.connectionLost()
    if (bye?.code === CloseCode.SESSION_REPLACED || (bye !== undefined && !bye.reconnect)) {
      this.memento = undefined // LL-RESUME-8: never fight over the session
    }
    const online = this.options.environment.isOnline()
    this.dispatch({ type: 'lost', code: info.code, reason: info.reason, bye, online })
  }

  private receive(connection: ClientConnection, frame: ServerFrame): void {
    if (connection !== this.connection) return
    if (
      this.state.status !== 'open' &&
      frame.type !== 'welcome' &&
      frame.type !== 'bye' &&
      frame.type !== 'ping'
    ) {
      // LL-HELLO-2, LL-FRAME-7: nothing but welcome or bye comes first; drop the link rather than guess.
      return connection.refuse(`${frame.type} before welcome`)
    }
    switch (frame.type) {
      case 'welcome':
        return this.welcome(connection, frame)
      case 'msg': {
        const stream = frame.topic ?? DIRECT
        // LL-TOPIC-4: entries of a topic not (or not yet again) joined belong to an old subscription.
        if (frame.topic !== undefined && !this.topics.isJoined(frame.topic)) return
        if (!this.inbox.accepts(stream, frame.seq)) return // LL-SEQ-3: a replayed duplicate
        this.emit('message', { topic: frame.topic, data: frame.data, seq: frame.seq })
        // LL-APPM-2, LL-APPM-7: only once delivered; a topic's travels without a token (LL-APPM-6).
        if (frame.topic !== undefined) {
          if (frame.amv !== undefined) this.inbox.setAppMemento(frame.topic, frame.amv)
        } else if (frame.am !== undefined) {
          this.appMementoToken = frame.am
          this.appMementoValue = frame.amv
        }
        return this.delivered(stream, frame.seq)
      }
      case 'presence':
        if (!this.topics.isJoined(frame.topic) || !this.inbox.accepts(frame.topic, frame.seq)) return
        this.topics.presence(frame)
        this.emit('presence', {
          topic: frame.topic,
          sid: frame.sid,
          event: frame.event,
          meta: frame.meta,
          seq: frame.seq,
        })
        return this.delivered(frame.topic, frame.seq)
      case 'ack':
        this.sends.ack(frame.seq)
        return this.flushOutbox() // the window moved (LL-LIMIT-7)
      case 'joined':
        return this.topics.joined(frame)
      case 'join_error':
        return this.topics.joinError(frame)
      case 'unjoined':
        return this.topics.unjoined(frame)
      case 'memento':
        this.memento = frame.memento
        return void this.sends.save()
      case 'error':
        if (frame.ref !== undefined) return this.sends.reject(frame.ref, frame.code, frame.reason)
        return this.emit('error', new SendRejectedError(frame.code, frame.reason))
      case 'bye':
        return connection.close(frame.code, frame.reason)
      case 'ping':
      case 'pong':
        return
    }
  }

  private welcome(connection: ClientConnection, frame: Welcome): void {
    if (this.state.status !== 'connecting') return
    this.memento = frame.memento // LL-MEMENTO-1
    if (frame.am !== undefined) {
      this.appMementoToken = frame.am
      this.appMementoValue = frame.amv
    }
    this.maxFrameBytes = frame.limits.maxFrameBytes
    this.sends.welcome(frame) // LL-RESUME-5, LL-RESUME-6, LL-SEND-8, LL-SEND-10
    if (!frame.resumed) this.inbox.newSession()
    this.welcomed = true
    this.picker.opened(this.transportIndex)
    // LL-RESUME-12: streams that did not recover continue from where the server says, before any entry.
    const lost = frame.lost
    if (lost?.seq !== undefined) this.inbox.setCursor(DIRECT, lost.seq, undefined)
    const lostTopics = Object.entries(lost?.topics ?? {})
    for (const [topic, cursor] of lostTopics) this.inbox.setCursor(topic, cursor.seq, cursor.epoch)
    // LL-MEMENTO-8: stored before any frame of this connection can prove it; an asynchronous
    // storage holds the connection's frames until then.
    const saving = this.sends.save()
    if (saving !== undefined) {
      connection.hold()
      saving.then(
        () => connection.release(),
        () => connection.release(),
      )
    }
    this.session = {
      sid: frame.sid,
      resumed: frame.resumed,
      recovered: frame.recovered,
      resumeAsked: this.resumeAsked,
      reason: frame.reason,
      graceMs: frame.graceMs,
    }
    if (this.hasBeenOpen) this.reconnected = true
    this.hasBeenOpen = true
    connection.opened(frame.heartbeatMs, frame.heartbeatTimeoutMs, frame.limits.maxFrameBytes)
    this.dispatch({ type: 'welcome' })
    this.emit('session', this.session)
    if (this.resumeAsked && !frame.recovered) {
      // LL-RESUME-7: before any entry of this connection is delivered, naming the streams.
      const reason = frame.reason ?? 'overflow'
      const direct = !frame.resumed || lost?.seq !== undefined
      const topics = lostTopics.map(([topic]) => topic)
      this.emit('unrecovered', { reason, appMemento: this.appMementoValue, direct, topics })
      if (direct) this.emit('gap', { topic: undefined, reason, seq: lost?.seq ?? 0 })
      for (const [topic, cursor] of lostTopics) this.emit('gap', { topic, reason, seq: cursor.seq })
    }
    this.emit('pending', this.sends.size)
    this.topics.restore(frame, this.options.rejoin) // LL-TOPIC-5, LL-TOPIC-6
    this.flushOutbox()
  }

  private delivered(stream: string, seq: number): void {
    // LL-ACK-1: the listeners have returned, so the app has the entry; ack it, batched (LL-ACK-2).
    // Enough entries: ack at the end of this tick, so a batch of entries gets one ack, not one per 32.
    if (this.inbox.delivered(stream, seq)) {
      if (!this.ackDue) {
        this.ackDue = true
        atEndOfTick(() => {
          this.ackDue = false
          this.flushAcks()
        })
      }
    } else if (!this.ackTimer.armed) this.ackTimer.set(this.options.ackDelayMs, () => this.flushAcks())
  }

  private flushAcks(): void {
    this.ackTimer.clear()
    if (!this.inbox.hasUnacked) return
    const connection = this.connection
    for (const ack of this.inbox.takeAcks()) connection?.send(ack)
    void this.sends.save()
  }

  private flushOutbox(): void {
    const connection = this.connection
    if (connection === undefined) return
    const text = connection.encoding === 'text'
    for (const message of this.sends.take()) {
      if (text) connection.sendText(sendText(message))
      else connection.send(sendFrame(message))
    }
  }

  private shutdown(): void {
    this.retryTimer.clear()
    this.ackTimer.clear()
    this.stopEnvironment?.()
    this.stopEnvironment = undefined
    const connection = this.connection
    this.connection = undefined
    connection?.close(1000, 'client closed')
    this.memento = undefined
    if (this.detached) return // the next page resumes from the storage
    try {
      void Promise.resolve(this.options.storage.clear()).catch(() => {})
    } catch {
      // nothing left to protect: the session is over
    }
  }
}

/** Creates a client; call `connect()` to start. */
export function createClient(options: ClientOptions): LifelineClient {
  return new LifelineClient(options)
}
