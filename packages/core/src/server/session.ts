/**
 * A session's state on this node: its phase, its streams with what was sent and acked, its client
 * send counters, and its app-facing handle. Delivery to the connection lives here so the replay
 * boundary (LL-REPLAY-1, LL-REPLAY-2) is enforced in one place.
 */
import { CloseCode, type Send } from '@lifeline/protocol'
import type { Clock } from '../clock.js'
import { Timer } from '../clock.js'
import type { ServerConnection } from './connection.js'
import type { SessionHandle } from './options.js'
import { openedState, type SessionPhase, type SessionState } from './session-machine.js'
import type { SessionRecord, StreamEntry, StreamName } from './store.js'
import { directStream, topicStream } from './store.js'
import { WriteQueue } from './write-queue.js'

interface StreamState {
  /** Highest seq sent on the current connection, or known to be covered for it. */
  sent: number
  /** Highest seq the client acked (LL-ACK-1). */
  acked: number
  /** The incarnation sent and acked belong to (LL-EPOCH-1); undefined until first known. */
  epoch: string | undefined
  /**
   * The highest seq the client can know of in this incarnation: ever written toward it, or a point
   * it was told to continue from. A client cursor above it is not the client's (LL-RESUME-11).
   */
  known: number
  /** While a replay is read, live entries wait here so they follow it (LL-REPLAY-2). */
  held: StreamEntry[] | undefined
}

export class ServerSession {
  /** Where the session stands on this node, ownership included (session-machine.ts). */
  state: SessionState = openedState()
  /** Records written in this term, numbered so a store keeps the last (LL-NODE-2). */
  version = 0
  /** Store writes of this session, in order. */
  readonly writes: WriteQueue
  /**
   * Taken from a node that could not hand it over (it died): the record may lag behind what the
   * client was told, so its next send's seq says where its numbering goes on (LL-NODE-3).
   */
  resync = false
  /** Waiting for the send being processed to finish (a takeover, LL-NODE-3). */
  private idleWaiters: (() => void)[] | undefined
  /** Waiting for a claim or a takeover in flight to be decided. */
  private settleWaiters: (() => void)[] | undefined
  /** The node that held the session before this one took it (LL-NODE-3). */
  previousOwner: string | undefined
  /** Set when another node took the session while this one was taking it: was it the same client? */
  supersededBySameClient: boolean | undefined
  /** hello.cid of the connection a takeover in flight is for. */
  pendingCid: string | undefined
  connection: ServerConnection | undefined
  /** Newest memento generation issued, and the highest the client proved it holds (LL-MEMENTO-5). */
  generation = 0
  proven = 0
  mementoIssuedAt = 0
  /** Highest client send seq received, and processed by the app (LL-SEND-2, LL-SEND-4). */
  received = 0
  processed = 0
  /** Ids of sends received and not yet processed, by seq: what a resend may repeat (LL-SEND-2). */
  readonly unprocessed = new Map<number, string>()
  /** The sends the current connection may resend: unprocessed when its welcome went out. */
  resendable: Map<number, string> | undefined
  /** Sends received but waiting for an earlier one's async handler, in order (bounded: LL-LIMIT-7). */
  readonly backlog: Send[] = []
  /** Sizes of the backlog's sends, in the same order, and their sum. */
  private readonly backlogSizes: number[] = []
  backlogBytes = 0
  busy = false
  ackDue = false
  appMemento: string | undefined
  expiresAt: number | undefined
  readonly topics = new Set<string>()
  /**
   * Joins being decided (an async onJoin), counted against maxTopics (LL-TOPIC-8), each with a token a
   * leave removes to cancel it; made when needed.
   */
  joining: Map<string, object> | undefined
  readonly graceTimer: Timer
  readonly direct: StreamName
  private readonly streams = new Map<StreamName, StreamState>()
  unsubscribeDirect: (() => void) | undefined

  constructor(
    readonly sid: string,
    readonly subject: string,
    readonly meta: unknown,
    clock: Clock,
    /** Makes the app's handle and reports failed writes (the server core; shared, no closure per session). */
    private readonly handles: {
      handle(session: ServerSession): SessionHandle
      readonly writeFailed: (error: unknown, what: string) => void
      /** Reads back what a stream's live feed skipped after `after`, then calls `release`. */
      repair(session: ServerSession, stream: StreamName, after: number): void
    },
  ) {
    this.writes = new WriteQueue(handles.writeFailed)
    this.graceTimer = new Timer(clock)
    this.direct = directStream(sid)
    this.streams.set(this.direct, { sent: 0, acked: 0, epoch: undefined, known: 0, held: undefined })
  }

