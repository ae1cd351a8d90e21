/**
 * A TCP proxy between a client and a server for fault injection: black holes, resets, drops without a
 * close, latency, bandwidth limits, refused dials and sliced writes, switched at run time. Plain TCP,
 * so it works under any transport.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net'

export interface FaultProxyTarget {
  readonly port: number
  /** Default: '127.0.0.1'. */
  readonly host?: string
}

type Mode = 'pass' | 'blackhole'

interface Chunk {
  /** The bytes to write, or `end` to pass on the peer's orderly end (FIN) in order. */
  readonly data: Buffer | 'end'
  readonly due: number
}

/** Pause between the two halves of a sliced chunk, so the receiver reads them separately. */
const SLICE_GAP_MS = 5

/** One direction of one proxied connection: a FIFO with due times, so latency never reorders bytes. */
class Pipe {
  private readonly queue: Chunk[] = []
  private timer: NodeJS.Timeout | undefined
  private lastDue = 0

  constructor(
    private readonly proxy: FaultProxy,
    readonly to: Socket,
  ) {}

  push(data: Buffer): void {
    if (this.proxy.mode === 'blackhole') return // silently discarded, as a dead network would
    // A bandwidth limit serialises bytes: each chunk leaves after the ones before it have.
    const rate = this.proxy.bytesPerSecond
    const wire = rate > 0 ? (data.length * 1000) / rate : 0
    const due = Math.max(performance.now() + this.proxy.latencyMs, this.lastDue) + wire
    if (this.proxy.takeSlice() && data.length >= 2) {
      const middle = Math.floor(data.length / 2)
      this.enqueue(data.subarray(0, middle), due)
      this.enqueue(data.subarray(middle), due + SLICE_GAP_MS)
    } else this.enqueue(data, due)
  }

  /** The source ended (FIN): end the destination after what is queued. */
  end(): void {
    if (this.proxy.mode === 'blackhole') return
    this.enqueue('end', Math.max(performance.now() + this.proxy.latencyMs, this.lastDue))
  }

  stop(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    this.queue.length = 0
  }

  private enqueue(data: Buffer | 'end', due: number): void {
    this.lastDue = due
    this.queue.push({ data, due })
    if (this.timer === undefined) this.pump()
  }

  private pump(): void {
    this.timer = undefined
    const now = performance.now()
    while (this.queue[0] !== undefined && this.queue[0].due <= now) {
      const chunk = this.queue.shift()
      if (chunk === undefined || this.proxy.mode !== 'pass' || this.to.destroyed) continue
      if (chunk.data === 'end') this.to.end()
      else this.to.write(chunk.data)
    }
    const next = this.queue[0]
    if (next !== undefined) this.timer = setTimeout(() => this.pump(), Math.max(0, next.due - now))
  }
}

interface Pair {
  readonly client: Socket
  readonly server: Socket | undefined
  readonly pipes: Pipe[]
}

/**
 * ```ts
 * const proxy = new FaultProxy({ port: serverPort })
 * const port = await proxy.start()   // dial 127.0.0.1:port instead of the server
 * proxy.blackhole(); proxy.pass(); proxy.reset()
 * ```
 */
export class FaultProxy {
  private currentMode: Mode = 'pass'
  private delayMs = 0
  private rate = 0
  private refusing = false
  private slicePending = false
  private slicingAll = false
  private dialCount = 0
  private dialedAt: number | undefined
  private readonly pairs = new Set<Pair>()
  /** Sockets whose peer closed while black-holed: still open, connected to nothing. */
  private readonly limbo = new Set<Socket>()
  private server: Server | undefined
  private readonly target: FaultProxyTarget

  constructor(target: FaultProxyTarget | number) {
    this.target = typeof target === 'number' ? { port: target } : target
  }

