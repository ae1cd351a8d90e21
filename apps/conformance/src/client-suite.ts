/**
 * The client suite (spec/conformance.md): a scripted WebSocket server plays the server's side of every
 * trace against a client under test, which a driver program runs (JSON lines over stdin/stdout).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createInterface } from 'node:readline'
import type { Duplex } from 'node:stream'
import type { Trace, TraceStep } from '@lifeline/protocol/vectors'
import { Server as SocketIoServer } from 'socket.io'
import { WebSocketServer } from 'ws'
import { buildReport, type CheckResult, type Report } from './report.js'
import {
  Failure,
  Link,
  NotApplicable,
  pickTimings,
  pool,
  RealTimeTrace,
  type RunOptions,
  traceCost,
} from './runner.js'
import { ruleMatcher, select } from './select.js'
import { loadSpec, type Spec } from './spec.js'
import { serverSocketWire, type Wire, wsWire } from './wire.js'

export interface ClientSuiteOptions {
  /** The driver: a program and its arguments, e.g. `['python3', 'driver.py']`. */
  readonly command: readonly string[]
  readonly spec?: Spec
  readonly rules?: readonly string[] | undefined
  readonly traces?: readonly string[] | undefined
  /** How long to wait for an expected frame or event, in ms. Default: 2000. */
  readonly timeoutMs?: number
  /** How long a driver may take to say `ready`, in ms. Default: 10000. */
  readonly readyTimeoutMs?: number
  /** Traces played at the same time, each with its own scripted server and driver. Default: 1. */
  readonly jobs?: number
  /**
   * What the scripted server speaks: `ws` (default), or `socket.io`, where each actor has its own
   * namespace and the driver is given an endpoint descriptor (LL-SIO-5) and needs the `socket.io`
   * capability.
   */
  readonly transport?: 'ws' | 'socket.io'
  /** Working directory and environment of the driver. */
  readonly cwd?: string
  readonly env?: NodeJS.ProcessEnv
  readonly onCheck?: (result: CheckResult) => void
}

/** The capabilities a trace needs from a driver. */
export function neededCapabilities(trace: Trace, transport: 'ws' | 'socket.io' = 'ws'): string[] {
  const needs = new Set<string>()
  if (transport === 'socket.io') needs.add('socket.io')
  for (const step of trace.steps) {
    if ('do' in step && 'client' in step && step.do.action === 'connect' && step.do.storageOf !== undefined) {
      needs.add('storage')
    }
  }
  return [...needs]
}

type ClientAction = Extract<TraceStep, { do: unknown; client: string }>['do']

/** A client step's command for the driver. */
export function driverCommand(
  actor: string,
  action: ClientAction,
  url: string,
  endpoint?: SocketIoDescriptor,
): Record<string, unknown> {
  switch (action.action) {
    case 'connect':
      return {
        cmd: 'connect',
        client: actor,
        url,
        ...(endpoint === undefined ? {} : { endpoint }),
        ...(action.auth === undefined ? {} : { auth: action.auth }),
        ...(action.storageOf === undefined ? {} : { storageOf: action.storageOf }),
      }
    case 'send':
      return {
        cmd: 'send',
        client: actor,
        data: action.data,
        ...(action.topic === undefined ? {} : { topic: action.topic }),
        ...(action.id === undefined ? {} : { id: action.id }),
      }
    case 'join':
    case 'leave':
      return { cmd: action.action, client: actor, topic: action.topic }
    case 'close':
      return { cmd: 'close', client: actor }
  }
}

export interface DriverHello {
  readonly name: string
  readonly capabilities: readonly string[]
}

const MAX_LOG = 64 * 1024

/** The driver process: commands in on stdin, events out on stdout, one JSON object per line. */
export class Driver {
  private readonly child: ChildProcess
  private log = ''
  readonly ready: Promise<DriverHello>
  readonly exited: Promise<number | null>
  private hasExited = false