  /** Queues a send behind the one being processed. */
  enqueue(frame: Send, bytes: number): void {
    this.backlog.push(frame)
    this.backlogSizes.push(bytes)
    this.backlogBytes += bytes
  }

  /** The next send to process, if any. */
  dequeue(): Send | undefined {
    const next = this.backlog.shift()
    if (next !== undefined) this.backlogBytes -= this.backlogSizes.shift() ?? 0
    return next
  }

  /**
   * Forgets every queued send, as if never received: the client still holds them unacked and sends
   * them again on its next connection (LL-LIMIT-7, LL-SEND-2). The one being processed stays.
   */
  dropBacklog(): void {
    for (const frame of this.backlog) this.unprocessed.delete(frame.seq)
    this.backlog.length = 0
    this.backlogSizes.length = 0
    this.backlogBytes = 0
    this.received = this.processed + (this.busy ? 1 : 0)
  }

  get phase(): SessionPhase {
    return this.state.phase
  }

  /** The send being processed finished (or none was). */
  whenIdle(): Promise<void> {
    if (!this.busy) return Promise.resolve()
    return new Promise((resolve) => {
      this.idleWaiters ??= []
      this.idleWaiters.push(resolve)
    })
  }

  /** Whether a claim or a takeover is in flight. */
  get unsettled(): boolean {
    const phase = this.state.phase
    return phase === 'adopting' || phase === 'taking-over' || phase === 'expiring' || phase === 'ending'
  }

  /** Resolves once no claim or takeover is in flight. */
  whenSettled(): Promise<void> {
    if (!this.unsettled) return Promise.resolve()
    return new Promise((resolve) => {
      this.settleWaiters ??= []
      this.settleWaiters.push(resolve)
    })
  }

  /** Called after every transition. */
  settle(): void {
    if (this.unsettled || this.settleWaiters === undefined) return
    const waiters = this.settleWaiters
    this.settleWaiters = undefined
    for (const resolve of waiters) resolve()
  }

  /** Called when no send is being processed any more. */
  idle(): void {
    const waiters = this.idleWaiters
    this.idleWaiters = undefined
    for (const resolve of waiters ?? []) resolve()
  }

  /**
   * Takes the state another node recorded (LL-NODE-3): counters, cursors, topics, app memento. Sends
   * it received and did not process are unknown here: the client resends them as new.
   */
  restore(record: SessionRecord): void {
    this.generation = record.generation
    this.proven = record.proven
    this.processed = record.processedSeq
    this.received = record.processedSeq
    this.resync ||= record.resync === true
    this.unprocessed.clear()
    this.appMemento = record.appMemento
    this.expiresAt = record.expiresAt
    // What the node that held the session sent is not recorded: the client may know of anything up
    // to each stream's end, which the replay's read checks (LL-RESUME-11: a cursor above the end).
    const known = Number.MAX_SAFE_INTEGER
    const direct = this.streams.get(this.direct)
    if (direct !== undefined) {
      direct.acked = direct.sent = Math.max(direct.acked, record.directAcked)
      direct.known = known
    }
    for (const [topic, { seq, epoch }] of Object.entries(record.topics)) {
      const stream = topicStream(topic)
      this.topics.add(topic)
      const state = this.streams.get(stream)
      if (state === undefined)
        this.streams.set(stream, { sent: seq, acked: seq, epoch, known, held: undefined })
      else {
        state.acked = state.sent = Math.max(state.acked, seq)
        state.epoch ??= epoch
        state.known = known
      }
    }
  }

  private handleCache: SessionHandle | undefined
  get app(): SessionHandle {
    this.handleCache ??= this.handles.handle(this)
    return this.handleCache
  }

  hasStream(stream: StreamName): boolean {
    return this.streams.has(stream)
  }

  addStream(stream: StreamName, cursor: number): void {
    this.streams.set(stream, {
      sent: cursor,
      acked: cursor,
      epoch: undefined,
      known: cursor,
      held: undefined,
    })
  }

  removeStream(stream: StreamName): void {
    this.streams.delete(stream)
  }

  cursor(
    stream: StreamName,
  ): { sent: number; acked: number; epoch: string | undefined; known: number } | undefined {
    return this.streams.get(stream)
  }

