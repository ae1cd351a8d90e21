/**
 * The client runtime: performs the effects of the connection machine (machine.ts) and keeps the
 * session's data (outbox, inbox, topics, mementos) across connections.
 */
import {
  CloseCode,
  DEFAULT_MAX_FRAME_BYTES,
  exceedsBytes,
  type Hello,
  type Joined,
  type PresenceEvent,
  type ProtocolError,
  type ServerBye,
  type ServerFrame,
  type UnrecoveredReason,
  type Welcome,
} from '@lifeline/protocol'
import { Timer } from '../clock.js'
import { Emitter } from '../emitter.js'
import {
  BufferOverflowError,
  ConnectionClosedError,
  MessageTooLargeError,
  SendRejectedError,
} from '../errors.js'
import type { CloseInfo } from '../transport.js'
import { ClientConnection } from './connection.js'
import { DIRECT, Inbox } from './inbox.js'
import { type ConnectionEffect, type ConnectionEvent, type ConnectionState, transition } from './machine.js'
import { type ClientOptions, type ResolvedClientOptions, resolveClientOptions } from './options.js'
import { Outbox, type OutgoingMessage } from './outbox.js'
import { type MemberInfo, Topics } from './topics.js'

/** The client's status, as a discriminated union on `type`. */
export type ClientStatus =
  | { readonly type: 'idle' }
  | { readonly type: 'connecting'; readonly attempt: number }
  | { readonly type: 'open'; readonly sid: string; readonly resumed: boolean; readonly recovered: boolean }
  | {
      readonly type: 'waiting'
      readonly attempt: number
      readonly delayMs: number
      readonly reason: 'backoff' | 'server' | 'offline'
    }
  | { readonly type: 'closed'; readonly error: Error | undefined }

export interface InboundMessage {
  readonly topic: string | undefined
  readonly data: unknown
  readonly seq: number
}

export interface PresenceChange {
  readonly topic: string
  readonly sid: string
  readonly event: PresenceEvent
  readonly meta: unknown
  readonly seq: number
}

/** Every welcome: whether the session continued and whether anything was lost (LL-RESUME-2..7). */
export interface SessionEvent {
  readonly sid: string
  readonly resumed: boolean
  readonly recovered: boolean
  /** True when this connection asked to resume a session. */
  readonly resumeAsked: boolean
  readonly reason: UnrecoveredReason | undefined
}

/** The session could not be recovered: resync from your own storage (LL-RESUME-7, LL-APPM-3). */
export interface UnrecoveredEvent {
  readonly reason: UnrecoveredReason
  /** The last app memento the client held, as the server issued it. */
  readonly appMemento: string | undefined
}

export interface ClientEvents extends Record<string, unknown> {
  status: ClientStatus
  message: InboundMessage
  presence: PresenceChange
  session: SessionEvent
  unrecovered: UnrecoveredEvent
  joined: { readonly topic: string; readonly recovered: boolean | undefined }
  joinError: { readonly topic: string; readonly code: number; readonly reason: string }
  unjoined: { readonly topic: string; readonly code: number | undefined; readonly reason: string | undefined }
  /** The number of sends not yet acked changed. */
  pending: number
  /** A non-fatal problem: a server error frame, a protocol error that dropped the link. */
  error: Error
}

export interface SendOptions {
  readonly topic?: string
  /** A stable id of your own (for example from a durable outbox); must be unique per client. */
  readonly id?: string
}

const TOPIC_PATTERN = /^[!-~]{1,200}$/
const ID_PATTERN = /^[!-~]{1,128}$/
/** Room for the send frame around its data: type, seq, id and topic members. */
const SEND_OVERHEAD = 64

export class LifelineClient extends Emitter<ClientEvents> {
  private readonly options: ResolvedClientOptions
  private state: ConnectionState = { status: 'idle' }
  private connection: ClientConnection | undefined
  private readonly retryTimer: Timer
  private readonly ackTimer: Timer
  private readonly outbox: Outbox
  private readonly inbox: Inbox
  private readonly topics = new Topics()
  private readonly joinsSent = new Set<string>()
  private memento: string | undefined
  private appMemento: string | undefined
  private session: SessionEvent | undefined
  private maxFrameBytes = DEFAULT_MAX_FRAME_BYTES
  private resumeAsked = false
  private hasBeenOpen = false
  private reconnected = false
  private attempts = 0
  private nextId = 1
  private stopEnvironment: (() => void) | undefined
  private readonly events: ConnectionEvent[] = []
  private dispatching = false
  /** Leaves sent and not yet answered: their `unjoined` must not undo a later join (LL-TOPIC-4). */
  private readonly leavesSent = new Map<string, number>()

