/**
 * Flow control on one Engine.IO connection: bytes waiting to be written (slow consumer, LL-LIMIT-3) and
 * reading paused for backpressure (LL-LIMIT-7). Socket.IO has no pause of its own, so it is done one
 * level down, per Engine.IO transport:
 * - websocket: the `ws` socket is paused, so TCP's window holds the client back;
 * - polling: the client's next POST is held unanswered, unread; an Engine.IO client sends one POST at
 *   a time, so it waits, and what it sends meanwhile stays in its own buffer.
 * What was already read still arrives (a TCP chunk's frames, or one POST's, up to maxHttpBufferSize);
 * the server's hard bound (4105) covers that. The pause is the whole Engine.IO connection's: an app's
 * namespaces multiplexed on it wait too. Engine.IO's own heartbeat is not paused: its pong waits
 * behind the pause too, so a pause longer than pingTimeout can end the link ('ping timeout') and the
 * client resumes its session, nothing lost. Other transports (webtransport) are not paused.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'

/** The parts of engine.io's internals used here (engine.io 6). */
interface EngineTransport {
  readonly name: string
  /** websocket: the `ws` socket. */
  readonly socket?: { pause?(): void; resume?(): void; readonly bufferedAmount?: number }
  /** polling: handles a POST of packets. */
  onDataRequest?(req: IncomingMessage, res: ServerResponse): void
  onError?(message: string): void
}

export interface EngineConnection {
  readonly transport: EngineTransport
  readonly readyState: string
  on(event: 'drain', listener: () => void): unknown
  on(event: 'upgrade', listener: (transport: EngineTransport) => void): unknown
  write(data: string, options: object): unknown
}

type DataRequest = (req: IncomingMessage, res: ServerResponse) => void

export class EngineFlow {
  /** Written since Engine.IO last handed its buffer to the transport ('drain'). */
  private unflushed = 0
  private paused = false
  /** polling: the POST held while paused, answered on resume. */
  private held: { req: IncomingMessage; res: ServerResponse; handle: DataRequest } | undefined
  private readonly gated = new WeakSet<EngineTransport>()

  constructor(private readonly engine: EngineConnection) {
    engine.on('drain', () => {
      this.unflushed = 0
    })
    // A transport upgraded to while paused starts paused.
    engine.on('upgrade', (transport) => {
      if (this.paused) this.pauseTransport(transport)
    })
  }

  write(packet: string, options: object): void {
    this.unflushed += packet.length
    this.engine.write(packet, options)
  }

  /** Characters queued in Engine.IO and, on websocket, bytes in the `ws` socket not yet written. */
  bufferedBytes(): number {
    return this.unflushed + (this.engine.transport.socket?.bufferedAmount ?? 0)
  }

  pause(): void {
    if (this.paused) return
    this.paused = true
    this.pauseTransport(this.engine.transport)
  }

  resume(): void {
    if (!this.paused) return
    this.paused = false
    this.engine.transport.socket?.resume?.()
    this.release(true)
  }

  /**
   * The connection is ending: reading again lets a websocket's close handshake through (else a paused
   * socket holds the close until ws's 30 s timeout); a held POST is answered, unread. Frames read from
   * now on are dropped by the transport.
   */
  end(): void {
    this.paused = false
    this.engine.transport.socket?.resume?.()
    this.release(false)
  }

  private pauseTransport(transport: EngineTransport): void {
    if (transport.name === 'websocket') transport.socket?.pause?.()
    else if (transport.name === 'polling') this.gate(transport)
  }

  /** Wraps the polling transport's POST handler, once: while paused, the POST waits. */
  private gate(transport: EngineTransport): void {
    if (this.gated.has(transport)) return
    const handle = transport.onDataRequest?.bind(transport)
    if (handle === undefined) return
    this.gated.add(transport)
    transport.onDataRequest = (req, res) => {
      if (!this.paused || transport !== this.engine.transport) return handle(req, res)
      // Engine.IO clients send one POST at a time: a second one while one is held breaks that.
      if (this.held !== undefined) return void res.writeHead(400).end()
      this.held = { req, res, handle }
      req.once('close', () => {
        if (this.held?.req !== req) return
        this.held = undefined
        transport.onError?.('data request connection closed prematurely')
      })
    }
  }

  private release(read: boolean): void {
    const held = this.held
    if (held === undefined) return
    this.held = undefined
    if (read && this.engine.readyState === 'open') held.handle(held.req, held.res)
    else held.res.writeHead(400).end()
  }
}
