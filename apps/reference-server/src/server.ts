/**
 * Wires the reference server together: one http.Server carrying the demo, health, metrics and the
 * Lifeline WebSocket endpoint, a LifelineServer running the chat app, logs and metrics on its events.
 * In conformance mode (tests only) the same port carries the test application and its control channel.
 */
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { dirname, join, resolve } from 'node:path'
import type { Duplex } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { createServer, type LifelineServer } from '@lifeline/core/server'
import { wsServerTransport } from '@lifeline/ws/server'
import { authenticate, chatHandler, onJoin } from './app.js'
import { type Config, defaultDemoDir, parseConfig } from './config.js'
import { CONTROL_PATH, ConformanceHost, type ConformanceOptions } from './conformance.js'
import { ChatHistory } from './history.js'
import { createRequestHandler } from './http.js'
import { createLogger, type LineSink, type Logger } from './logger.js'
import { createMetrics } from './metrics.js'
import { connectNats, type NatsNode, natsTransportOnly } from './nats.js'
import { logEvents } from './session-log.js'
import { attachSocketIo, isSocketIoPath, SOCKET_IO_PATH } from './socket-io.js'

export const LIFELINE_PATH = '/lifeline'

export interface StartOptions {
  /** Where the JSON logs go. Default: stdout. */
  readonly logSink?: LineSink
  /** Where the missing-secret warning goes. Default: stderr. */
  readonly warnSink?: LineSink
}

export interface RunningServer {
  /** `http://host:port/`, the demo's address. */
  readonly url: string
  readonly port: number
  readonly host: string
  readonly lifeline: LifelineServer
  readonly http: Server
  readonly logger: Logger
  /** In conformance mode: the control channel's base URL, e.g. `http://127.0.0.1:9000/conformance`. */
  readonly controlUrl?: string
  /** Graceful stop: clients told to come back later (4200 GOING_AWAY), then the HTTP server closes. */
  close(): Promise<void>
}

/** How to write host:port in a URL someone can open. */
export function displayHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return 'localhost'
  return host.includes(':') ? `[${host}]` : host
}

const SECRET_WARNING = [
  '',
  '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
  '!!  WARNING: no LIFELINE_SECRET (or --secret) set. Using a random secret for this process.',
  '!!  Mementos will NOT survive a restart: after a restart or deploy every client starts a',
  '!!  new session and nothing is recovered. Set a secret of at least 32 bytes in production,',
  '!!  for example: LIFELINE_SECRET="$(openssl rand -base64 48)"',
  '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
  '',
].join('\n')