  /** The stream's incarnation as the client knows it (LL-EPOCH-2). */
  epochOf(stream: StreamName): string | undefined {
    return this.streams.get(stream)?.epoch
  }

  /** LL-ACK-3: ignores regressions, clamps to what was sent; returns the new ack or undefined. */
  ack(stream: StreamName, seq: number): number | undefined {
    const state = this.streams.get(stream)
    if (state === undefined) return undefined
    const acked = Math.min(seq, state.sent)
    if (acked <= state.acked) return undefined
    state.acked = acked
    return acked
  }

  /** Holds live entries of a stream until `release` (a replay is being read). */
  hold(stream: StreamName): void {
    const state = this.streams.get(stream)
    if (state !== undefined) state.held ??= []
  }

  /**
   * Sets a stream's cursor for the current connection: where the client continues, in which
   * incarnation. For a stream that did not recover this may go down (LL-RESUME-11): a cursor above
   * the end would silence the stream for good.
   */
  reset(stream: StreamName, cursor: number, epoch: string): void {
    const state = this.streams.get(stream)
    if (state === undefined) return
    state.known = epoch === state.epoch ? Math.max(state.known, cursor) : cursor
    state.sent = cursor
    state.acked = cursor
    state.epoch = epoch
  }

  /** Sends replayed entries, then the held live ones after them, none twice (LL-REPLAY-1, -2). */
  release(stream: StreamName, replay: readonly StreamEntry[]): void {
    const state = this.streams.get(stream)
    if (state === undefined) return
    const held = state.held ?? []
    state.held = undefined
    for (const entry of replay) this.write(state, entry)
    for (const entry of held) this.write(state, entry)
  }

  /** A live entry of one of the session's streams; a lazy one may wait for company (LL-PRESENCE-7). */
  deliver(stream: StreamName, entry: StreamEntry, lazy = false): void {
    const state = this.streams.get(stream)
    if (state === undefined) return
    if (state.held !== undefined) state.held.push(entry)
    else if (entry.seq > state.sent + 1 && entry.epoch === state.epoch && this.connection?.isOpen === true) {
      // LL-NODE-5: entries of a stream reach every node in order; one that did not is read back from
      // the store, and what follows waits for it.
      state.held = [entry]
      this.handles.repair(this, stream, state.sent)
    } else this.write(state, entry, lazy)
  }

  /** The connection is gone: nothing counts as sent any more; the next one starts from the acks. */
  connectionLost(): void {
    for (const state of this.streams.values()) {
      state.sent = state.acked
      state.held = undefined
    }
  }

  streamNames(): IterableIterator<StreamName> {
    return this.streams.keys()
  }

  /** The record of this session as this node's, numbered after the last one (LL-NODE-2). */
  record(node: string): SessionRecord {
    const topics: Record<string, { seq: number; epoch: string | undefined }> = {}
    for (const topic of this.topics) {
      const state = this.streams.get(`t:${topic}`)
      topics[topic] = { seq: state?.acked ?? 0, epoch: state?.epoch }
    }
    return {
      sid: this.sid,
      node,
      term: this.state.term,
      version: ++this.version,
      subject: this.subject,
      meta: this.meta,
      generation: this.generation,
      proven: this.proven,
      processedSeq: this.processed,
      receivedSeq: this.received,
      ...(this.resync ? { resync: true } : {}),
      directAcked: this.streams.get(this.direct)?.acked ?? 0,
      topics,
      appMemento: this.appMemento,
      expiresAt: this.expiresAt,
    }
  }

  private write(state: StreamState, entry: StreamEntry, lazy = false): void {
    const connection = this.connection
    if (connection === undefined || !connection.isOpen) return
    // The first entry seen fixes the incarnation of a stream whose epoch was not read yet (direct).
    state.epoch ??= entry.epoch
    if (entry.epoch !== state.epoch) {
      // LL-EPOCH-4: the stream started again under us; its seqs mean nothing against our cursor.
      // The resume that follows reads the new incarnation and reports the stream lost.
      // Closed after the fan-out that brought the entry, which must not see the session go away.
      queueMicrotask(() =>
        connection.close({
          type: 'bye',
          code: CloseCode.INTERNAL_ERROR,
          reason: 'a stream was reset',
          reconnect: true,
        }),
      )
      return
    }
    if (entry.seq <= state.sent) return
    state.sent = entry.seq
    if (entry.seq > state.known) state.known = entry.seq
    if (entry.except !== this.sid) connection.sendEntry(entry.text, entry.frame, lazy)
  }
}
