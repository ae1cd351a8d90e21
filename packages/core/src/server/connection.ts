/**
 * One accepted connection: decodes what arrives (LL-FRAME-3..5, LL-WS-2), enforces the hello timeout
 * (LL-HELLO-3) and the heartbeat (LL-BEAT-1..3), and writes frames in per-tick batches. It knows nothing
 * of sessions: the server routes its frames.
 */
import {
  type ClientFrame,
  CloseCode,
  decodeClientFrames,
  MAX_BATCH_FRAMES,
  ProtocolError,
  type ServerBye,
  type ServerFrame,
  validateClientFrame,
} from '@lifeline/protocol'
import { packFrames } from '../batching.js'
import { type Clock, Timer } from '../clock.js'
import { Heartbeat, type HeartbeatHandlers } from '../heartbeat.js'
import { atEndOfTick } from '../microtask.js'
import {
  type CloseInfo,
  closeReason,
  type Encoding,
  type Payload,
  type ServerTransportConnection,
} from '../transport.js'

export type ConnectionPhase = 'hello' | 'opening' | 'open' | 'closed'

export interface ServerConnectionHandlers {
  /** `bytes`: the frame's share of the text it came in, or undefined for object transports. */
  frame(connection: ServerConnection, frame: ClientFrame, bytes: number | undefined): void
  closed(connection: ServerConnection, info: CloseInfo): void
  /** Called on every heartbeat tick of an open connection. */
  tick(connection: ServerConnection, now: number): void
}

export interface ServerConnectionLimits {
  readonly maxFrameBytes: number
  readonly helloTimeoutMs: number
  readonly maxBufferedBytes: number
  /** LL-PRESENCE-7: how long presence entries sent lazily may wait for company. */
  readonly presenceBatchMs: number
}

/** Writes every connection's queued frames once per tick, so a burst becomes one transport message. */
export class FlushScheduler {
  private dirty: ServerConnection[] = []
  private scheduled = false

  mark(connection: ServerConnection): void {
    this.dirty.push(connection)
    if (this.scheduled) return
    this.scheduled = true
    atEndOfTick(() => this.flush())
  }

  flush(): void {
    this.scheduled = false
    const dirty = this.dirty
    this.dirty = []
    for (const connection of dirty) connection.flush()
  }
}

export class ServerConnection implements HeartbeatHandlers {
  phase: ConnectionPhase = 'hello'
  /** The session this connection carries, once open (set by the server). */
  sid: string | undefined
  /** hello.cid: the client instance, to tell its own stale connection from a duplicated tab. */
  cid: string | undefined
  /** Frames that came after hello, before welcome went out: handled right after it (LL-HELLO-7). */
  held: ClientFrame[] | undefined
  /** Text received while frames are held, bounded like one frame (LL-HELLO-7). */
  heldBytes = 0
  private queue: Payload[] = []
  /** Object transports: the JSON text of each queued frame when it is already known (stream entries). */
  private texts: (string | undefined)[] = []
  private queuedBytes = 0
  /** A flush at the end of this tick is scheduled. */
  private due = false
  /** Only lazy frames are queued: they leave when this fires, or with the next other frame. */
  private readonly lazyTimer: Timer
  private readonly helloTimer: Timer
  private readonly heartbeat: Heartbeat
  private pingId = 0
  private closing = false
  private readingPaused = false

  constructor(
    readonly transport: ServerTransportConnection,
    private readonly encoding: Encoding,
    clock: Clock,
    private readonly limits: ServerConnectionLimits,
    private readonly scheduler: FlushScheduler,
    private readonly handlers: ServerConnectionHandlers,
  ) {
    this.lazyTimer = new Timer(clock)
    this.helloTimer = new Timer(clock)
    this.helloTimer.set(limits.helloTimeoutMs, () =>
      this.fail(CloseCode.HELLO_TIMEOUT, 'no hello in time', true),
    )
    // The connection is its own heartbeat handler: no closures kept per idle connection.
    this.heartbeat = new Heartbeat(clock, this)
  }

  /** Heartbeat: nothing sent for heartbeatMs (LL-BEAT-1). */
  ping(): void {
    this.send({ type: 'ping', id: ++this.pingId })
  }

  /** Heartbeat: nothing heard for heartbeatMs + heartbeatTimeoutMs (LL-BEAT-3). */
  dead(): void {
    this.fail(CloseCode.HEARTBEAT_TIMEOUT, 'heartbeat timeout', true)
  }

  /** Heartbeat: periodic work (a memento refresh). */
  tick(now: number): void {
    this.handlers.tick(this, now)
  }

  get maxFrameBytes(): number {
    return this.limits.maxFrameBytes
  }

  get isOpen(): boolean {
    return this.phase === 'open'
  }

  /** A getter, not a field read, so callers re-check after await or a handler call. */
  get isClosed(): boolean {
    return this.phase === 'closed'
  }

  /** The session is open on this connection (LL-HELLO-6). */
  opened(heartbeatMs: number, heartbeatTimeoutMs: number): void {
    this.phase = 'open'
    this.helloTimer.clear()
    this.heartbeat.start(heartbeatMs, heartbeatTimeoutMs)
  }

