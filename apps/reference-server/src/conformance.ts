/**
 * Conformance mode (spec/conformance.md): the reference server runs the TEST APPLICATION of
 * spec/vectors/README.md instead of the chat, and serves the test-server control channel on its own
 * port, so that `lifeline-conformance server` can drive it:
 *
 *   POST /conformance/reset    {"settings": {...}}  every connection cut, a fresh server and store
 *   POST /conformance/do       a server action      publish, kick, remove, shutdown, restart
 *   GET  /conformance/events?after=N               the application's numbered events
 *
 * One WebSocket transport keeps listening throughout; each reset or restart makes a new LifelineServer
 * (same signing secret) and routes new connections to it. For tests only: never expose it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { type ServerTransport, systemClock } from '@lifeline/core'
import { createServer, type LifelineServer, MemoryStore } from '@lifeline/core/server'
import { testApplication } from '@lifeline/core/testing'
import { DuplicatingStore, IGNORE, Port } from './conformance-port.js'
import type { Logger } from './logger.js'
import { logEvents } from './session-log.js'

export const CONTROL_PATH = '/conformance'

/**
 * Deliberate bugs, for testing the conformance suite itself:
 * - `duplicate-replay`: a replay delivers its first message twice, under two seqs (LL-REPLAY-1);
 * - `no-rotate`: a resumed session's welcome hands back the memento the client came with (LL-MEMENTO-5).
 */
export type ConformanceFault = 'duplicate-replay' | 'no-rotate'

export interface ConformanceOptions {
  readonly faults?: readonly ConformanceFault[]
}

/** Settings a reset may give, with the control channel's defaults (spec/conformance.md). */
export interface ConformanceSettings {
  readonly graceMs: number
  readonly heartbeatMs: number
  readonly heartbeatTimeoutMs: number
  readonly maxTopics: number
  readonly topicLogEntries: number
  readonly sessionLogEntries: number
}

export const CONFORMANCE_DEFAULTS: ConformanceSettings = {
  graceMs: 3000,
  heartbeatMs: 25_000,
  heartbeatTimeoutMs: 10_000,
  maxTopics: 100,
  topicLogEntries: 1000,
  sessionLogEntries: 1000,
}

const DAY_MS = 24 * 60 * 60 * 1000

/** An application event, as GET /events reports it. */
export type AppEvent = { readonly n: number; readonly event: string; readonly sid: string } & Record<
  string,
  unknown
>

class BadRequest extends Error {}

/** Reads reset settings: known keys validated, unknown ones reported back as ignored. */
export function readSettings(value: unknown): { settings: ConformanceSettings; ignored: string[] } {
  if (value === undefined || value === null) return { settings: CONFORMANCE_DEFAULTS, ignored: [] }
  if (typeof value !== 'object' || Array.isArray(value)) throw new BadRequest('settings must be an object')
  const settings: Record<string, number> = { ...CONFORMANCE_DEFAULTS }
  const ignored: string[] = []
  for (const [key, raw] of Object.entries(value)) {
    if (!Object.hasOwn(CONFORMANCE_DEFAULTS, key)) {
      ignored.push(key)
      continue
    }
    const min = key === 'graceMs' ? 0 : 1
    if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < min || raw > DAY_MS) {
      throw new BadRequest(`settings.${key} must be a whole number from ${min} to ${DAY_MS}`)
    }
    settings[key] = raw
  }
  return { settings: settings as unknown as ConformanceSettings, ignored }
}

interface Current {
  readonly server: LifelineServer
  /** One per shared transport, in the same order. */
  readonly ports: readonly Port[]
  readonly settings: ConformanceSettings
  readonly stopLogging: () => void
}

/** The control channel and the servers it switches between. */
export class ConformanceHost {
  private current: Current | undefined
  private events: AppEvent[] = []
  private eventCount = 0
  private readonly faults: ReadonlySet<ConformanceFault>
  /** Resets and restarts run one at a time; connections wait for none of them. */
  private queue: Promise<unknown> = Promise.resolve()

