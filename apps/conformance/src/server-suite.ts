/**
 * The server suite (spec/conformance.md): plays the clients of every trace against a server under test,
 * drives its application through the test-server control channel, and plays the client frame vectors.
 */
import type { FrameVector, Trace, TraceStep } from '@lifeline/protocol/vectors'
import { buildReport, type CheckResult, type Report } from './report.js'
import {
  Failure,
  Link,
  type LinkSink,
  Pulse,
  pickTimings,
  pool,
  RealTimeTrace,
  type RunOptions,
  traceCost,
} from './runner.js'
import { ruleMatcher, select } from './select.js'
import { type LoadedVectorFile, loadSpec, type Spec } from './spec.js'
import { dialNats, dialSocketIo, dialWs, socketIoPayload, type Wire } from './wire.js'

export interface ServerTarget {
  /**
   * The Lifeline WebSocket endpoint, e.g. ws://127.0.0.1:9000/lifeline; with `socketIo`, the Socket.IO
   * server's origin, e.g. http://127.0.0.1:9000.
   */
  readonly url: string
  /** Play over Socket.IO at this path, namespace and event (LL-SIO-4, LL-SIO-5) instead of WebSocket. */
  readonly socketIo?: { readonly path: string; readonly namespace: string; readonly event: string }
  /** Play over NATS (LL-NATS-*): `url` is the NATS server, e.g. nats://127.0.0.1:4222, with this prefix. */
  readonly nats?: { readonly prefix: string }
  /** The control channel's base URL, e.g. http://127.0.0.1:9000/conformance. */
  readonly control: string
}

export interface ServerSuiteOptions {
  /**
   * Servers under test. With several (each its own server and control channel), checks are spread over
   * them and run at the same time; all must be the same implementation.
   */
  readonly targets: readonly ServerTarget[]
  readonly spec?: Spec
  /** Rule ids or prefixes: only checks naming one of them. */
  readonly rules?: readonly string[] | undefined
  /** Trace names (or frame vector file names): only these. */
  readonly traces?: readonly string[] | undefined
  /** How long to wait for an expected frame or event, in ms. Default: 2000. */
  readonly timeoutMs?: number
  /** Called as each check ends. */
  readonly onCheck?: (result: CheckResult) => void
}

/** Timings of a server reset with no settings (spec/conformance.md, POST /reset). */
export const RESET_DEFAULTS = { graceMs: 3000, heartbeatMs: 25_000, heartbeatTimeoutMs: 10_000 }

export interface ServerEvent {
  readonly n: number
  readonly event: string
  readonly [key: string]: unknown
}

/** The test-server control channel: HTTP with JSON bodies at a base URL. */
export class ControlChannel {
  private readonly base: string

  constructor(base: string) {
    this.base = base.replace(/\/+$/, '')
  }

  private async call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Record<string, unknown>> {
    let response: Response
    try {
      response = await fetch(`${this.base}${path}`, {
        method,
        ...(body === undefined
          ? {}
          : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      })
    } catch (error) {
      const cause = (error as Error).cause
      throw new Failure(`control channel ${method} ${this.base}${path}: ${String(cause ?? error)}`)
    }
    const text = await response.text()
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      throw new Failure(
        `control channel ${method} ${path} answered ${response.status} with no JSON: ${text.slice(0, 200)}`,
      )
    }
    if (typeof value !== 'object' || value === null) {
      throw new Failure(`control channel ${method} ${path} answered ${text.slice(0, 200)}`)
    }
    return value as Record<string, unknown>
  }

  /** POST /reset: drop everything, start again with these settings. */
  async reset(settings: Record<string, unknown>): Promise<void> {
    const answer = await this.call('POST', '/reset', { settings })
    if (answer.ok !== true)
      throw new Failure(`the server could not reset: ${answer.error ?? JSON.stringify(answer)}`)
  }