/** Starts the server; `config` overrides the defaults (`parseConfig([], {})`). */
export async function startServer(
  config: Partial<Config> = {},
  options: StartOptions = {},
): Promise<RunningServer> {
  const settings: Config = { ...parseConfig([], {}), ...config }
  const logger = createLogger(settings.logLevel, options.logSink)
  if (settings.conformance !== undefined && settings.conformance !== false) {
    const conformance = settings.conformance === true ? {} : settings.conformance
    return startConformance(settings, conformance, logger)
  }
  const demoDir = locateDemo(settings.demoDir)
  const demoBuilt = existsSync(join(demoDir, 'index.html'))
  if (!demoBuilt) {
    logger.warn('demo not built: / will answer 503', {
      demoDir,
      hint: 'pnpm --filter @lifeline/demo build',
    })
  }

  let secret = settings.secret
  if (secret === undefined) {
    secret = randomBytes(32).toString('base64')
    ;(options.warnSink ?? process.stderr).write(`${SECRET_WARNING}\n`)
    logger.warn('no secret configured: mementos will not survive a restart')
  }

  let lifeline: LifelineServer | undefined
  const server = (): LifelineServer => lifeline as LifelineServer
  const history = new ChatHistory() // the chat's own storage (on this node), to resync pages from
  // One node of a cluster: the store and bus every node shares, and Lifeline over NATS as well.
  const nats: NatsNode | undefined =
    settings.nats === undefined ? undefined : await connectNats(settings.nats, logger)
  lifeline = createServer({
    secret,
    logger,
    ...(nats === undefined ? {} : { store: nats.store, bus: nats.bus, maxFrameBytes: nats.maxFrameBytes }),
    graceMs: settings.graceMs,
    heartbeatMs: settings.heartbeatMs,
    heartbeatTimeoutMs: settings.heartbeatTimeoutMs,
    authenticate,
    onJoin,
    onMessage: chatHandler(server, history),
  })
  const metrics = createMetrics(lifeline)
  const stopLogging = logEvents(lifeline, logger)

  const http = createHttpServer()
  const transport = wsServerTransport({
    server: http,
    path: LIFELINE_PATH,
    ...(settings.allowedOrigins === undefined ? {} : { allowedOrigins: [...settings.allowedOrigins] }),
  })
  let draining = false
  const startedAt = Date.now()
  http.on(
    'request',
    createRequestHandler({
      lifeline,
      registry: metrics.registry,
      probe: transport,
      lifelinePath: LIFELINE_PATH,
      demoDir,
      demoBuilt,
      history,
      allowedOrigins: settings.allowedOrigins,
      logger,
      startedAt,
      draining: () => draining,
    }),
  )
  const socketIo = attachSocketIo(http, settings.allowedOrigins)
  // The transports take upgrades on their paths; refuse the rest instead of leaving them hanging.
  let stopped = false
  http.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    const raw = req.url ?? '/'
    const path = raw.split('?', 1)[0]
    if ((path === LIFELINE_PATH || isSocketIoPath(path)) && !stopped) return
    socket.on('error', () => {})
    socket.end(
      `HTTP/1.1 ${path === LIFELINE_PATH ? '503 Service Unavailable' : '404 Not Found'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
    )
  })
  await lifeline.attach(transport)
  await lifeline.attach(socketIo.transport)
  if (nats !== undefined) await lifeline.attach(nats.transport)
  await listen(http, settings.port, settings.host, logger)

  const port = (http.address() as AddressInfo).port
  const url = `http://${displayHost(settings.host)}:${port}/`
  logger.info('listening', {
    url,
    host: settings.host,
    port,
    websocket: `${url.replace(/^http/, 'ws').replace(/\/$/, '')}${LIFELINE_PATH}`,
    socketIo: {
      url: url.replace(/\/$/, ''),
      path: SOCKET_IO_PATH,
      namespace: '/lifeline',
      event: 'lifeline',
    },
    demoDir,
    graceMs: settings.graceMs,
    heartbeatMs: settings.heartbeatMs,
    heartbeatTimeoutMs: settings.heartbeatTimeoutMs,
    allowedOrigins: settings.allowedOrigins ?? 'any',
    ...(settings.nats === undefined
      ? {}
      : {
          nats: {
            servers: settings.nats.servers,
            replicas: settings.nats.replicas,
            prefix: settings.nats.prefix,
          },
        }),
  })

  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    closing ??= (async () => {
      draining = true
      logger.info('shutting down', { sessions: server().stats.sessions })
      try {
        stopped = true // shutdown() detaches the transport synchronously: later upgrades are ours to refuse
        await server().shutdown({ retryAfterMs: 1000, jitterMs: 5000 })
      } finally {
        stopLogging()
        metrics.detach()
        await closeHttp(http)
        await socketIo.close()
        await nats?.close()
        logger.info('stopped')
      }
    })()
    return closing
  }

  return { url, port, host: settings.host, lifeline, http, logger, close }
}

/**
 * Conformance mode: the Lifeline endpoint runs the test application, switched to a fresh LifelineServer
 * on every reset, and `/conformance` is the control channel (spec/conformance.md). No demo, no metrics.
 */
