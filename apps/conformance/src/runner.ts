/**
 * What both suites share: a trace played on real time over real sockets, on top of the spec's TraceBook
 * (queues, patterns, captures, fill-ins, leftovers). Waiting for an expected frame or event polls the book
 * until it answers, or the timeout passes.
 */
import {
  type Expectation,
  MARGIN_MS,
  type Trace,
  TraceBook,
  type TraceStep,
} from '@lifeline/protocol/vectors'
import type { CheckResult } from './report.js'
import type { Direction, FrameValidator } from './spec.js'
import type { Wire } from './wire.js'

/** A trace failed: the message says at which step and why. */
export class Failure extends Error {
  override readonly name = 'Failure'
}

/** The trace cannot be played against this peer (a driver capability it lacks, say). */
export class NotApplicable extends Error {
  override readonly name = 'NotApplicable'
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)))

/** Wakes whoever waits whenever something was recorded. */
export class Pulse {
  private waiters = new Set<() => void>()

  notify(): void {
    const waiters = this.waiters
    this.waiters = new Set()
    for (const wake of waiters) wake()
  }

  /** Resolves at the next notify, or after `ms`. */
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.waiters.delete(done)
        resolve()
      }
      const timer = setTimeout(done, Math.max(0, ms))
      this.waiters.add(done)
    })
  }
}

export interface RunOptions {
  /** How long to wait for an expected frame or event, in ms. */
  readonly timeoutMs: number
}

/** How long to let late frames arrive before the end-of-trace check. */
export const SETTLE_MS = 50

/**
 * An advance right before a `quiet` step ends this much early: on real time, a peer acting exactly at
 * the boundary (a retry due at 2000 ms, checked quiet at 1999) must not fail the check by a timer's jitter.
 */
export const QUIET_TOLERANCE_MS = 50

type Timings = { heartbeatMs: number; heartbeatTimeoutMs: number; graceMs: number }

/** Where a Link puts what it receives. */
export interface LinkSink {
  readonly pulse: Pulse
  /** A frame broke the protocol (not JSON, not its schema): the check fails. */
  violation(problem: string): void
  /** A transport message that passed the checks: one frame or a batch. */
  record(actor: string, direction: 'c2s' | 's2c', payload: unknown): void
}

/** A trace played on real time: the step loop, waiting, faults and the final checks. */
export abstract class RealTimeTrace implements LinkSink {
  readonly book: TraceBook
  readonly pulse = new Pulse()
  private readonly violations: string[] = []
  /** Set by subclasses when they learn the peer's real timings (a server's welcome). */
  protected timings: Timings

  constructor(
    readonly trace: Trace,
    protected readonly options: RunOptions,
  ) {
    this.book = new TraceBook(trace)
    this.timings = { ...this.book.settings }
  }

  /** Records a problem seen outside a step (a frame failing its schema); the trace fails at once. */
  violation(problem: string): void {
    this.violations.push(problem)
    this.pulse.notify()
  }

  record(actor: string, direction: 'c2s' | 's2c', payload: unknown): void {
    this.book.recordPayload(actor, direction, payload)
    this.pulse.notify()
  }

  protected throwIfViolated(): void {
    const problem = this.violations[0]
    if (problem !== undefined) throw new Failure(problem)
  }

  protected abstract start(): Promise<void>
  protected abstract step(step: TraceStep, index: number): Promise<void>
  /** Called once the steps ran, before the end-of-trace check (e.g. a last look at server events). */
  protected async beforeLeftovers(): Promise<void> {}
  protected abstract stop(): Promise<void>

  async run(): Promise<CheckResult> {
    const started = performance.now()
    const result = (status: CheckResult['status'], problem?: string): CheckResult => ({
      kind: 'trace',
      name: this.trace.name,
      rules: this.trace.rules,
      status,
      ...(problem === undefined ? {} : { problem }),
      durationMs: Math.round(performance.now() - started),
    })
    try {
      await this.start()
      for (const [index, step] of this.trace.steps.entries()) {
        if ('note' in step) continue
        try {
          this.throwIfViolated()
          if ('advance' in step) {
            const next = this.trace.steps.slice(index + 1).find((later) => !('note' in later))
            const early = next !== undefined && 'quiet' in next ? QUIET_TOLERANCE_MS : 0
            await sleep(this.duration(step.advance) - early)
          } else await this.step(step, index)
          this.throwIfViolated()
        } catch (error) {
          if (error instanceof NotApplicable) throw error
          const message = error instanceof Error ? error.message : String(error)
          throw new Failure(`step ${index} ${JSON.stringify(step)}\n  ${message.split('\n').join('\n  ')}`)
        }
      }
      await sleep(SETTLE_MS)
      await this.beforeLeftovers()
      this.throwIfViolated()
      const left = this.book.leftovers()
      if (left !== undefined) throw new Failure(`at the end of the trace: ${left}`)
      return result('passed')
    } catch (error) {
      if (error instanceof NotApplicable) return result('not-applicable', error.message)
      return result('failed', error instanceof Error ? error.message : String(error))
    } finally {
      await this.stop().catch(() => {})
    }
  }