  /** POST /do: the server application performs this action. */
  async act(action: Record<string, unknown>): Promise<void> {
    const answer = await this.call('POST', '/do', action)
    if (answer.ok !== true) {
      throw new Failure(
        `the server app could not ${JSON.stringify(action)}: ${answer.error ?? JSON.stringify(answer)}`,
      )
    }
  }

  /** GET /events?after=N: the application's events numbered above N, oldest first. */
  async events(after: number): Promise<ServerEvent[]> {
    const answer = await this.call('GET', `/events?after=${after}`)
    if (!Array.isArray(answer.events))
      throw new Failure(`GET /events answered ${JSON.stringify(answer).slice(0, 200)}`)
    return answer.events as ServerEvent[]
  }
}

type ServerAction = Extract<TraceStep, { server: 'app'; do: unknown }>['do']

/** A trace's server action for the control channel: actors become session ids. */
export function controlAction(
  action: ServerAction,
  sidOf: (actor: string) => string,
): Record<string, unknown> {
  switch (action.action) {
    case 'publish':
      if (action.to !== undefined) {
        return {
          action: 'publish',
          sid: sidOf(action.to),
          data: action.data,
          ...(action.appMemento === undefined ? {} : { appMemento: action.appMemento }),
        }
      }
      return {
        action: 'publish',
        topic: action.topic,
        data: action.data,
        ...(action.appMemento === undefined ? {} : { appMemento: action.appMemento }),
      }
    case 'kick':
      return {
        action: 'kick',
        sid: sidOf(action.client),
        ...(action.reason === undefined ? {} : { reason: action.reason }),
      }
    case 'remove':
      return { action: 'remove', sid: sidOf(action.client), topic: action.topic }
    case 'shutdown':
      return {
        action: 'shutdown',
        ...(action.retryAfterMs === undefined ? {} : { retryAfterMs: action.retryAfterMs }),
        ...(action.jitterMs === undefined ? {} : { jitterMs: action.jitterMs }),
      }
    case 'restart':
      return { action: 'restart' }
  }
}

/** Scripted clients against a real server: one WebSocket per actor connection. */
class ServerTraceRun extends RealTimeTrace {
  private readonly control: ControlChannel
  private readonly links = new Map<string, Link>()
  private readonly everyLink: Link[] = []
  private eventCursor = 0

  constructor(
    trace: Trace,
    options: RunOptions,
    private readonly target: ServerTarget,
    private readonly spec: Spec,
  ) {
    super(trace, options)
    this.control = new ControlChannel(target.control)
    // Named durations follow the server's settings: what /reset was given, then what its welcome says.
    this.timings = { ...RESET_DEFAULTS, ...pickTimings(trace.server ?? {}) }
  }

  protected async start(): Promise<void> {
    await this.control.reset({ ...(this.trace.server ?? {}) })
    // Whether a server numbers events afresh after a reset or not, start after what is there now.
    const stale = await this.control.events(0)
    this.eventCursor = stale.reduce((max, event) => Math.max(max, event.n), 0)
  }

  private open(actor: string): Link {
    const link = new Link(actor, dial(this.target), this, 'server', this.spec.validate, (frame) => {
      if (frame.type === 'welcome') {
        const timings = pickTimings(frame)
        this.timings = { ...this.timings, ...timings }
      }
    })
    this.links.set(actor, link)
    this.everyLink.push(link)
    return link
  }

  private async openLink(actor: string): Promise<Link> {
    const link = this.links.get(actor)
    const current =
      link !== undefined && (link.usable || link.state === 'connecting') ? link : this.open(actor)
    try {
      await current.opened
    } catch (error) {
      throw new Failure(`${actor} could not connect to ${this.target.url}: ${(error as Error).message}`)
    }
    return current
  }

  private sidOf = (actor: string): string => {
    const sid = this.book.sidOf(actor)
    if (sid === undefined) throw new Failure(`${actor} has no session yet (no welcome matched)`)
    return sid
  }

  private async fetchEvents(): Promise<void> {
    const events = await this.control.events(this.eventCursor)
    for (const event of events) {
      if (typeof event.n !== 'number' || event.n <= this.eventCursor) continue
      this.eventCursor = event.n
      const { n: _n, ...rest } = event
      this.book.recordEvent(`server|${String(event.event)}`, rest)
    }
  }

