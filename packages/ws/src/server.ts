/**
 * @lifeline/ws/server: the server transport on the `ws` library, on its own HTTP server or attached to
 * an app's. It moves text frames and reports closes; the Lifeline server does everything else.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type {
  ConnectionInfo,
  ServerConnectionHandlers,
  ServerTransport,
  ServerTransportConnection,
} from '@lifeline/core'
import { type WebSocket, WebSocketServer } from 'ws'
import {
  answerProbe,
  type OriginCheck,
  originCheck,
  type ProbeState,
  pathOf,
  refuseUpgrade,
} from './server/http.js'
import { adopt, connectionInfo } from './server/socket.js'

export type { OriginCheck } from './server/http.js'

export interface WsServerOptions {
  /**
   * An HTTP(S) server to attach to: the transport handles its `upgrade` events for `path` only, so other
   * upgrade handlers keep working, and registers nothing on `request` (call `handleProbe` from your
   * handler to answer probes). Exclusive with `port`.
   */
  server?: Server | undefined
  /** Port of an HTTP server the transport creates and owns; 0 picks a free one (see `port`). */
  port?: number | undefined
  /** Interface the owned server listens on. Default: '127.0.0.1' (use '0.0.0.0' or '::' to expose it). */
  host?: string | undefined
  /** The endpoint's path; other paths are left alone (404 on an owned server). Default: '/lifeline'. */
  path?: string | undefined
  /**
   * Largest message accepted, in bytes; a larger one closes the socket with 1009. LL-WS-6, LL-LIMIT-1:
   * keep it no larger than the Lifeline server's `maxFrameBytes`. Default: 1048576 (1 MiB).
   */
  maxPayload?: number | undefined
  /**
   * LL-WS-4: the browser origins allowed to connect, e.g. `['https://app.example.com']`, or a function
   * deciding. Others get HTTP 403 before the upgrade. With a list, requests without an Origin header
   * (not browsers) are allowed; a function decides those too. Default: every origin.
   */
  allowedOrigins?: readonly string[] | OriginCheck | undefined
  /**
   * Request headers (lower-case names) handed to the core in `ConnectionInfo.headers`, for
   * `authenticate` and `resumeLimitKey`: e.g. `['x-forwarded-for']` behind a proxy you run, which
   * overwrites it. Only those named are kept, so a connection holds no more than it needs. Default: none.
   */
  headers?: readonly string[] | undefined
}

/** The ws server transport: a ServerTransport plus hooks for apps that own their HTTP server. */
export interface WsServerTransport extends ServerTransport {
  readonly name: 'ws'
  readonly encoding: 'text'
  /** The port the HTTP server listens on once listening (useful with `port: 0`); kept after close. */
  readonly port: number
  /** Answers an HTTP HEAD probe on the path (LL-WS-5); returns false, untouched, for other requests. */
  handleProbe(req: IncomingMessage, res: ServerResponse): boolean
  /** Takes an upgrade on the path (answering 403 or 503 when refused); returns false for other paths. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean
  /** Probes answer 503 with Retry-After for `retryAfterMs`, then 204 again (LL-WS-5). Called by goAway. */
  drain(retryAfterMs: number): void
}

/** 1 MiB: the protocol's default maxFrameBytes (LL-LIMIT-1). */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024

/** Longest wait in close() for queued frames to leave before the sockets are cut. */
const FLUSH_TIMEOUT_MS = 1000

type Accept = (connection: ServerTransportConnection) => ServerConnectionHandlers

class WsServer implements WsServerTransport {
  readonly name = 'ws' as const
  readonly encoding = 'text' as const
  private readonly path: string
  private readonly allowed: OriginCheck
  private readonly anyOrigin: boolean
  private readonly keepHeaders: readonly string[]
  private readonly wss: WebSocketServer
  private readonly sockets = new Set<WebSocket>()
  private readonly raw = new Set<Socket>()
  private http: Server | undefined
  /** The owned server's port, kept after close so a test can dial a stopped server. */
  private ownedPort: number | undefined
  private accept: Accept | undefined
  private drainUntil = 0
  private closing: Promise<void> | undefined

