/** HTTP pieces of the server transport: paths, origins, probe answers and refused upgrades. */
import { type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse, STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'

/** Decides whether an upgrade from a given Origin may proceed (LL-WS-4). */
export type OriginCheck = (origin: string | undefined) => boolean

/** The request's path without its query string. */
export function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/'
  const query = url.indexOf('?')
  return query === -1 ? url : url.slice(0, query)
}

/**
 * An allowlist as a check. Without one every origin passes; with a list, a request without Origin (not
 * a browser) passes and a browser's Origin must be listed exactly, e.g. `https://app.example.com`.
 */
export function originCheck(allowed: readonly string[] | OriginCheck | undefined): OriginCheck {
  if (allowed === undefined) return () => true
  if (typeof allowed === 'function') return allowed
  const origins = new Set(allowed)
  return (origin) => origin === undefined || origins.has(origin)
}

/** Refuses an upgrade with a bare HTTP response before any WebSocket handshake (LL-WS-4). */
export function refuseUpgrade(socket: Duplex, status: number): void {
  socket.on('error', () => {}) // the peer may already be gone; nothing to report
  if (!socket.writable) {
    socket.destroy()
    return
  }
  socket.once('finish', () => socket.destroy())
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
  )
}

export type ProbeState =
  | { readonly type: 'accepting' }
  | { readonly type: 'draining'; readonly retryAfterMs: number }
  | { readonly type: 'stopped' }

/**
 * LL-WS-5: 204 while accepting sessions, 503 with Retry-After (whole seconds, rounded up) while
 * draining, 503 when not listening. CORS lets a browser client on an allowed origin read the status.
 */
export function answerProbe(
  req: IncomingMessage,
  res: ServerResponse,
  state: ProbeState,
  allowed: OriginCheck,
  anyOrigin: boolean,
): void {
  const origin = req.headers.origin
  const headers: OutgoingHttpHeaders = { 'Cache-Control': 'no-store' }
  if (anyOrigin) headers['Access-Control-Allow-Origin'] = '*'
  else if (origin !== undefined && allowed(origin)) {
    headers['Access-Control-Allow-Origin'] = origin
    headers.Vary = 'Origin'
  }
  if (state.type === 'draining') headers['Retry-After'] = String(Math.ceil(state.retryAfterMs / 1000))
  res.writeHead(state.type === 'accepting' ? 204 : 503, headers).end()
}