  receive(payload: Payload): void {
    if (this.phase === 'closed') return
    this.heartbeat.received()
    if (this.held !== undefined && typeof payload === 'string') this.heldBytes += payload.length
    const frames =
      typeof payload === 'string'
        ? decodeClientFrames(payload, { maxBytes: this.limits.maxFrameBytes })
        : [validateClientFrame(payload)]
    if (frames instanceof ProtocolError) return this.protocolError(frames)
    const bytes = typeof payload === 'string' ? Math.ceil(payload.length / frames.length) : undefined
    for (const frame of frames) {
      if (frame instanceof ProtocolError) return this.protocolError(frame)
      if (this.isClosed) return
      this.handlers.frame(this, frame, bytes)
    }
  }

  /** LL-LIMIT-7: stop reading this peer while its sends wait; a no-op on transports that cannot. */
  pauseReading(): void {
    if (this.readingPaused || this.phase === 'closed') return
    this.readingPaused = true
    this.heartbeat.hold(true)
    this.transport.pauseReading?.()
  }

  resumeReading(): void {
    if (!this.readingPaused) return
    this.readingPaused = false
    this.heartbeat.hold(false)
    if (this.phase !== 'closed') this.transport.resumeReading?.()
  }

  get isReadingPaused(): boolean {
    return this.readingPaused
  }

  /** Queues a frame; frames queued in one tick leave together. */
  send(frame: ServerFrame): void {
    this.enqueue(this.encoding === 'text' ? JSON.stringify(frame) : frame)
  }

  /**
   * Queues a stream entry, sharing its text (or object) with every other subscriber. A lazy entry (a
   * presence change in a big topic, LL-PRESENCE-7) may wait up to presenceBatchMs for other frames;
   * any other frame takes it along, so the stream's order is kept.
   */
  sendEntry(text: string, frame: object, lazy = false): void {
    this.enqueue(this.encoding === 'text' ? text : frame, lazy, text)
  }

  flush(): void {
    this.due = false
    this.lazyTimer.clear()
    if (this.phase === 'closed' || this.queue.length === 0) return
    const queue = this.queue
    const texts = this.texts
    this.queue = []
    this.texts = []
    this.queuedBytes = 0
    if (this.encoding === 'object') {
      // The entry's text rides along, so an adapter need not encode the frame a second time.
      for (let i = 0; i < queue.length; i++) this.transport.send(queue[i] as Payload, texts[i])
    } else {
      for (const message of packFrames(queue as string[], this.limits.maxFrameBytes))
        this.transport.send(message)
    }
    this.heartbeat.sent()
    // LL-LIMIT-3: a client that cannot keep up is cut off; it resumes and catches up by replay.
    if (!this.closing && (this.transport.bufferedBytes?.() ?? 0) > this.limits.maxBufferedBytes) {
      this.fail(CloseCode.SLOW_CONSUMER, 'send buffer overflow', true)
    }
  }

  /** Says bye (when the link can carry it) and closes with its code (LL-INTENT-5). */
  close(bye: ServerBye): void {
    if (this.phase === 'closed' || this.closing) return
    this.closing = true
    this.send(bye)
    this.flush()
    this.end({ code: bye.code, reason: bye.reason, clean: true }, true)
  }

  /** The transport refused something the peer sent (LL-WS-1). */
  transportError(reason: string): void {
    this.fail(CloseCode.PROTOCOL_ERROR, reason, false)
  }

  /** Drops the link without a bye, as a network failure would. */
  terminate(): void {
    if (this.phase === 'closed') return
    if (this.transport.terminate === undefined) this.transport.close(1011, 'terminated')
    else this.transport.terminate()
    this.end({ code: 1006, reason: 'terminated', clean: false }, false)
  }

  /** The transport reported the end of the link. */
  transportClosed(info: CloseInfo): void {
    this.end(info, false)
  }

  private fail(code: CloseCode, reason: string, reconnect: boolean): void {
    this.close({ type: 'bye', code, reason, reconnect })
  }

  /** LL-FRAME-5: refuse the frame, say why, close; nothing of it is processed. */
  private protocolError(error: ProtocolError): void {
    this.fail(error.code, error.message, false)
  }

  private enqueue(payload: Payload, lazy = false, text?: string): void {
    if (this.phase === 'closed') return
    if (!lazy) {
      if (!this.due) {
        this.due = true
        this.scheduler.mark(this)
      }
    } else if (!this.due && !this.lazyTimer.armed) {
      this.lazyTimer.set(this.limits.presenceBatchMs, () => this.flush())
    }
    if (this.encoding === 'object') this.texts[this.queue.length] = text
    this.queue.push(payload)
    if (typeof payload === 'string') this.queuedBytes += payload.length
    if (this.queue.length >= MAX_BATCH_FRAMES || this.queuedBytes >= this.limits.maxFrameBytes) this.flush()
  }

  private end(info: CloseInfo, closeTransport: boolean): void {
    if (this.phase === 'closed') return
    this.phase = 'closed'
    this.queue = []
    this.lazyTimer.clear()
    this.texts = []
    this.helloTimer.clear()
    this.heartbeat.stop()
    if (closeTransport) this.transport.close(info.code, closeReason(info.reason))
    this.handlers.closed(this, info)
  }
}