  constructor(
    command: readonly string[],
    options: { cwd?: string | undefined; env?: NodeJS.ProcessEnv | undefined },
    onEvent: (event: Record<string, unknown>) => void,
    onExit: (code: number | null, signal: NodeJS.Signals | null) => void,
  ) {
    const [program, ...args] = command
    if (program === undefined) throw new Error('no driver command')
    this.child = spawn(program, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      ...(options.env === undefined ? {} : { env: options.env }),
    })
    let ready: (hello: DriverHello) => void = () => {}
    let refuse: (error: Error) => void = () => {}
    this.ready = new Promise((resolve, reject) => {
      ready = resolve
      refuse = reject
    })
    this.ready.catch(() => {})
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.hasExited = true
        refuse(new Error(`the driver exited (${signal ?? `code ${code}`}) before it said ready`))
        onExit(code, signal)
        resolve(code)
      })
    })
    this.child.once('error', (error) => {
      this.hasExited = true
      refuse(new Error(`could not start the driver ${JSON.stringify(command.join(' '))}: ${error.message}`))
    })
    this.child.stdin?.on('error', () => {}) // a driver that died: reported by its exit
    this.child.stderr?.on('data', (chunk: Buffer) => this.keep(chunk.toString('utf8')))
    const lines = createInterface({ input: this.child.stdout as NodeJS.ReadableStream })
    lines.on('line', (line) => {
      if (line.trim() === '') return
      let value: unknown
      try {
        value = JSON.parse(line)
      } catch {
        this.keep(`[stdout, not JSON] ${line}\n`)
        return
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        this.keep(`[stdout, not an object] ${line}\n`)
        return
      }
      const event = value as Record<string, unknown>
      if (event.event === 'ready') {
        const capabilities = Array.isArray(event.capabilities)
          ? event.capabilities.filter((c): c is string => typeof c === 'string')
          : []
        ready({ name: typeof event.name === 'string' ? event.name : 'unnamed driver', capabilities })
      } else onEvent(event)
    })
  }

  /** What the driver wrote to stderr (and stdout lines that were not events). */
  get stderr(): string {
    return this.log
  }

  private keep(text: string): void {
    this.log += text
    if (this.log.length > MAX_LOG) this.log = this.log.slice(-MAX_LOG)
  }

  send(command: Record<string, unknown>): void {
    if (this.hasExited) throw new Failure('the driver has exited')
    this.child.stdin?.write(`${JSON.stringify(command)}\n`)
  }

  /** Asks the driver to exit; kills it if it has not within `graceMs`. */
  async exit(graceMs = 2000): Promise<void> {
    if (this.hasExited) return
    try {
      this.child.stdin?.write(`${JSON.stringify({ cmd: 'exit' })}\n`)
      this.child.stdin?.end()
    } catch {
      // already gone
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs)
    await this.exited
    clearTimeout(timer)
  }
}

/** An endpoint descriptor as the driver is given it (LL-SIO-5). */
export interface SocketIoDescriptor {
  readonly transport: 'socket.io'
  readonly url: string
  readonly path: string
  readonly namespace: string
  readonly event: string
}

const ACTOR = /^[a-z][a-z0-9]*$/

/**
 * The scripted server on 127.0.0.1: over WebSocket each actor connects to its own path, `/<actor>`;
 * over Socket.IO to its own namespace, `/<actor>`, with the default path and event (LL-SIO-4).
 */
export class ScriptedServer {
  private readonly wires = new Set<Wire>()

  private constructor(
    private readonly http: Server,
    private readonly close_: () => void,
    readonly port: number,
    readonly transport: 'ws' | 'socket.io',
  ) {}

