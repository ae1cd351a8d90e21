/**
 * One connection attempt: encodes and batches outgoing frames (LL-WS-2), decodes incoming ones
 * (LL-FRAME-3..6), keeps the heartbeat (LL-BEAT-1..3) and the connect timeout (LL-HELLO-3), and reports
 * the end of the link exactly once.
 */
import {
  type ClientFrame,
  DEFAULT_MAX_FRAME_BYTES,
  decodeServerFrames,
  MAX_BATCH_FRAMES,
  ProtocolError,
  type ServerBye,
  type ServerFrame,
  validateServerFrame,
} from '@lifeline/protocol'
import { packFrames } from '../batching.js'
import { type Clock, Timer } from '../clock.js'
import { Heartbeat } from '../heartbeat.js'
import { atEndOfTick } from '../microtask.js'
import {
  type ClientTransport,
  type CloseInfo,
  closeReason,
  type Payload,
  type TransportConnection,
} from '../transport.js'

export interface ConnectionHandlers {
  open(): void
  frame(frame: ServerFrame): void
  /** The link ended; `bye` is the server's bye if one arrived first. */
  lost(info: CloseInfo, bye: ServerBye | undefined): void
  protocolError(error: ProtocolError): void
}

export interface ConnectionOptions {
  readonly connectTimeoutMs: number
  /** Batch frames sent in the same tick into one transport message (text transports only). */
  readonly batch: boolean
}

export class ClientConnection {
  private link: TransportConnection | undefined
  private ended = false
  private bye: ServerBye | undefined
  private queue: string[] = []
  private flushScheduled = false
  private pingId = 0
  private maxFrameBytes = DEFAULT_MAX_FRAME_BYTES
  /** While set, written payloads wait here: a memento is being stored (LL-MEMENTO-8). */
  private held: Payload[] | undefined
  private readonly timer: Timer
  private readonly heartbeat: Heartbeat

  constructor(
    private readonly transport: ClientTransport,
    clock: Clock,
    private readonly options: ConnectionOptions,
    private readonly handlers: ConnectionHandlers,
  ) {
    this.timer = new Timer(clock)
    this.heartbeat = new Heartbeat(clock, {
      ping: () => {
        this.ping()
        this.flush()
      },
      dead: () => this.fail('heartbeat timeout'),
    })
  }

  /** How this connection's transport carries frames. */
  get encoding(): ClientTransport['encoding'] {
    return this.transport.encoding
  }

  get isEnded(): boolean {
    return this.ended
  }

  start(): void {
    this.timer.set(this.options.connectTimeoutMs, () => this.fail('no welcome before the connect timeout'))
    try {
      this.link = this.transport.connect({
        open: () => {
          if (!this.ended) this.handlers.open()
        },
        message: (payload) => this.receive(payload),
        close: (info) => this.end(info),
        protocolError: (reason) => this.protocolError(new ProtocolError('invalid', reason)),
      })
    } catch (cause) {
      this.fail(`dial failed: ${cause instanceof Error ? cause.message : String(cause)}`)
    }
  }

  /** The session is open: switch from the connect timeout to heartbeats (LL-BEAT-1). */
  opened(heartbeatMs: number, heartbeatTimeoutMs: number, maxFrameBytes: number): void {
    this.maxFrameBytes = maxFrameBytes
    this.timer.clear()
    this.heartbeat.start(heartbeatMs, heartbeatTimeoutMs)
  }

  send(frame: ClientFrame): void {
    if (this.ended || this.link === undefined) return
    if (this.transport.encoding === 'object') return this.write(frame)
    this.sendText(JSON.stringify(frame))
  }

  /** Holds every frame written from now until `release` (an asynchronous storage is saving). */
  hold(): void {
    this.held ??= []
  }

  release(): void {
    const held = this.held ?? []
    this.held = undefined
    for (const payload of held) this.write(payload)
  }

  /**
   * After the client's bye (LL-INTENT-1): the server answers with bye 4007 and closes, so both sides
   * see its code; this side closes with 1000 only if that has not happened within `waitMs`.
   */
  closeAfterBye(waitMs: number): void {
    if (this.ended) return
    this.flush()
    this.heartbeat.stop()
    this.timer.set(waitMs, () => this.close(1000, 'client closed'))
  }

  /** Sends text already encoded as one frame (the hot path for sends). */
  sendText(text: string): void {
    if (this.ended || this.link === undefined) return
    if (!this.options.batch) {
      this.write(text)
      return
    }
    this.queue.push(text)
    if (this.queue.length >= MAX_BATCH_FRAMES) this.flush()
    else if (!this.flushScheduled) {
      this.flushScheduled = true
      atEndOfTick(() => this.flush())
    }
  }

  /** Sends queued frames now, as few transport messages as the size limit allows (LL-WS-2). */
  flush(): void {
    this.flushScheduled = false
    const frames = this.queue
    if (frames.length === 0) return
    this.queue = []
    for (const message of packFrames(frames, this.maxFrameBytes)) this.write(message)
  }

  /** The server broke the protocol (a frame out of place): drop the link as after a corrupt frame. */
  refuse(reason: string): void {
    this.protocolError(new ProtocolError('invalid', reason))
  }

  ping(): void {
    this.send({ type: 'ping', id: ++this.pingId })
  }

  /** Closes the link; `lost` is reported once, with the given code. */
  close(code: number, reason: string): void {
    if (this.ended) return
    this.flush()
    this.link?.close(code, closeReason(reason))
    this.end({ code, reason, clean: true })
  }

  private write(payload: Payload): void {
    if (this.ended || this.link === undefined) return
    if (this.held !== undefined) return void this.held.push(payload)
    this.link.send(payload)
    this.heartbeat.sent()
  }

  private receive(payload: Payload): void {
    if (this.ended) return
    this.heartbeat.received()
    // An object transport carries one frame per message (LL-SIO-1): no array around it.
    if (typeof payload !== 'string') return this.deliver(validateServerFrame(payload))
    const frames = decodeServerFrames(payload, { maxBytes: this.maxFrameBytes })
    if (frames instanceof ProtocolError) return this.protocolError(frames)
    for (const frame of frames) {
      if (this.ended) return
      this.deliver(frame)
    }
  }

  private deliver(frame: ServerFrame | ProtocolError): void {
    if (frame instanceof ProtocolError) return this.protocolError(frame)
    if (this.ended) return
    if (frame.type === 'ping')
      this.send({ type: 'pong', ...(frame.id === undefined ? {} : { id: frame.id }) })
    else if (frame.type === 'bye') this.bye = frame
    this.handlers.frame(frame)
  }

  /** LL-FRAME-6: a corrupted link is dropped and treated as an unexpected drop, not the end. */
  private protocolError(error: ProtocolError): void {
    this.handlers.protocolError(error)
    this.fail(`protocol error: ${error.message}`)
  }

  private fail(reason: string): void {
    if (this.ended) return
    this.link?.close(1000, closeReason(reason))
    this.end({ code: 1006, reason, clean: false })
  }

  private end(info: CloseInfo): void {
    if (this.ended) return
    this.ended = true
    this.timer.clear()
    this.heartbeat.stop()
    this.queue = []
    this.handlers.lost(info, this.bye)
  }
}