  protected async step(step: TraceStep): Promise<void> {
    if ('do' in step) {
      if ('client' in step) {
        if (step.do.action === 'connect') await this.openLink(step.client)
        return
      }
      if (step.do.action === 'restart') this.book.forgetStreams()
      return this.control.act(controlAction(step.do, this.sidOf))
    }
    if ('c2s' in step) {
      const frame = this.book.outgoing(step.c2s)
      let link = this.links.get(step.client)
      if (frame.type === 'hello' || link === undefined) link = await this.openLink(step.client)
      else if (link.state === 'connecting') await link.opened
      if (!link.usable) throw new Failure(`${step.client} has no open connection to send on (${link.state})`)
      await link.send(JSON.stringify(frame))
      // After its own bye a client leaves the close to the server, which answers bye 4007 (LL-INTENT-1,
      // LL-WS-3, LL-SIO-9): it sends nothing more and still reads what comes.
      if (frame.type === 'bye') link.closeAfterPeer()
      return
    }
    if ('c2sBatch' in step) {
      const frames = step.c2sBatch.map((pattern) => this.book.outgoing(pattern))
      let link = this.links.get(step.client)
      if (frames[0]?.type === 'hello' || link === undefined) link = await this.openLink(step.client)
      else if (link.state === 'connecting') await link.opened
      if (!link.usable) throw new Failure(`${step.client} has no open connection to send on (${link.state})`)
      // One message on WebSocket (LL-WS-2); Socket.IO has no batches (LL-SIO-1): back to back there.
      if (this.target.socketIo === undefined) await link.send(JSON.stringify(frames))
      else for (const frame of frames) await link.send(JSON.stringify(frame))
      return
    }
    if ('s2c' in step) return this.expectFrame(step.client, 's2c', step.s2c)
    if ('sees' in step) {
      if ('client' in step) return
      const key = `server|${step.sees.event}`
      return this.until(
        () => this.book.expectEvent(key, step.sees),
        () => `the server app reported no ${step.sees.event} event (GET /events)`,
        () => this.fetchEvents(),
      )
    }
    if ('fault' in step) {
      const link = this.links.get(step.client)
      if (link === undefined) throw new Failure(`${step.client} has no connection to fault`)
      if (step.fault === 'reset') link.terminate()
      else link.abandon()
      return
    }
    if ('quiet' in step) return this.expectQuiet(step.client, step.quiet)
  }

  protected override async beforeLeftovers(): Promise<void> {
    await this.fetchEvents()
  }

  protected async stop(): Promise<void> {
    for (const link of this.everyLink) link.dispose()
  }
}

/** A frame vector the server suite plays: invalid client frames, and valid hellos. */
export function playsVector(vector: FrameVector): boolean {
  if (!vector.expect.ok) return true
  const [frame, ...rest] = vector.expect.frames
  return rest.length === 0 && frame?.type === 'hello'
}

/** A connection to the target, over its transport. */
function dial(target: ServerTarget): Wire {
  const sio = target.socketIo
  if (target.nats !== undefined) return dialNats({ url: target.url, prefix: target.nats.prefix })
  return sio === undefined ? dialWs(target.url) : dialSocketIo({ url: target.url, ...sio })
}

/** Why a vector cannot be checked over the target's transport, if it cannot. */
function vectorNotApplicable(vector: FrameVector, target: ServerTarget): string | undefined {
  if (target.socketIo !== undefined) {
    if (vector.batch === true) return 'a batch: Socket.IO carries one frame per event (LL-SIO-1)'
    if (socketIoPayload(vector.text) === undefined) {
      return 'not one JSON object: Socket.IO cannot carry it as a frame, its transport refuses it (LL-SIO-6)'
    }
    return undefined
  }
  if (vector.batch === true) return undefined
  try {
    const value: unknown = JSON.parse(vector.text)
    if (Array.isArray(value) && value.length > 0) {
      return 'decodes one frame, but over WebSocket a message holding an array is a batch (LL-WS-2)'
    }
  } catch {
    // not JSON: the same outcome either way
  }
  return undefined
}

