/**
 * The HTTP side of the reference server, on the same http.Server as the WebSocket endpoint:
 *
 *   GET/HEAD /            the demo (static files of its build)
 *   GET/HEAD /healthz     { status, sessions, connected, away, uptimeSeconds }
 *   GET      /metrics     Prometheus text
 *   POST     /demo/drop   ?sid=…: kill that session's socket without a close frame (the demo's button)
 *   GET      /demo/history ?room=…&after=…&upTo=…: the chat's own history, to resync a page from
 *   HEAD     /lifeline    the reconnect probe (LL-WS-5), answered by the ws transport
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { LifelineServer } from '@lifeline/core/server'
import type { Registry } from 'prom-client'
import { isRoom } from './app.js'
import type { ChatHistory } from './history.js'
import type { Logger } from './logger.js'
import { serveStatic } from './static.js'

export interface ProbeHandler {
  /** Answers HEAD on the endpoint path (204, or 503 when draining); false when it did not answer. */
  handleProbe(req: IncomingMessage, res: ServerResponse): boolean
}

export interface HttpContext {
  readonly lifeline: LifelineServer
  readonly registry: Registry
  readonly probe: ProbeHandler
  readonly lifelinePath: string
  readonly demoDir: string
  readonly demoBuilt: boolean
  /** The chat's own storage, read by the demo to resync (LL-APPM-6..8). */
  readonly history: ChatHistory
  readonly allowedOrigins: readonly string[] | undefined
  readonly logger: Logger
  readonly startedAt: number
  /** True once shutdown began: health turns 503 so a load balancer stops sending traffic. */
  readonly draining: () => boolean
}

function send(
  res: ServerResponse,
  status: number,
  body: string,
  type = 'text/plain; charset=utf-8',
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...extra,
  })
  res.end(res.req.method === 'HEAD' ? undefined : body)
}

function json(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, `${JSON.stringify(value)}\n`, 'application/json; charset=utf-8')
}

function notAllowed(res: ServerResponse, allow: string): void {
  send(res, 405, 'method not allowed\n', undefined, { Allow: allow })
}

/** A state-changing request must come from a page of this server (or an allowed origin), or no page. */
function sameOrigin(req: IncomingMessage, allowed: readonly string[] | undefined): boolean {
  const origin = req.headers.origin
  if (origin === undefined) return true
  if (allowed?.includes(origin)) return true
  try {
    return new URL(origin).host === req.headers.host
  } catch {
    return false
  }
}

/** Most messages one history request returns (the newest of those asked for). */
const HISTORY_PAGE = 500

export function createRequestHandler(context: HttpContext) {
  const { lifeline, logger } = context

  const route = async (req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams) => {
    const method = req.method ?? 'GET'
    const readOnly = method === 'GET' || method === 'HEAD'

    if (path === context.lifelinePath) {
      if (context.probe.handleProbe(req, res)) return
      return send(res, 426, 'this endpoint speaks Lifeline over WebSocket\n', undefined, {
        Upgrade: 'websocket',
        Connection: 'Upgrade',
      })
    }
    if (path === '/healthz') {
      if (!readOnly) return notAllowed(res, 'GET, HEAD')
      const stats = lifeline.stats
      const draining = context.draining()
      return json(res, draining ? 503 : 200, {
        status: draining ? 'shutting-down' : 'ok',
        sessions: stats.sessions,
        connected: stats.connected,
        away: stats.away,
        uptimeSeconds: Math.round((Date.now() - context.startedAt) / 1000),
      })
    }
    if (path === '/metrics') {
      if (!readOnly) return notAllowed(res, 'GET, HEAD')
      return send(res, 200, await context.registry.metrics(), context.registry.contentType)
    }
    if (path === '/demo/drop') {
      if (method !== 'POST') return notAllowed(res, 'POST')
      if (!sameOrigin(req, context.allowedOrigins)) return send(res, 403, 'cross-origin request refused\n')
      const sid = query.get('sid')
      if (sid === null || sid === '') return send(res, 400, 'sid is required\n')
      const dropped = lifeline.drop(sid)
      logger.info('demo drop', { sid, dropped })
      res.writeHead(dropped ? 204 : 404, { 'Cache-Control': 'no-store' })
      return res.end()
    }
    if (path === '/demo/history') {
      if (!readOnly) return notAllowed(res, 'GET, HEAD')
      const room = query.get('room') ?? ''
      const after = Number(query.get('after') ?? 0)
      const upTo = Number(query.get('upTo') ?? Number.MAX_SAFE_INTEGER)
      if (!isRoom(room) || !Number.isSafeInteger(after) || !Number.isSafeInteger(upTo) || after < 0)
        return send(res, 400, 'room=room:…, after and upTo: whole numbers\n')
      // Anyone may join any room in this demo, so anyone may read its history: authorize as joins are.
      return json(res, 200, context.history.read(room, after, upTo, HISTORY_PAGE))
    }
    if (!readOnly) return notAllowed(res, 'GET, HEAD')
    const result = await serveStatic(context.demoDir, path, req, res)
    if (result === 'bad-path') return send(res, 400, 'bad path\n')
    if (result === 'not-found') {
      if (!context.demoBuilt && (path === '/' || path === '/index.html')) {
        return send(res, 503, 'The demo is not built: run `pnpm --filter @lifeline/demo build`.\n')
      }
      return send(res, 404, 'not found\n')
    }
  }

  return (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now()
    const raw = req.url ?? '/'
    const queryAt = raw.indexOf('?')
    const path = queryAt === -1 ? raw : raw.slice(0, queryAt)
    const query = new URLSearchParams(queryAt === -1 ? '' : raw.slice(queryAt + 1))
    res.on('finish', () =>
      logger.debug('http', {
        method: req.method,
        path, // never the query string
        status: res.statusCode,
        ms: Math.round(performance.now() - started),
      }),
    )
    if (!path.startsWith('/')) return send(res, 400, 'bad request\n')
    route(req, res, path, query).catch((error: unknown) => {
      logger.error('http handler failed', { path, error })
      if (!res.headersSent) send(res, 500, 'internal error\n')
      else res.destroy()
    })
  }
}