  constructor(private readonly options: WsServerOptions) {
    if ((options.server === undefined) === (options.port === undefined)) {
      throw new TypeError('wsServerTransport: pass either `server` (attach) or `port` (own a server)')
    }
    this.path = options.path ?? '/lifeline'
    if (!this.path.startsWith('/')) throw new TypeError(`wsServerTransport: path must start with /`)
    const maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD
    if (!Number.isInteger(maxPayload) || maxPayload <= 0) {
      throw new RangeError(`wsServerTransport: maxPayload must be a positive integer, got ${maxPayload}`)
    }
    this.allowed = originCheck(options.allowedOrigins)
    this.anyOrigin = options.allowedOrigins === undefined
    this.keepHeaders = (options.headers ?? []).map((name) => name.toLowerCase())
    // LL-WS-6: bounded messages; no permessage-deflate, whose decompression bombs dodge maxPayload's
    // purpose and cost CPU per message.
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload,
      perMessageDeflate: false,
      clientTracking: false,
    })
  }

  get port(): number {
    const address = this.options.server?.address()
    const port = typeof address === 'object' && address !== null ? address.port : this.ownedPort
    if (port === undefined) throw new Error('wsServerTransport: not listening on a TCP port')
    return port
  }

  async listen(accept: Accept): Promise<void> {
    if (this.accept !== undefined || this.closing !== undefined) {
      throw new Error('wsServerTransport: listen may be called once, before close')
    }
    this.accept = accept
    const attached = this.options.server
    if (attached !== undefined) {
      attached.on('upgrade', this.onAttachedUpgrade)
      return
    }
    const http = createServer((req, res) => {
      if (this.handleProbe(req, res)) return
      // 426 tells a plain HTTP client on the path that it must upgrade.
      if (pathOf(req) === this.path) res.writeHead(426, { Upgrade: 'websocket' }).end()
      else res.writeHead(404).end()
    })
    http.on('connection', (socket) => {
      this.raw.add(socket)
      socket.once('close', () => this.raw.delete(socket))
    })
    http.on('upgrade', (req, socket, head) => {
      if (!this.handleUpgrade(req, socket, head)) refuseUpgrade(socket, 404)
    })
    this.http = http
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject)
      http.listen(this.options.port, this.options.host ?? '127.0.0.1', () => {
        http.off('error', reject)
        const address = http.address()
        if (typeof address === 'object' && address !== null) this.ownedPort = address.port
        resolve()
      })
    })
  }

  handleProbe(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'HEAD' || pathOf(req) !== this.path) return false
    answerProbe(req, res, this.probeState(), this.allowed, this.anyOrigin)
    return true
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    if (pathOf(req) !== this.path) return false
    const accept = this.accept
    if (accept === undefined || this.closing !== undefined) {
      refuseUpgrade(socket, 503)
      return true
    }
    if (!this.allowed(req.headers.origin)) {
      refuseUpgrade(socket, 403) // LL-WS-4: before the upgrade, so the page learns nothing more
      return true
    }
    // Read what the session needs now: no closure made here may capture `req`, or every connection
    // would keep its upgrade request (headers and all) alive for its whole life.
    const info = connectionInfo(req, this.keepHeaders)
    this.wss.handleUpgrade(req, socket, head, (ws) => this.adopted(ws, info, accept))
    return true
  }

  private adopted(ws: WebSocket, info: ConnectionInfo, accept: Accept): void {
    if (this.closing !== undefined) return ws.terminate()
    this.sockets.add(ws)
    adopt(ws, info, accept, this.sockets)
  }

  /** LL-WS-5: probes answer 503 until `retryAfterMs` has passed, then the server accepts again. */
  drain(retryAfterMs: number): void {
    this.drainUntil = Date.now() + Math.max(0, retryAfterMs)
  }

  close(): Promise<void> {
    this.closing ??= this.stop()
    return this.closing
  }

  private async stop(): Promise<void> {
    this.options.server?.off('upgrade', this.onAttachedUpgrade)
    this.wss.close()
    // The core has just said bye on every connection (LL-INTENT-3: when to come back); cutting a socket
    // drops what it has not yet handed to the kernel, so wait, briefly, for those byes to leave.
    const deadline = Date.now() + FLUSH_TIMEOUT_MS
    while ([...this.sockets].some((socket) => socket.bufferedAmount > 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    for (const socket of this.sockets) socket.terminate()
    this.sockets.clear()
    const http = this.http
    if (http === undefined || !http.listening) return
    const closed = new Promise<void>((resolve) => http.close(() => resolve()))
    for (const socket of this.raw) socket.destroy()
    await closed
  }

  private probeState(): ProbeState {
    if (this.accept === undefined || this.closing !== undefined) return { type: 'stopped' }
    const retryAfterMs = this.drainUntil - Date.now()
    return retryAfterMs > 0 ? { type: 'draining', retryAfterMs } : { type: 'accepting' }
  }

  private readonly onAttachedUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    this.handleUpgrade(req, socket, head)
  }
}

/**
 * A Lifeline server transport over WebSocket.
 *
 * ```ts
 * await server.attach(wsServerTransport({ port: 8080 }))             // its own HTTP server
 * await server.attach(wsServerTransport({ server: httpServer }))     // an app's server, path /lifeline
 * ```
 */
export function wsServerTransport(options: WsServerOptions): WsServerTransport {
  return new WsServer(options)
}