/** Collects what one vector's connection receives. */
class VectorSink implements LinkSink {
  readonly pulse = new Pulse()
  readonly frames: Record<string, unknown>[] = []
  problem: string | undefined

  violation(problem: string): void {
    this.problem ??= problem
    this.pulse.notify()
  }

  record(_actor: string, _direction: 'c2s' | 's2c', payload: unknown): void {
    for (const frame of Array.isArray(payload) ? payload : [payload])
      this.frames.push(frame as Record<string, unknown>)
    this.pulse.notify()
  }

  /** Waits for the first frame (not a ping or pong) after `from`; throws on timeout or a violation. */
  async next(
    from: number,
    timeoutMs: number,
    what: string,
  ): Promise<{ frame: Record<string, unknown>; index: number }> {
    const deadline = performance.now() + timeoutMs
    for (;;) {
      if (this.problem !== undefined) throw new Failure(this.problem)
      for (let i = from; i < this.frames.length; i++) {
        const frame = this.frames[i] as Record<string, unknown>
        if (frame.type !== 'ping' && frame.type !== 'pong') return { frame, index: i }
      }
      const left = deadline - performance.now()
      if (left <= 0) throw new Failure(`nothing after ${timeoutMs} ms: ${what}`)
      await this.pulse.wait(left)
    }
  }
}

async function playVector(
  file: LoadedVectorFile,
  vector: FrameVector,
  subject: string,
  target: ServerTarget,
  spec: Spec,
  timeoutMs: number,
): Promise<CheckResult> {
  const started = performance.now()
  const name = `${file.name}: ${vector.name}`
  const result = (status: CheckResult['status'], problem?: string): CheckResult => ({
    kind: 'frame-vector',
    name,
    rules: vector.rules ?? [],
    status,
    ...(problem === undefined ? {} : { problem }),
    durationMs: Math.round(performance.now() - started),
  })
  const reason = vectorNotApplicable(vector, target)
  if (reason !== undefined) return result('not-applicable', reason)
  const sink = new VectorSink()
  const link = new Link('vector', dial(target), sink, 'server', spec.validate)
  try {
    try {
      await link.opened
    } catch (error) {
      throw new Failure(`could not connect to ${target.url}: ${(error as Error).message}`)
    }
    if (vector.expect.ok) {
      await link.send(vector.text)
      const { frame } = await sink.next(0, timeoutMs, 'no answer to this valid hello')
      if (frame.type === 'welcome') return result('passed')
      // A hello offering no version 1 may find no version in common: bye 4001 is then the answer (LL-VERSION-2).
      const versions = (vector.expect.frames[0] as { versions?: unknown }).versions
      const offersV1 = Array.isArray(versions) && versions.includes(1)
      if (!offersV1 && frame.type === 'bye' && frame.code === 4001) return result('passed')
      throw new Failure(
        `a valid hello${offersV1 ? '' : ' (or bye 4001 when no version is in common)'} must be answered by welcome, got ${JSON.stringify(frame)}`,
      )
    }
    const hello = { type: 'hello', versions: [1], attempt: 0, auth: { token: subject } }
    await link.send(JSON.stringify(hello))
    const welcome = await sink.next(0, timeoutMs, `no answer to ${JSON.stringify(hello)}`)
    if (welcome.frame.type !== 'welcome') {
      throw new Failure(`the valid hello before the vector was answered by ${JSON.stringify(welcome.frame)}`)
    }
    if (vector.maxBytes !== undefined) {
      const limit = (welcome.frame.limits as { maxFrameBytes?: unknown } | undefined)?.maxFrameBytes
      if (limit !== vector.maxBytes) {
        return result(
          'not-applicable',
          `decoded with a maxBytes other than the server's maxFrameBytes (${String(limit)})`,
        )
      }
    }
    await link.send(vector.text)
    const expected = vector.expect.code
    const { frame } = await sink.next(
      welcome.index + 1,
      timeoutMs,
      `no bye ${expected} after the invalid frame`,
    )
    if (frame.type !== 'bye') throw new Failure(`expected bye ${expected}, got ${JSON.stringify(frame)}`)
    if (frame.code !== expected) throw new Failure(`expected bye ${expected}, got ${JSON.stringify(frame)}`)
    const closed = await Promise.race([link.closed.then(() => true), sleepFor(timeoutMs)])
    if (!closed)
      throw new Failure(
        `the server said bye ${expected} but did not close the connection within ${timeoutMs} ms`,
      )
    return result('passed')
  } catch (error) {
    return result('failed', error instanceof Error ? error.message : String(error))
  } finally {
    link.dispose()
  }
}