async function startConformance(
  settings: Config,
  conformance: ConformanceOptions,
  logger: Logger,
): Promise<RunningServer> {
  // Mementos must verify across resets and restarts: one secret for the life of the process.
  const secret = settings.secret ?? randomBytes(32).toString('base64')
  const http = createHttpServer()
  const transport = wsServerTransport({
    server: http,
    path: LIFELINE_PATH,
    ...(settings.allowedOrigins === undefined ? {} : { allowedOrigins: [...settings.allowedOrigins] }),
  })
  // Assigned right below, once Socket.IO (which must come after this request listener) is attached.
  let host: ConformanceHost | undefined
  http.on('request', (req, res) => {
    if (host === undefined) return void res.writeHead(503).end()
    const raw = req.url ?? '/'
    const queryAt = raw.indexOf('?')
    const path = queryAt === -1 ? raw : raw.slice(0, queryAt)
    const query = new URLSearchParams(queryAt === -1 ? '' : raw.slice(queryAt + 1))
    if (host.handle(req, res, path, query)) return
    if (transport.handleProbe(req, res)) return
    const health = path === '/healthz'
    const body = health
      ? `${JSON.stringify({ status: 'ok', mode: 'conformance', ...host.server.stats })}\n`
      : 'not found\n'
    res.writeHead(health ? 200 : 404, {
      'Content-Type': health ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-store',
    })
    res.end(body)
  })
  const socketIo = attachSocketIo(http, settings.allowedOrigins)
  // With --nats, the test application is reached over NATS as well (the conformance suite's NATS target).
  const nats = settings.nats === undefined ? undefined : await natsTransportOnly(settings.nats, logger)
  const conformanceHost = new ConformanceHost(
    nats === undefined ? [transport, socketIo.transport] : [transport, socketIo.transport, nats.transport],
    secret,
    logger,
    conformance,
  )
  host = conformanceHost
  let stopped = false
  http.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    const path = (req.url ?? '/').split('?', 1)[0]
    if ((path === LIFELINE_PATH || isSocketIoPath(path)) && !stopped) return
    socket.on('error', () => {})
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
  })
  await conformanceHost.start()
  await listen(http, settings.port, settings.host, logger)
  const port = (http.address() as AddressInfo).port
  const url = `http://${displayHost(settings.host)}:${port}/`
  const base = url.replace(/\/$/, '')
  const controlUrl = `${base}${CONTROL_PATH}`
  logger.info('listening in conformance mode', {
    url,
    websocket: `${base.replace(/^http/, 'ws')}${LIFELINE_PATH}`,
    control: controlUrl,
    faults: conformance.faults ?? [],
  })
  let closing: Promise<void> | undefined
  return {
    url,
    port,
    host: settings.host,
    get lifeline() {
      return conformanceHost.server
    },
    http,
    logger,
    controlUrl,
    close: () => {
      closing ??= (async () => {
        stopped = true
        await conformanceHost.close()
        await closeHttp(http)
        await socketIo.close()
        await nats?.close()
        logger.info('stopped')
      })()
      return closing
    },
  }
}

/**
 * The demo directory. The default (apps/demo/dist next to this file) is also looked up through the
 * `@lifeline/demo` package, so a server started from an unusual layout still finds a built demo.
 */
export function locateDemo(configured: string): string {
  const dir = resolve(configured)
  if (existsSync(join(dir, 'index.html')) || dir !== defaultDemoDir()) return dir
  // Installed as a package: the demo ships inside it (copied there by the build).
  const shipped = fileURLToPath(new URL('../demo', import.meta.url))
  if (existsSync(join(shipped, 'index.html'))) return shipped
  try {
    const manifest = createRequire(import.meta.url).resolve('@lifeline/demo/package.json')
    const candidate = join(dirname(manifest), 'dist')
    if (existsSync(join(candidate, 'index.html'))) return candidate
  } catch {
    // not installed next to us: keep the default, the server says the demo is not built
  }
  return dir
}

function closeHttp(http: Server): Promise<void> {
  return new Promise<void>((done) => {
    if (!http.listening) return done()
    const force = setTimeout(() => http.closeAllConnections(), 3000)
    force.unref()
    http.close(() => {
      clearTimeout(force)
      done()
    })
    http.closeIdleConnections()
  })
}

/** Listens, failing on a bind error (a port in use); later errors are only logged. */
function listen(http: Server, port: number, host: string, logger: Logger): Promise<void> {
  return new Promise<void>((done, fail) => {
    const onError = (error: Error) => fail(error)
    http.once('error', onError)
    http.listen(port, host, () => {
      http.off('error', onError)
      http.on('error', (error) => logger.error('http server error', { error }))
      done()
    })
  })
}