  /** Listens on 127.0.0.1, on a free port; resolves with that port. */
  async start(): Promise<number> {
    if (this.server !== undefined) throw new Error('FaultProxy: already started')
    const server = createServer((client) => this.accept(client))
    this.server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => resolve())
    })
    return this.port
  }

  get port(): number {
    const address = this.server?.address()
    if (address === null || address === undefined || typeof address === 'string') {
      throw new Error('FaultProxy: not started')
    }
    return address.port
  }

  /** Proxied connections open now. */
  get connections(): number {
    return this.pairs.size
  }

  /** Connections ever made to the proxy, refused ones included: counts a client's dials. */
  get dials(): number {
    return this.dialCount
  }

  /** What forwarding does now: `pass` or `blackhole`. */
  get mode(): Mode {
    return this.currentMode
  }

  /** Added delay per chunk, in ms. */
  get latencyMs(): number {
    return this.delayMs
  }

  /** `performance.now()` of the last dial, to check when a client came back. */
  get lastDialAt(): number | undefined {
    return this.dialedAt
  }

  /** Forwards everything, in both directions (the default). */
  pass(): void {
    this.currentMode = 'pass'
  }

  /**
   * Keeps every socket open but forwards nothing, either way, discarding what arrives; new connections
   * are accepted and never reach the server, like a dial into a dead network.
   */
  blackhole(): void {
    this.currentMode = 'blackhole'
  }

  /** Destroys every proxied connection abruptly (TCP RST), both sides, with no close frame. */
  reset(): void {
    this.destroyAll()
  }

  /** Delays forwarding by `ms`, preserving order; 0 restores direct forwarding. */
  latency(ms: number): void {
    this.delayMs = Math.max(0, ms)
  }

  /** Limits each direction of each connection to `bytesPerSecond`; 0 lifts the limit. */
  bandwidth(bytesPerSecond: number): void {
    this.rate = Math.max(0, bytesPerSecond)
  }

  /** The bandwidth limit per direction, in bytes per second; 0 when unlimited. */
  get bytesPerSecond(): number {
    return this.rate
  }

  /**
   * Ends every proxied connection with a TCP FIN on both sides, without anything the transport would
   * send to close (no WebSocket close frame): an orderly TCP end that the protocol sees as a failure.
   */
  drop(): void {
    for (const pair of [...this.pairs]) {
      this.pairs.delete(pair)
      for (const pipe of pair.pipes) pipe.stop()
      for (const socket of [pair.client, pair.server]) {
        if (socket === undefined || socket.destroyed) continue
        socket.end()
        // Whatever the peer does after our FIN, the socket goes within a second.
        setTimeout(() => socket.destroy(), 1000).unref()
      }
    }
  }

  /** While on, new connections are reset at once (the server looks down). */
  refuse(on: boolean): void {
    this.refusing = on
  }

  /** The next chunk forwarded, either way, is written in two halves, to prove framing survives. */
  sliceNext(): void {
    this.slicePending = true
  }

  /** While on, every chunk forwarded is written in two halves, cutting frames in the middle. */
  sliceAll(on: boolean): void {
    this.slicingAll = on
  }

  /** @internal Consumes a pending slice request. */
  takeSlice(): boolean {
    const pending = this.slicePending || this.slicingAll
    this.slicePending = false
    return pending
  }

  /** Stops listening and destroys every proxied connection. Safe to call twice. */
  async close(): Promise<void> {
    const server = this.server
    this.destroyAll()
    if (server === undefined || !server.listening) return
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  private accept(client: Socket): void {
    this.dialCount++
    this.dialedAt = performance.now()
    client.on('error', () => {})
    if (this.refusing) {
      client.resetAndDestroy()
      return
    }
    client.setNoDelay(true)
    if (this.mode === 'blackhole') {
      // A dial into a dead network: the client waits, and nothing reaches the server, ever.
      const pair: Pair = { client, server: undefined, pipes: [] }
      this.pairs.add(pair)
      client.on('close', () => this.closed(pair, client, false))
      client.resume()
      return
    }
    const server = tcpConnect({ port: this.target.port, host: this.target.host ?? '127.0.0.1' })
    server.setNoDelay(true)
    server.on('error', () => {})
    const up = new Pipe(this, server)
    const down = new Pipe(this, client)
    const pair: Pair = { client, server, pipes: [up, down] }
    this.pairs.add(pair)
    client.on('data', (data: Buffer) => up.push(data))
    server.on('data', (data: Buffer) => down.push(data))
    client.on('end', () => up.end())
    server.on('end', () => down.end())
    client.on('close', (failed) => this.closed(pair, client, failed))
    server.on('close', (failed) => this.closed(pair, server, failed))
  }

  /**
   * One side of a pair closed. Passing, an orderly close lets the other side get what is queued for it
   * and then the end (FIN), and a failure resets it; black-holed, it is left hanging, as behind a dead
   * network. Either way it is kept until it closes, for reset() and close().
   */
  private closed(pair: Pair, socket: Socket, failed: boolean): void {
    if (!this.pairs.delete(pair)) {
      this.limbo.delete(socket)
      return
    }
    for (const pipe of pair.pipes) if (failed || pipe.to === socket) pipe.stop()
    const other = socket === pair.client ? pair.server : pair.client
    if (other === undefined || other.destroyed) return
    if (failed && this.mode === 'pass') return reset(other)
    this.limbo.add(other)
    other.once('close', () => this.limbo.delete(other))
  }

  private destroyAll(): void {
    for (const pair of [...this.pairs]) {
      this.pairs.delete(pair)
      for (const pipe of pair.pipes) pipe.stop()
      reset(pair.client)
      if (pair.server !== undefined) reset(pair.server)
    }
    for (const socket of [...this.limbo]) reset(socket)
    this.limbo.clear()
  }
}

/** RST, not FIN: the peer sees a failed link. */
function reset(socket: Socket): void {
  if (!socket.destroyed) socket.resetAndDestroy()
}