  static async start(
    onConnection: (actor: string, wire: Wire) => void,
    transport: 'ws' | 'socket.io' = 'ws',
  ): Promise<ScriptedServer> {
    // HEAD is the reconnect probe (LL-WS-5): always available here.
    const http = createServer((req, res) => {
      if (req.url?.startsWith('/socket.io/')) return // Socket.IO answers its own path
      res.writeHead(req.method === 'HEAD' ? 204 : 426, { 'cache-control': 'no-store' }).end()
    })
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject)
      http.listen(0, '127.0.0.1', () => resolve())
    })
    const port = (http.address() as AddressInfo).port
    const accepted = (
      server: ScriptedServer,
      actor: string,
      wire: Wire,
      closed: (done: () => void) => void,
    ) => {
      server.wires.add(wire)
      closed(() => server.wires.delete(wire))
      onConnection(actor, wire)
    }
    if (transport === 'socket.io') {
      const io = new SocketIoServer(http, { serveClient: false })
      const server = new ScriptedServer(http, () => void io.close(), port, transport)
      io.of((name, _auth, next) => next(null, ACTOR.test(name.slice(1)))).on('connection', (socket) => {
        accepted(server, socket.nsp.name.slice(1), serverSocketWire(socket, 'lifeline'), (done) =>
          socket.once('disconnect', done),
        )
      })
      return server
    }
    const wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: 64 * 1024 * 1024,
    })
    const server = new ScriptedServer(http, () => wss.close(), port, transport)
    http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const actor = (req.url ?? '/').split('?', 1)[0]?.slice(1) ?? ''
      if (!ACTOR.test(actor)) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
        return
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        accepted(server, actor, wsWire(ws), (done) => ws.once('close', done))
      })
    })
    return server
  }

  url(actor: string): string {
    return this.transport === 'ws' ? `ws://127.0.0.1:${this.port}/${actor}` : `http://127.0.0.1:${this.port}`
  }

  /** Over Socket.IO, what the driver is told instead of a bare URL. */
  endpoint(actor: string): SocketIoDescriptor | undefined {
    if (this.transport === 'ws') return undefined
    return {
      transport: 'socket.io',
      url: this.url(actor),
      path: '/socket.io/',
      namespace: `/${actor}`,
      event: 'lifeline',
    }
  }

  async close(): Promise<void> {
    for (const wire of this.wires) wire.terminate()
    this.close_()
    this.http.closeAllConnections()
    await new Promise<void>((resolve) => this.http.close(() => resolve()))
  }
}

/** A scripted server against a real client, through its driver. */
class ClientTraceRun extends RealTimeTrace {
  private server: ScriptedServer | undefined
  private driver: Driver | undefined
  private readonly links = new Map<string, Link>()
  private readonly everyLink: Link[] = []

  constructor(
    trace: Trace,
    options: RunOptions,
    private readonly suite: ClientSuiteOptions,
    private readonly spec: Spec,
  ) {
    super(trace, options)
  }

  override async run(): Promise<CheckResult> {
    const result = await super.run()
    const stderr = this.driver?.stderr ?? ''
    return result.status === 'failed' && stderr !== '' ? { ...result, stderr } : result
  }

