/**
 * An in-memory network for the core's tests: client and server transports joined by links that can
 * fail the ways real ones do. Delivery is asynchronous (a microtask, or a simulated-clock delay), so
 * no code path relies on a send being delivered before it returns.
 */
import type { Clock } from '../clock.js'
import type {
  ClientTransport,
  CloseInfo,
  ConnectionInfo,
  Encoding,
  Payload,
  ServerConnectionHandlers,
  ServerTransport,
  ServerTransportConnection,
  TransportConnection,
  TransportHandlers,
} from '../transport.js'

export type Direction = 'c2s' | 's2c'

/** Sees every payload that crosses a link, as delivered (what vanished is not seen). */
export type WireTap = (client: string, direction: Direction, payload: Payload) => void

class FakeLink {
  /** Each side's belief that the link is up; they differ on a half-open link. */
  clientUp = false
  serverUp = false
  blackholed = false
  server: ServerConnectionHandlers | undefined
  /** The server stopped reading (backpressure): client frames wait here, in order, as in a TCP window. */
  private stalled: Payload[] | undefined

  constructor(
    readonly network: FakeNetwork,
    readonly client: string,
    readonly handlers: TransportHandlers,
  ) {}

  /** Per direction: when the last delivery is due, and how many wait on the clock. */
  private readonly lanes = {
    c2s: { lastDue: 0, onClock: 0 },
    s2c: { lastDue: 0, onClock: 0 },
    local: { lastDue: 0, onClock: 0 },
  }

  /**
   * Delivers in order per direction, as TCP would: a frame never overtakes an earlier one, even when
   * the latency drops while frames are in flight. A close rides the same lane as the frames before it.
   */
  deliver(lane: 'c2s' | 's2c' | 'local', fn: () => void): void {
    const state = this.lanes[lane]
    const clock = this.network.clock
    const due = Math.max(clock.now() + this.network.latencyMs, state.lastDue)
    state.lastDue = due
    if (due <= clock.now() && state.onClock === 0) {
      queueMicrotask(fn)
      return
    }
    state.onClock++
    clock.setTimeout(() => {
      state.onClock--
      fn()
    }, due - clock.now())
  }

  toServer(payload: Payload): void {
    if (!this.clientUp || this.blackholed) return
    const copy = this.network.copy(payload)
    this.deliver('c2s', () => this.arrive(copy))
  }

  private arrive(payload: Payload): void {
    if (!this.serverUp || this.blackholed) return
    if (this.stalled !== undefined) {
      this.stalled.push(payload)
      return
    }
    this.network.tap?.(this.client, 'c2s', payload)
    this.server?.message(payload)
  }

  pauseReading(): void {
    this.stalled ??= []
  }

  resumeReading(): void {
    const stalled = this.stalled ?? []
    this.stalled = undefined
    // Delivered one at a time, so a pause requested by one of them holds back the rest.
    while (stalled.length > 0 && this.stalled === undefined) this.arrive(stalled.shift() as Payload)
    if (stalled.length > 0) this.stalled = [...stalled, ...(this.stalled ?? [])]
  }

  toClient(payload: Payload): void {
    if (!this.serverUp || this.blackholed) return
    const copy = this.network.copy(payload)
    this.deliver('s2c', () => {
      if (!this.clientUp || this.blackholed) return
      this.network.tap?.(this.client, 's2c', copy)
      this.handlers.message(copy)
    })
  }

  /** The client's side ends now; the server hears of it after what is in flight (unless told not to). */
  endClient(info: CloseInfo, tellServer: boolean): void {
    if (!this.clientUp) return
    this.clientUp = false
    this.deliver('local', () => this.handlers.close(info))
    if (tellServer) this.deliver('c2s', () => this.serverHears(info))
  }

  endServer(info: CloseInfo, tellClient: boolean): void {
    if (!this.serverUp) return
    this.serverUp = false
    const server = this.server
    this.deliver('local', () => server?.close(info))
    if (tellClient) this.deliver('s2c', () => this.clientHears(info))
  }

  private serverHears(info: CloseInfo): void {
    if (!this.serverUp) return
    this.serverUp = false
    this.server?.close(info)
  }

  private clientHears(info: CloseInfo): void {
    if (!this.clientUp) return
    this.clientUp = false
    this.handlers.close(info)
  }
}