  constructor(options: ClientOptions) {
    super()
    this.options = resolveClientOptions(options)
    this.retryTimer = new Timer(this.options.clock)
    this.ackTimer = new Timer(this.options.clock)
    this.outbox = new Outbox(this.options.outbox)
    this.inbox = new Inbox(this.options.ackEvery)
  }

  get status(): ClientStatus {
    const state = this.state
    switch (state.status) {
      case 'idle':
        return { type: 'idle' }
      case 'connecting':
        return { type: 'connecting', attempt: state.failures }
      case 'open':
        return {
          type: 'open',
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

  /** Sends not yet acked by the server, for a "3 pending" badge (LL-CLIENT-5). */
  get pending(): number {
    return this.outbox.size
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

  /** Topics joined or being joined. */
  get joinedTopics(): readonly string[] {
    return this.topics.names()
  }

  connect(): void {
    if (this.state.status !== 'idle') return
    const stored = this.options.storage.load()
    this.memento = stored?.memento
    this.appMemento = stored?.appMemento
    if (stored?.cursors !== undefined) this.inbox.restore(stored.cursors)
    const environment = this.options.environment
    this.stopEnvironment = environment.subscribe({
      online: () => this.dispatch({ type: 'online' }),
      offline: () => this.dispatch({ type: 'offline' }),
      visible: () => {
        if (this.state.status === 'open') this.connection?.ping() // LL-HELLO-1: nothing before welcome
      },
      hidden: () => {
        this.flushAcks()
        this.persist()
      },
    })
    this.dispatch({ type: 'connect', online: environment.isOnline() })
  }

  /** Ends the session: bye to the server, no reconnect, pending sends fail (LL-INTENT-1). */
  close(): void {
    this.dispatch({ type: 'close' })
  }

  /**
   * Sends a message, exactly once (LL-SEND-1..7). Resolves when the server app has processed it;
   * rejects on rejection, overflow, a message too large, or a close.
   */
  send(data: unknown, options: SendOptions = {}): Promise<void> {
    if (this.state.status === 'closed') {
      return Promise.reject(new ConnectionClosedError('the client is closed', 1000))
    }
    let json: string | undefined
    try {
      json = JSON.stringify(data)
    } catch (cause) {
      return Promise.reject(new TypeError('data must be a JSON value', { cause }))
    }
    if (json === undefined) return Promise.reject(new TypeError('data must be a JSON value'))
    if (options.topic !== undefined && !TOPIC_PATTERN.test(options.topic)) {
      return Promise.reject(new TypeError(`invalid topic ${JSON.stringify(options.topic)}`))
    }
    if (options.id !== undefined && !ID_PATTERN.test(options.id)) {
      return Promise.reject(new TypeError('a message id is 1-128 printable ASCII characters (LL-FRAME-8)'))
    }
    const id = options.id ?? `${this.options.idPrefix}.${this.nextId++}`
    const tooLarge = this.tooLarge(json, id, options.topic) // LL-SEND-6: refused here, never sent
    if (tooLarge !== undefined) return Promise.reject(tooLarge)
    const encoded = json
    return new Promise<void>((resolve, reject) => {
      const message: OutgoingMessage = {
        id,
        topic: options.topic,
        data,
        json: encoded,
        seq: 0,
        settle: (error) => (error === undefined ? resolve() : reject(error)),
      }
      let dropped: OutgoingMessage[]
      try {
        dropped = this.outbox.add(message)
      } catch (error) {
        this.options.onOverflow?.({ id, topic: options.topic, data }, error as Error)
        reject(error)
        return
      }
      for (const victim of dropped) this.dropOverflow(victim)
      this.emit('pending', this.outbox.size)
      if (this.state.status === 'open') this.flushOutbox()
    })
  }

  /** Joins a topic, at any time; restored or rejoined after reconnects (LL-TOPIC-1, -5, -6). */
  join(topic: string): Promise<void> {
    if (!TOPIC_PATTERN.test(topic))
      return Promise.reject(new TypeError(`invalid topic ${JSON.stringify(topic)}`))
    if (this.state.status === 'closed')
      return Promise.reject(new ConnectionClosedError('the client is closed', 1000))
    const joined = this.topics.want(topic)
    if (this.state.status === 'open') this.sendJoin(topic)
    return joined
  }

  /** Leaves a topic; its entries are no longer delivered (LL-TOPIC-4). */
  leave(topic: string): void {
    if (!this.topics.unwant(topic)) return
    this.joinsSent.delete(topic)
    this.inbox.forget(topic)
    if (this.state.status === 'open') this.sendLeave(topic)
  }

  private sendLeave(topic: string): void {
    if (this.connection === undefined) return
    this.leavesSent.set(topic, (this.leavesSent.get(topic) ?? 0) + 1)
    this.connection.send({ type: 'leave', topic })
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
        if (effect.bye) connection.send({ type: 'bye' })
        return connection.close(1000, 'client closed')
      }
      case 'fail-pending':
        this.outbox.failAll(effect.error)
        this.topics.failAll(effect.error)
        return this.emit('pending', 0)
    }
  }

  private async dial(): Promise<void> {
    if (this.hasBeenOpen) this.attempts++
    const transport = this.options.transport
    if (transport.probe !== undefined) {
      const reachable = await transport.probe().catch(() => false)
      if (this.state.status !== 'connecting' || this.connection !== undefined) return
      if (!reachable)
        return this.dispatch({ type: 'lost', code: 1006, reason: 'probe failed', bye: undefined })
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
    if (this.appMemento !== undefined) hello.am = this.appMemento
    connection.send(hello)
  }

  private lost(connection: ClientConnection, info: CloseInfo, bye: ServerBye | undefined): void {
    if (connection !== this.connection) return
    this.connection = undefined
    this.ackTimer.clear()
    this.inbox.takeAcks() // the next hello carries the cursors instead
    this.persist() // so a reload before that hello does not deliver them again
    this.joinsSent.clear()
    this.leavesSent.clear()
    this.outbox.connectionLost()
    this.topics.connectionLost()
    if (bye?.code === CloseCode.SESSION_REPLACED || (bye !== undefined && !bye.reconnect)) {
      this.memento = undefined // LL-RESUME-8: never fight over the session
    }
    this.dispatch({ type: 'lost', code: info.code, reason: info.reason, bye })
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
        if (frame.topic !== undefined && this.topics.state(frame.topic) !== 'joined') return
        if (!this.inbox.accepts(stream, frame.seq)) return // LL-SEQ-3: a replayed duplicate
        this.emit('message', { topic: frame.topic, data: frame.data, seq: frame.seq })
        if (frame.am !== undefined) this.appMemento = frame.am // LL-APPM-2: only once delivered
        return this.delivered(stream, frame.seq)
      }
      case 'presence':
        if (this.topics.state(frame.topic) !== 'joined' || !this.inbox.accepts(frame.topic, frame.seq)) return
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
        this.outbox.ack(frame.seq)
        return this.emit('pending', this.outbox.size)
      case 'joined':
        return this.joined(frame)
      case 'join_error': {
        this.joinsSent.delete(frame.topic)
        this.topics.failed(frame.topic, frame.code, frame.reason)
        return this.emit('joinError', { topic: frame.topic, code: frame.code, reason: frame.reason })
      }
      case 'unjoined': {
        const pending = this.leavesSent.get(frame.topic) ?? 0
        if (frame.code === undefined && pending > 0) {
          // The answer to a leave we sent; the topic may have been joined again since.
          if (pending === 1) this.leavesSent.delete(frame.topic)
          else this.leavesSent.set(frame.topic, pending - 1)
          if (this.topics.has(frame.topic)) return
        } else {
          this.joinsSent.delete(frame.topic)
          this.topics.unwant(frame.topic)
          this.inbox.forget(frame.topic)
        }
        return this.emit('unjoined', { topic: frame.topic, code: frame.code, reason: frame.reason })
      }
      case 'memento':
        this.memento = frame.memento
        return this.persist()
      case 'error':
        if (frame.ref !== undefined) {
          this.outbox.reject(frame.ref, new SendRejectedError(frame.code, frame.reason))
          return this.emit('pending', this.outbox.size)
        }
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
    if (frame.am !== undefined) this.appMemento = frame.am
    this.maxFrameBytes = frame.limits.maxFrameBytes
    // Sends queued before this welcome were checked against a limit we now know.
    this.outbox.discardQueued((message) => this.tooLarge(message.json, message.id, message.topic))
    if (frame.resumed)
      this.outbox.resumed(frame.ackedSeq) // LL-RESUME-5
    else {
      this.outbox.newSession() // LL-RESUME-6
      this.inbox.newSession()
    }
    this.session = {
      sid: frame.sid,
      resumed: frame.resumed,
      recovered: frame.recovered,
      resumeAsked: this.resumeAsked,
      reason: frame.reason,
    }
    if (this.hasBeenOpen) this.reconnected = true
    this.hasBeenOpen = true
    connection.opened(frame.heartbeatMs, frame.heartbeatTimeoutMs, frame.limits.maxFrameBytes)
    this.dispatch({ type: 'welcome' })
    this.emit('session', this.session)
    if (this.resumeAsked && !frame.recovered) {
      // LL-RESUME-7: before any entry of this connection is delivered.
      this.emit('unrecovered', { reason: frame.reason ?? 'overflow', appMemento: this.appMemento })
    }
    this.emit('pending', this.outbox.size)
    this.restoreTopics(frame)
    this.flushOutbox()
    this.persist()
  }

  private restoreTopics(frame: Welcome): void {
    const wanted = this.topics.names()
    if (frame.resumed) {
      // LL-TOPIC-5: the server restored its topics; join what it lacks, leave what is unwanted.
      const restored = new Set(frame.topics)
      for (const topic of wanted) {
        if (!restored.has(topic)) this.sendJoin(topic)
        else if (this.topics.restored(topic)) this.connection?.send({ type: 'join', topic }) // members
      }
      for (const topic of frame.topics)
        if (!this.topics.has(topic)) this.connection?.send({ type: 'leave', topic })
      return
    }
    // LL-TOPIC-6: a new session joins again what the app had joined, filtered by the app.
    const rejoin = this.options.rejoin
    if (rejoin === undefined || wanted.length === 0) return this.sendJoins(wanted)
    Promise.resolve()
      .then(() => rejoin(wanted))
      .then(
        (chosen) => {
          const keep = new Set(chosen)
          for (const topic of wanted) {
            if (keep.has(topic)) continue
            this.topics.unwant(topic) // a new session never had it: nothing to leave on the server
            this.inbox.forget(topic)
          }
          this.sendJoins(wanted.filter((topic) => keep.has(topic)))
        },
        (error: unknown) => this.emit('error', error instanceof Error ? error : new Error(String(error))),
      )
  }

  private sendJoins(topics: readonly string[]): void {
    for (const topic of topics) this.sendJoin(topic)
  }

  private sendJoin(topic: string): void {
    if (this.joinsSent.has(topic) || this.topics.state(topic) !== 'joining') return
    this.joinsSent.add(topic)
    const from = this.inbox.cursor(topic)
    this.connection?.send(from > 0 ? { type: 'join', topic, from } : { type: 'join', topic })
  }

  private joined(frame: Joined): void {
    this.joinsSent.delete(frame.topic)
    // Left while the server decided the join: leave again, or the session stays a member.
    if (!this.topics.joined(frame)) return this.sendLeave(frame.topic)
    this.inbox.setCursor(frame.topic, frame.seq) // LL-TOPIC-2: entries after seq follow
    this.emit('joined', { topic: frame.topic, recovered: frame.recovered })
  }

  private delivered(stream: string, seq: number): void {
    // LL-ACK-1: the listeners have returned, so the app has the entry; ack it, batched (LL-ACK-2).
    if (this.inbox.delivered(stream, seq)) this.flushAcks()
    else if (!this.ackTimer.armed) this.ackTimer.set(this.options.ackDelayMs, () => this.flushAcks())
  }

  private flushAcks(): void {
    this.ackTimer.clear()
    if (!this.inbox.hasUnacked) return
    const connection = this.connection
    for (const ack of this.inbox.takeAcks()) connection?.send(ack)
    this.persist()
  }

  private flushOutbox(): void {
    const connection = this.connection
    if (connection === undefined) return
    for (const message of this.outbox.takeQueued()) {
      const topic = message.topic === undefined ? '' : `,"topic":${JSON.stringify(message.topic)}`
      if (this.options.transport.encoding === 'text') {
        connection.sendText(
          `{"type":"send","seq":${message.seq},"id":${JSON.stringify(message.id)}${topic},"data":${message.json}}`,
        )
      } else {
        const frame = { type: 'send' as const, seq: message.seq, id: message.id, data: message.data }
        connection.send(message.topic === undefined ? frame : { ...frame, topic: message.topic })
      }
    }
  }

  /** LL-SEND-6: a frame over the server's limit in UTF-8 is refused locally. */
  private tooLarge(json: string, id: string, topic: string | undefined): MessageTooLargeError | undefined {
    const budget = this.maxFrameBytes - SEND_OVERHEAD - id.length - (topic?.length ?? 0)
    return exceedsBytes(json, budget) ? new MessageTooLargeError(json.length, this.maxFrameBytes) : undefined
  }

  private dropOverflow(message: OutgoingMessage): void {
    const error = new BufferOverflowError(
      'dropped by the outbox overflow policy',
      this.options.outbox.overflow,
    )
    this.options.onOverflow?.({ id: message.id, topic: message.topic, data: message.data }, error)
    message.settle(error)
  }

  private persist(): void {
    const session = this.memento === undefined ? undefined : { memento: this.memento }
    if (session === undefined) return
    this.options.storage.save({
      ...session,
      ...(this.appMemento === undefined ? {} : { appMemento: this.appMemento }),
      cursors: this.inbox.snapshot(),
    })
  }

  private shutdown(): void {
    this.retryTimer.clear()
    this.ackTimer.clear()
    this.stopEnvironment?.()
    this.stopEnvironment = undefined
    const connection = this.connection
    this.connection = undefined
    connection?.close(1000, 'client closed')
    this.options.storage.clear()
    this.memento = undefined
  }
}

/** Creates a client; call `connect()` to start. */
export function createClient(options: ClientOptions): LifelineClient {
  return new LifelineClient(options)
}