  constructor(
    /** The transports every server of the moment is reached through: ws, and Socket.IO. */
    private readonly shared: readonly ServerTransport[],
    private readonly secret: string,
    private readonly logger: Logger,
    options: ConformanceOptions,
  ) {
    this.faults = new Set(options.faults ?? [])
  }

  /** The LifelineServer now current. */
  get server(): LifelineServer {
    if (this.current === undefined) throw new Error('conformance host not started')
    return this.current.server
  }

  async start(settings: ConformanceSettings = CONFORMANCE_DEFAULTS): Promise<void> {
    for (const [index, transport] of this.shared.entries()) {
      await transport.listen((connection) => {
        const port = this.current?.ports[index]
        if (port === undefined) {
          connection.terminate?.()
          return IGNORE
        }
        return port.take(connection)
      })
    }
    this.current = await this.make(settings)
  }

  private report = (event: string, sid: string, fields: Record<string, unknown>): void => {
    this.events.push({ n: ++this.eventCount, event, sid, ...fields })
    if (this.events.length > 100_000) this.events.splice(0, this.events.length - 100_000)
  }

  private async make(settings: ConformanceSettings): Promise<Current> {
    const memory = {
      topicLog: { maxEntries: settings.topicLogEntries },
      directLog: { maxEntries: settings.sessionLogEntries },
    }
    const store = this.faults.has('duplicate-replay')
      ? new DuplicatingStore(systemClock, memory)
      : new MemoryStore(systemClock, memory)
    let server: LifelineServer | undefined
    server = createServer({
      secret: this.secret,
      graceMs: settings.graceMs,
      heartbeatMs: settings.heartbeatMs,
      heartbeatTimeoutMs: settings.heartbeatTimeoutMs,
      maxTopics: settings.maxTopics,
      // spec/conformance.md: presence is sent at once in the test application (LL-PRESENCE-7).
      presenceBatchMs: 0,
      store,
      ...testApplication(() => server as LifelineServer, this.report),
    })
    server.on('session', (event) => this.report('attempt', event.sid, { attempt: event.attempt }))
    const stopLogging = logEvents(server, this.logger)
    const ports = this.shared.map((transport) => new Port(transport, this.faults))
    for (const port of ports) await server.attach(port)
    return { server, ports, settings, stopLogging }
  }

  /** Every connection cut without a close frame, the server and its store gone, a new one current. */
  private replace(settings: ConformanceSettings): Promise<void> {
    const run = this.queue.then(async () => {
      const old = this.current
      if (old !== undefined) {
        await Promise.all(old.ports.map((port) => port.cut()))
        await old.server.shutdown().catch(() => {})
        old.stopLogging()
      }
      for (const transport of this.shared) transport.drain?.(0) // probes say "accepting" again after a shutdown
      this.current = await this.make(settings)
    })
    this.queue = run.catch(() => {})
    return run
  }

  /** POST /reset: fresh server, store and event log, with these settings. */
  async reset(value: unknown): Promise<{ ignored: string[] }> {
    const { settings, ignored } = readSettings(value)
    await this.replace(settings)
    this.events = []
    this.eventCount = 0
    this.logger.info('conformance reset', { ...settings })
    return { ignored }
  }