  protected async start(): Promise<void> {
    this.server = await ScriptedServer.start((actor, wire) => {
      const link = new Link(actor, wire, this, 'client', this.spec.validate)
      this.links.set(actor, link)
      this.everyLink.push(link)
    }, this.suite.transport)
    this.driver = new Driver(
      this.suite.command,
      { cwd: this.suite.cwd, env: this.suite.env },
      (event) => {
        const client = event.client
        if (typeof client !== 'string' || typeof event.event !== 'string') return
        this.book.recordEvent(`${client}|${event.event}`, event)
        this.pulse.notify()
      },
      (code, signal) => {
        if (!this.stopping) this.violation(`the driver exited during the trace (${signal ?? `code ${code}`})`)
      },
    )
    const readyMs = this.suite.readyTimeoutMs ?? 10_000
    let timer: NodeJS.Timeout | undefined
    const hello = await Promise.race([
      this.driver.ready,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`the driver did not say ready within ${readyMs} ms`)),
          readyMs,
        )
      }),
    ])
      .catch((error: Error) => {
        throw new Failure(error.message)
      })
      .finally(() => clearTimeout(timer))
    const missing = neededCapabilities(this.trace, this.suite.transport).filter(
      (needed) => !hello.capabilities.includes(needed),
    )
    if (missing.length > 0) {
      throw new NotApplicable(`needs the driver capability ${missing.join(', ')}, which ${hello.name} lacks`)
    }
  }

  private stopping = false

  private link(actor: string): Link {
    const link = this.links.get(actor)
    if (link === undefined) throw new Failure(`${actor} never connected`)
    return link
  }

  protected async step(step: TraceStep): Promise<void> {
    if ('do' in step) {
      if (!('client' in step)) return // the wire effect of a server action is written as s2c frames
      const server = this.server
      this.driver?.send(
        driverCommand(step.client, step.do, server?.url(step.client) ?? '', server?.endpoint(step.client)),
      )
      return
    }
    if ('c2s' in step) return this.expectFrame(step.client, 'c2s', step.c2s)
    if ('s2c' in step) {
      const frame = this.book.outgoing(step.s2c)
      if (frame.type === 'welcome') {
        if (typeof frame.sid === 'string') this.book.bind(frame.sid, step.client)
        // Named durations follow what the client was told.
        this.timings = { ...this.timings, ...pickTimings(frame) }
      }
      const link = this.link(step.client)
      if (link.state !== 'open')
        throw new Failure(`${step.client} has no open connection to send to (${link.state})`)
      await link.send(JSON.stringify(frame))
      // A scripted bye ends the connection, as a server's would (LL-INTENT-5).
      if (frame.type === 'bye') link.close(Number(frame.code), String(frame.reason ?? ''))
      return
    }
    if ('sees' in step) {
      if (!('client' in step)) return
      const key = `${step.client}|${step.sees.event}`
      return this.until(
        () => this.book.expectEvent(key, step.sees),
        () => `the driver reported no ${step.sees.event} event for ${step.client}`,
      )
    }
    if ('fault' in step) {
      const link = this.link(step.client)
      // client_loses: the client must see its connection fail; the scripted side just forgets it.
      if (step.fault === 'blackhole') link.abandon()
      else link.terminate()
      return
    }
    if ('quiet' in step) return this.expectQuiet(step.client, step.quiet)
  }

  protected async stop(): Promise<void> {
    this.stopping = true
    await this.driver?.exit().catch(() => {})
    for (const link of this.everyLink) link.dispose()
    await this.server?.close()
  }
}

/** Plays the selected traces against the client the driver runs; resolves with the report. */
export async function runClientSuite(options: ClientSuiteOptions): Promise<Report> {
  if (options.command.length === 0) throw new Error('runClientSuite: no driver command')
  const spec = options.spec ?? loadSpec()
  const startedAt = new Date()
  const started = performance.now()
  const selection = select('client', spec.traces, spec.vectorFiles, {
    rules: options.rules,
    names: options.traces,
  })
  const runOptions: RunOptions = { timeoutMs: options.timeoutMs ?? 2000 }
  const workers = Array.from({ length: Math.max(1, Math.floor(options.jobs ?? 1)) }, (_, i) => i)
  const results = await pool(
    selection.traces,
    workers,
    (trace) =>
      traceCost(trace, {
        graceMs: 120_000,
        heartbeatMs: 25_000,
        heartbeatTimeoutMs: 10_000,
        ...trace.server,
      }),
    async (trace) => {
      const result = await new ClientTraceRun(trace, runOptions, options, spec).run()
      options.onCheck?.(result)
      return result
    },
  )
  const checks = selection.traces.flatMap((trace) => {
    const result = results.get(trace)
    return result === undefined ? [] : [result]
  })
  return buildReport({
    suite: 'client',
    target: options.command.join(' '),
    startedAt,
    durationMs: Math.round(performance.now() - started),
    checks,
    ruleFilter:
      options.rules !== undefined && options.rules.length > 0 ? ruleMatcher(options.rules) : undefined,
  })
}