const sleepFor = (ms: number) => new Promise<false>((resolve) => setTimeout(() => resolve(false), ms))

/** The vector checks of a selection, in file order (for listing). */
export function vectorChecks(
  files: readonly LoadedVectorFile[],
): { file: LoadedVectorFile; vector: FrameVector }[] {
  return files.flatMap((file) => file.vectors.filter(playsVector).map((vector) => ({ file, vector })))
}

async function playVectors(
  files: readonly LoadedVectorFile[],
  target: ServerTarget,
  spec: Spec,
  timeoutMs: number,
  onCheck: ((result: CheckResult) => void) | undefined,
): Promise<CheckResult[]> {
  await new ControlChannel(target.control).reset({})
  const results: CheckResult[] = []
  let n = 0
  for (const { file, vector } of vectorChecks(files)) {
    const result = await playVector(file, vector, `vector-${++n}`, target, spec, timeoutMs)
    onCheck?.(result)
    results.push(result)
  }
  return results
}

export function describeTarget(targets: readonly ServerTarget[]): string {
  const first = targets[0]
  if (first === undefined) return 'no server'
  const more = targets.length > 1 ? ` (and ${targets.length - 1} more like it)` : ''
  return `${first.url} (control ${first.control})${more}`
}

/** Plays the selected traces and frame vectors against the server(s); resolves with the report. */
export async function runServerSuite(options: ServerSuiteOptions): Promise<Report> {
  if (options.targets.length === 0) throw new Error('runServerSuite: no target')
  const spec = options.spec ?? loadSpec()
  const startedAt = new Date()
  const started = performance.now()
  const selection = select('server', spec.traces, spec.vectorFiles, {
    rules: options.rules,
    names: options.traces,
  })
  const runOptions: RunOptions = { timeoutMs: options.timeoutMs ?? 2000 }
  type Job = { trace: Trace } | { vectors: readonly LoadedVectorFile[] }
  const jobs: Job[] = selection.traces.map((trace) => ({ trace }))
  const vectorJob: Job | undefined =
    vectorChecks(selection.vectorFiles).length > 0 ? { vectors: selection.vectorFiles } : undefined
  if (vectorJob !== undefined) jobs.push(vectorJob)
  const results = await pool(
    jobs,
    options.targets,
    (job) =>
      'trace' in job
        ? traceCost(job.trace, { ...RESET_DEFAULTS, ...pickTimings(job.trace.server ?? {}) })
        : 2000,
    async (job, target): Promise<CheckResult[]> => {
      if ('vectors' in job)
        return playVectors(job.vectors, target, spec, runOptions.timeoutMs, options.onCheck)
      const result = await new ServerTraceRun(job.trace, runOptions, target, spec).run()
      options.onCheck?.(result)
      return [result]
    },
  )
  const checks = jobs.flatMap((job) => results.get(job) ?? [])
  return buildReport({
    suite: 'server',
    target: describeTarget(options.targets),
    startedAt,
    durationMs: Math.round(performance.now() - started),
    checks,
    ruleFilter:
      options.rules !== undefined && options.rules.length > 0 ? ruleMatcher(options.rules) : undefined,
  })
}
