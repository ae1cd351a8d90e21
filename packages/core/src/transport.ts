import { exceedsBytes } from '@lifeline/protocol'

/**
 * The narrow waist between the core and an adapter. An adapter moves payloads and reports open and
 * close; everything else (encoding, batching, limits, heartbeats, reconnection) is the core's.
 */

/** How a transport carries frames: as JSON text (ws, NATS) or as objects it serialises (Socket.IO). */
export type Encoding = 'text' | 'object'

/** A payload on the wire: JSON text, or a frame object for object transports. */
export type Payload = string | object

/** How a connection ended, as the transport saw it. */
export interface CloseInfo {
  /** The close code, or 1006 when the link failed without a close frame. */
  readonly code: number
  readonly reason: string
  /** True when a close frame (or a Lifeline bye) was received, false for a failed link. */
  readonly clean: boolean
}

/** Callbacks the core gives an adapter for one client connection attempt. */
export interface TransportHandlers {
  open(): void
  message(payload: Payload): void
  close(info: CloseInfo): void
  /** The peer broke the transport's own rules (a binary WebSocket message, LL-WS-1). */
  protocolError(reason: string): void
}

/** One client connection attempt. */
export interface TransportConnection {
  send(payload: Payload): void
  /**
   * Closes the connection; the adapter must still report close through the handlers. The core only
   * passes 1000 or 3000-4999 and a reason of at most 123 UTF-8 bytes (what browsers accept).
   */
  close(code: number, reason: string): void
}

/** A close reason WebSocket accepts: at most 123 UTF-8 bytes, cut at a character boundary. */
export function closeReason(reason: string): string {
  let text = reason.length > 123 ? reason.slice(0, 123) : reason
  while (exceedsBytes(text, 123)) text = text.slice(0, -1)
  return text
}

/** Dials the server: one `connect` call per attempt, never reused. */
export interface ClientTransport {
  readonly encoding: Encoding
  /** A short name for logs and status, e.g. `ws`. */
  readonly name: string
  connect(handlers: TransportHandlers): TransportConnection
  /**
   * Optional pre-dial probe (LL-CLIENT-3), e.g. an HTTP HEAD: resolves true when the server accepts
   * sessions. A false or rejected probe counts as a failed attempt.
   */
  probe?(): Promise<boolean>
}

/** What a server adapter knows about a connection. */
export interface ConnectionInfo {
  /** The adapter's name, e.g. `ws`, `socket.io`, `nats`. */
  readonly transport: string
  readonly remoteAddress?: string
  readonly origin?: string
  /** Where the transport took the connection in, when it serves several (the NATS subject prefix). */
  readonly channel?: string
  /**
   * Request headers the transport was asked to keep (lower-case names): for authentication by cookie,
   * or a trusted proxy's `x-forwarded-for` in `resumeLimitKey`. Never trust a header a client can set
   * unless a proxy you run overwrites it.
   */
  readonly headers?: Readonly<Record<string, string | undefined>>
}

/** One accepted server-side connection. */
export interface ServerTransportConnection {
  readonly info: ConnectionInfo
  /**
   * `text`, on object transports: the payload's JSON when the core already has it (a stream entry is
   * encoded once for every subscriber), so an adapter that writes JSON need not encode it again.
   */
  send(payload: Payload, text?: string): void
  close(code: number, reason: string): void
  /** Bytes queued but not yet written, when the adapter can tell (slow consumer detection). */
  bufferedBytes?(): number
  /** Drops the link at once, without a close frame: the peer sees a failure (tests, demos). */
  terminate?(): void
  /**
   * Stops reading from the peer until `resumeReading` (backpressure, LL-LIMIT-7): the transport's own
   * flow control (a TCP window) then holds the peer back. A few messages already read may still
   * arrive. Transports that cannot pause leave both out; the server's hard bound protects them.
   */
  pauseReading?(): void
  resumeReading?(): void
}

/** Callbacks the core gives an adapter for one accepted connection. */
export interface ServerConnectionHandlers {
  message(payload: Payload): void
  close(info: CloseInfo): void
  /** The peer broke the transport's own rules (a binary WebSocket message, LL-WS-1). */
  protocolError(reason: string): void
}

/** What the Lifeline server tells a transport it attaches, so the transport's own limits can match. */
export interface ListenContext {
  /** The server's `maxFrameBytes` (LL-LIMIT-1): e.g. Socket.IO's maxHttpBufferSize follows it (LL-SIO-7). */
  readonly maxFrameBytes: number
}

/** Accepts connections and hands each to the core. */
export interface ServerTransport {
  readonly encoding: Encoding
  readonly name: string
  /**
   * Starts accepting; `accept` is called once per connection and returns its handlers. The Lifeline
   * server passes `context`; a transport started by other code may be given none.
   */
  listen(
    accept: (connection: ServerTransportConnection) => ServerConnectionHandlers,
    context?: ListenContext,
  ): void | Promise<void>
  /**
   * Stops accepting. Open connections are closed by the core first; frames they queued (a going-away
   * bye) must still leave before their sockets are cut. Safe to call twice.
   */
  close(): Promise<void>
  /**
   * The server is going away: for the next `retryAfterMs`, probes say so (LL-WS-5: HEAD answers 503),
   * then the transport reports itself available again.
   */
  drain?(retryAfterMs: number): void
}