  /** Milliseconds for an advance step: named durations follow the timings in force. */
  duration(duration: number | string): number {
    const { heartbeatMs, heartbeatTimeoutMs, graceMs } = this.timings
    if (typeof duration === 'number') return duration
    if (duration === 'heartbeat') return heartbeatMs
    if (duration === 'dead_link') return heartbeatMs + heartbeatTimeoutMs + MARGIN_MS
    return graceMs + MARGIN_MS
  }

  /**
   * Polls `check` until it is ok (returns), fails (throws) or the timeout passes (throws `what()`).
   * `poll`, when given, is called before every look (to fetch events over HTTP, say).
   */
  protected async until(
    check: () => Expectation,
    what: () => string,
    poll?: () => Promise<void>,
  ): Promise<void> {
    const deadline = performance.now() + this.options.timeoutMs
    for (;;) {
      this.throwIfViolated()
      if (poll !== undefined) await poll()
      const result = check()
      if (result.status === 'ok') return
      if (result.status === 'fail') throw new Failure(result.problem)
      const left = deadline - performance.now()
      if (left <= 0) throw new Failure(`nothing after ${this.options.timeoutMs} ms: ${what()}`)
      await this.pulse.wait(poll === undefined ? left : Math.min(left, 20))
    }
  }

  protected expectFrame(
    actor: string,
    direction: 'c2s' | 's2c',
    pattern: Record<string, unknown>,
  ): Promise<void> {
    return this.until(
      () => this.book.expectFrame(actor, direction, pattern),
      () =>
        `no ${direction} ${String(pattern.type)} frame for ${actor}; unconsumed: ${this.book.pending(actor)}`,
    )
  }

  protected expectQuiet(actor: string, types: readonly string[]): void {
    const problem = this.book.quiet(actor, types)
    if (problem !== undefined) throw new Failure(problem)
  }
}

/** A ping answered with a pong of the same id (LL-BEAT-2). */
export function pongFor(frame: Record<string, unknown>): string {
  return JSON.stringify(frame.id === undefined ? { type: 'pong' } : { type: 'pong', id: frame.id })
}

export type LinkState = 'connecting' | 'open' | 'closed' | 'abandoned' | 'closing'

/**
 * One WebSocket of an actor, on either side: frames from the peer are checked against their schema,
 * pings answered, and everything recorded in the book, until the socket is abandoned or closed.
 */
export class Link {
  state: LinkState = 'connecting'
  /** The peer said bye on this socket. */
  gotBye = false
  /** How the socket closed, once it did (undefined over transports without close codes). */
  closeCode: number | undefined
  readonly opened: Promise<void>
  readonly closed: Promise<void>

  constructor(
    readonly actor: string,
    readonly wire: Wire,
    private readonly sink: LinkSink,
    /** Whose frames arrive on this socket. */
    private readonly peer: Direction,
    private readonly validate: FrameValidator,
    private readonly onFrame?: (frame: Record<string, unknown>) => void,
  ) {
    if (wire.isOpen) this.state = 'open'
    let opened: () => void = () => {}
    let failed: (error: Error) => void = () => {}
    let closed: () => void = () => {}
    this.opened = wire.isOpen
      ? Promise.resolve()
      : new Promise((resolve, reject) => {
          opened = resolve
          failed = reject
        })
    this.opened.catch(() => {})
    this.closed = new Promise((resolve) => {
      closed = resolve
    })
    wire.listen({
      open: () => {
        if (this.state === 'connecting') this.state = 'open'
        opened()
      },
      close: (code) => {
        failed(new Error(`closed (${code ?? 'disconnected'}) before it opened`))
        this.closeCode = code
        if (this.state !== 'abandoned') this.state = 'closed'
        sink.pulse.notify()
        closed()
      },
      message: (value) => this.receive(value),
      violation: (problem) => {
        if (this.state === 'open') this.sink.violation(`${this.who()}: ${problem}`)
      },
    })
  }