  /** POST /do: the application performs an action (spec/conformance.md, "Server actions"). */
  async act(value: unknown): Promise<void> {
    if (typeof value !== 'object' || value === null) throw new BadRequest('the body must be an action object')
    const action = value as Record<string, unknown>
    const sid = (): string => {
      if (typeof action.sid !== 'string') throw new BadRequest(`${String(action.action)} needs a sid`)
      return action.sid
    }
    const ms = (key: string): number | undefined => {
      const raw = action[key]
      if (raw === undefined) return undefined
      if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 0)
        throw new BadRequest(`${key} must be a whole number`)
      return raw
    }
    const server = this.server
    switch (action.action) {
      case 'publish': {
        if (action.sid !== undefined) {
          await server.send(
            sid(),
            action.data,
            action.appMemento === undefined ? {} : { appMemento: action.appMemento },
          )
          return
        }
        if (typeof action.topic !== 'string') throw new BadRequest('publish needs a topic or a sid')
        await server.publish(
          action.topic,
          action.data,
          action.appMemento === undefined ? {} : { appMemento: action.appMemento },
        )
        return
      }
      case 'kick': {
        const reason = typeof action.reason === 'string' ? action.reason : undefined
        if (!(await server.kick(sid(), reason))) throw new Error(`no session ${sid()}`)
        return
      }
      case 'remove': {
        if (typeof action.topic !== 'string') throw new BadRequest('remove needs a topic')
        if (!(await server.remove(sid(), action.topic)))
          throw new Error(`session ${sid()} is not in ${action.topic}`)
        return
      }
      case 'shutdown': {
        const retryAfterMs = ms('retryAfterMs')
        const jitterMs = ms('jitterMs')
        server.goAway({
          ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
          ...(jitterMs === undefined ? {} : { jitterMs }),
        })
        return
      }
      case 'restart':
        // A process restart with a memory store: every link cut, every session forgotten, same keys.
        return this.replace(this.current?.settings ?? CONFORMANCE_DEFAULTS)
      default:
        throw new BadRequest(`unknown action ${JSON.stringify(action.action)}`)
    }
  }

  /** GET /events?after=N. */
  eventsAfter(after: number): AppEvent[] {
    return this.events.filter((event) => event.n > after)
  }

  /** Shuts the current server down (bye 4200 to everyone), then the shared transport. */
  async close(): Promise<void> {
    await this.queue
    const current = this.current
    if (current !== undefined) {
      await current.server.shutdown({ retryAfterMs: 1000, jitterMs: 5000 }).catch(() => {})
      current.stopLogging()
    }
    await Promise.all(this.shared.map((transport) => transport.close()))
  }

  /** Answers requests under CONTROL_PATH; false for other paths. */
  handle(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): boolean {
    if (path !== CONTROL_PATH && !path.startsWith(`${CONTROL_PATH}/`)) return false
    const route = path.slice(CONTROL_PATH.length)
    const answer = (status: number, value: unknown) => {
      const body = `${JSON.stringify(value)}\n`
      res.writeHead(status, {
        'Content-Type': 'application/json; charset=utf-8',
        'Content-Length': Buffer.byteLength(body),
        'Cache-Control': 'no-store',
      })
      res.end(body)
    }
    const method = req.method ?? 'GET'
    const post = async (work: (body: unknown) => Promise<Record<string, unknown> | undefined>) => {
      if (method !== 'POST') return answer(405, { ok: false, error: 'use POST' })
      try {
        const result = await work(await readJson(req))
        answer(200, { ok: true, ...result })
      } catch (error) {
        const status = error instanceof BadRequest ? 400 : 200
        answer(status, { ok: false, error: error instanceof Error ? error.message : String(error) })
      }
    }
    if (route === '/reset') {
      void post(async (body) => {
        const settings = (body as { settings?: unknown } | undefined)?.settings
        const { ignored } = await this.reset(settings)
        return ignored.length === 0 ? undefined : { ignored }
      })
      return true
    }
    if (route === '/do') {
      void post(async (body) => {
        await this.act(body)
        return undefined
      })
      return true
    }
    if (route === '/events') {
      if (method !== 'GET') {
        answer(405, { ok: false, error: 'use GET' })
        return true
      }
      const raw = query.get('after') ?? '0'
      const after = /^\d+$/.test(raw) ? Number(raw) : Number.NaN
      if (Number.isNaN(after)) answer(400, { ok: false, error: 'after must be a whole number' })
      else answer(200, { events: this.eventsAfter(after) })
      return true
    }
    if (route === '' || route === '/') {
      answer(200, {
        ok: true,
        endpoints: ['POST /conformance/reset', 'POST /conformance/do', 'GET /conformance/events?after=N'],
        faults: [...this.faults],
      })
      return true
    }
    answer(404, { ok: false, error: 'not found' })
    return true
  }
}

const MAX_BODY = 1024 * 1024

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY) {
        reject(new BadRequest('body too large'))
        req.destroy()
        return
      }
      chunks.push(chunk)
    })
    req.on('error', reject)
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8')
      if (text.trim() === '') return resolve(undefined)
      try {
        resolve(JSON.parse(text))
      } catch {
        reject(new BadRequest('the body is not JSON'))
      }
    })
  })
}