/** The client side of the fake network: a transport with fault controls on its current link. */
export class FakeClientTransport implements ClientTransport {
  readonly name = 'fake'
  /** When true, dials fail at once (the server is unreachable). */
  refusing = false
  private link: FakeLink | undefined
  dials = 0

  constructor(
    private readonly network: FakeNetwork,
    readonly id: string,
  ) {}

  get encoding(): Encoding {
    return this.network.encoding
  }

  connect(handlers: TransportHandlers): TransportConnection {
    this.dials++
    const link = new FakeLink(this.network, this.id, handlers)
    this.link = link
    let cancelled = false
    queueMicrotask(() => {
      if (cancelled) return
      if (this.refusing || this.network.server === undefined) {
        return handlers.close({ code: 1006, reason: 'connection refused', clean: false })
      }
      link.clientUp = true
      link.serverUp = true
      link.server = this.network.accept(link)
      handlers.open()
    })
    return {
      send: (payload) => link.toServer(payload),
      close: (code, reason) => {
        if (!link.clientUp && !cancelled) {
          cancelled = true
          queueMicrotask(() => handlers.close({ code, reason, clean: true }))
          return
        }
        link.endClient({ code, reason, clean: true }, !link.blackholed)
      },
    }
  }

  /** Both sides see the link fail, without a close frame. */
  reset(): void {
    const info = { code: 1006, reason: 'connection reset', clean: false }
    this.link?.endClient(info, false)
    this.link?.endServer(info, false)
  }

  /** Only the client sees the link fail; the server's side stays half-open until its heartbeat. */
  clientLoses(): void {
    this.link?.endClient({ code: 1006, reason: 'network lost', clean: false }, false)
  }

  /** Everything sent either way vanishes; nobody is told. */
  blackhole(): void {
    if (this.link !== undefined) this.link.blackholed = true
  }

  get connected(): boolean {
    return this.link?.clientUp === true
  }
}

export interface FakeNetworkOptions {
  /** How frames travel. Default: `text` (exercises the codec, like ws). */
  encoding?: Encoding
  /** Delivery delay on the clock; 0 delivers in a microtask. Default: 0. */
  latencyMs?: number
  /**
   * Whether server connections can stop reading (LL-LIMIT-7 backpressure). False models a transport
   * that cannot, so the server's hard bound is what protects it. Default: true.
   */
  pauseReading?: boolean
}

export class FakeNetwork {
  readonly encoding: Encoding
  latencyMs: number
  readonly pausable: boolean
  tap: WireTap | undefined
  server: ((connection: ServerTransportConnection) => ServerConnectionHandlers) | undefined
  private readonly clients = new Map<string, FakeClientTransport>()

  constructor(
    readonly clock: Clock,
    options: FakeNetworkOptions = {},
  ) {
    this.encoding = options.encoding ?? 'text'
    this.latencyMs = options.latencyMs ?? 0
    this.pausable = options.pauseReading ?? true
  }

  /** The client transport for an actor, made on first use. */
  client(id = 'client'): FakeClientTransport {
    let client = this.clients.get(id)
    if (client === undefined) {
      client = new FakeClientTransport(this, id)
      this.clients.set(id, client)
    }
    return client
  }

  /** A server transport: the network routes new links to whatever server listens on it. */
  serverTransport(): ServerTransport {
    return {
      encoding: this.encoding,
      name: 'fake',
      listen: (accept) => {
        this.server = accept
      },
      close: async () => {
        this.server = undefined
      },
    }
  }

  /** Frames of object transports are copied, as a real one would serialise them. */
  copy(payload: Payload): Payload {
    return typeof payload === 'string' ? payload : (JSON.parse(JSON.stringify(payload)) as object)
  }

  accept(link: FakeLink): ServerConnectionHandlers | undefined {
    const info: ConnectionInfo = { transport: 'fake', remoteAddress: link.client }
    const connection: ServerTransportConnection = {
      info,
      send: (payload) => link.toClient(payload),
      close: (code, reason) => link.endServer({ code, reason, clean: true }, !link.blackholed),
    }
    if (this.pausable) {
      Object.assign(connection, {
        pauseReading: () => link.pauseReading(),
        resumeReading: () => link.resumeReading(),
      })
    }
    return this.server?.(connection)
  }
}