  /** Usable for sending: open and neither closed, abandoned, nor told bye. */
  get usable(): boolean {
    return this.state === 'open' && !this.gotBye
  }

  private who(): string {
    return `${this.peer === 'server' ? 's2c' : 'c2s'} frame for ${this.actor}`
  }

  private receive(value: unknown): void {
    // Nothing is read on a socket we closed or abandoned: what the peer still sends does not reach us.
    // After our own bye we still read: the peer answers it (LL-INTENT-1).
    if (this.state !== 'open' && this.state !== 'closing') return
    const direction = this.peer === 'server' ? 's2c' : 'c2s'
    const who = this.who()
    const batch = this.wire.batches && Array.isArray(value)
    const frames = batch ? (value as unknown[]) : [value]
    if (batch && (frames.length === 0 || frames.length > 1024)) {
      return this.sink.violation(
        `a batch of ${frames.length} frames (${who}): batches hold 1 to 1024 (LL-WS-2)`,
      )
    }
    for (const frame of frames) {
      const problem = this.validate(this.peer, frame)
      if (problem !== undefined)
        return this.sink.violation(`${who} ${problem}: ${JSON.stringify(frame).slice(0, 300)}`)
    }
    for (const frame of frames as Record<string, unknown>[]) {
      if (frame.type === 'ping') void this.wire.send(pongFor(frame)).catch(() => {})
      if (frame.type === 'bye') this.gotBye = true
      this.onFrame?.(frame)
    }
    this.sink.record(this.actor, direction, value)
  }

  /** Sends text and resolves once it is handed to the socket. */
  send(text: string): Promise<void> {
    if (this.state !== 'open') return Promise.reject(new Error(`${this.actor}'s connection is ${this.state}`))
    return this.wire.send(text)
  }

  close(code: number, reason = ''): void {
    if (this.state === 'open' || this.state === 'connecting') this.state = 'closed'
    this.wire.close(code, reason)
  }

  /**
   * After our own bye (LL-INTENT-1, LL-SIO-9): send nothing more, read the peer's answer, and leave the
   * close to the peer, which ends the socket once it has handled the bye.
   */
  closeAfterPeer(): void {
    if (this.state === 'open' || this.state === 'connecting') this.state = 'closing'
  }

  /** `reset`: the connection is cut, no close frame. */
  terminate(): void {
    if (this.state !== 'abandoned') this.state = 'closed'
    this.wire.terminate()
  }

  /** `client_loses`, `blackhole`: stop reading and writing, keep the socket open (the peer's side is half-open). */
  abandon(): void {
    this.state = 'abandoned'
    this.wire.pause()
  }

  /** At the end of a trace: whatever state it is in, the socket goes. */
  dispose(): void {
    this.wire.terminate()
  }
}

/** The timings a welcome (or settings object) states. */
export function pickTimings(value: Record<string, unknown>): Partial<Timings> {
  const result: Partial<Timings> = {}
  for (const key of ['graceMs', 'heartbeatMs', 'heartbeatTimeoutMs'] as const) {
    const ms = value[key]
    if (typeof ms === 'number' && Number.isFinite(ms) && ms >= 0) result[key] = ms
  }
  return result
}

/** Runs `jobs` on `workers` (at most one job per worker at a time), longest first. */
export async function pool<J, W, R>(
  jobs: readonly J[],
  workers: readonly W[],
  cost: (job: J) => number,
  work: (job: J, worker: W) => Promise<R>,
): Promise<Map<J, R>> {
  const queue = [...jobs].sort((a, b) => cost(b) - cost(a))
  const results = new Map<J, R>()
  await Promise.all(
    workers.map(async (worker) => {
      for (let job = queue.shift(); job !== undefined; job = queue.shift()) {
        results.set(job, await work(job, worker))
      }
    }),
  )
  return results
}

/** Real time a trace sleeps through, for scheduling (named durations with the given timings). */
export function traceCost(trace: Trace, timings: Timings): number {
  let ms = 0
  for (const step of trace.steps) {
    if (!('advance' in step)) continue
    const a = step.advance
    if (typeof a === 'number') ms += a
    else if (a === 'heartbeat') ms += timings.heartbeatMs
    else if (a === 'dead_link') ms += timings.heartbeatMs + timings.heartbeatTimeoutMs
    else ms += timings.graceMs
  }
  return ms + trace.steps.length
}
