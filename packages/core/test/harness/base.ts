/**
 * What every trace harness shares (spec/vectors/README.md): frame and event queues, pattern matching
 * with captures, named durations on simulated time, the frames a scripted side sends, and the checks
 * at the end of a trace.
 */
import type { Trace, TraceStep } from '@lifeline/protocol/vectors'
import { FakeNetwork, SimulatedClock } from '../../src/testing.js'
import { type Captures, isCapture, match } from './matcher.js'

export type Frame = Record<string, unknown> & { type: string; topic?: string; seq?: number }
export type Direction = 'c2s' | 's2c'

const STRICT = new Set(['msg', 'presence', 'welcome', 'joined', 'join_error', 'unjoined', 'error', 'bye'])
const DEFAULTS = { heartbeatMs: 25_000, heartbeatTimeoutMs: 10_000, graceMs: 120_000 }
const MARGIN_MS = 100

export class TraceFailure extends Error {
  override name = 'TraceFailure'
}

export async function settle(): Promise<void> {
  for (let i = 0; i < 6; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}

export abstract class TraceHarness {
  readonly clock = new SimulatedClock()
  readonly network = new FakeNetwork(this.clock)
  readonly captures: Captures = new Map()
  readonly settings: { heartbeatMs: number; heartbeatTimeoutMs: number; graceMs: number }
  protected readonly frames = new Map<string, Frame[]>()
  protected readonly events = new Map<string, Record<string, unknown>[]>()
  protected readonly sidToActor = new Map<string, string>()
  /** Highest seq matched per stream queue, to tell a boundary duplicate (LL-REPLAY-2) from a new entry. */
  private readonly matchedSeq = new Map<string, number>()
  private invented = 0

  constructor(
    protected readonly trace: Trace,
    /** The directions whose frames this harness checks (the others it sends itself). */
    private readonly checked: readonly Direction[],
  ) {
    this.settings = { ...DEFAULTS, ...trace.server }
    this.network.tap = (client, direction, payload) => {
      if (!this.checked.includes(direction)) return
      const value: unknown = typeof payload === 'string' ? JSON.parse(payload) : payload
      for (const frame of Array.isArray(value) ? value : [value])
        this.recordFrame(client, direction, frame as Frame)
    }
  }

  protected abstract start(): Promise<void>
  protected abstract step(step: TraceStep): Promise<void>
  /** A client app's call: synchronous, so calls made in one tick stay in one tick. */
  protected abstract clientAct(step: Extract<TraceStep, { do: unknown; client: string }>): void
  protected abstract stop(): Promise<void>

  async run(): Promise<void> {
    await this.start()
    for (const [index, step] of this.trace.steps.entries()) {
      try {
        // An app's consecutive calls (connect, then join) happen in one tick, with nothing in between.
        const previous = this.trace.steps[index - 1]
        const sameTick = previous !== undefined && 'do' in previous && 'do' in step && 'client' in step
        if ('note' in step) continue
        if ('advance' in step) await this.advance(step.advance)
        else if (sameTick) this.clientAct(step)
        else {
          await settle()
          if ('do' in step && 'client' in step) this.clientAct(step)
          else await this.step(step)
        }
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error)
        throw new TraceFailure(`${this.trace.name}: step ${index} ${JSON.stringify(step)}\n  ${message}`)
      }
    }
    await settle()
    this.checkNothingLeft()
    await this.stop()
  }

  protected recordFrame(client: string, direction: Direction, frame: Frame): void {
    this.push(this.frames, `${client}|${direction}|${frame.type}|${frame.topic ?? ''}`, frame)
  }

  protected push<T>(map: Map<string, T[]>, key: string, value: T): void {
    const queue = map.get(key)
    if (queue === undefined) map.set(key, [value])
    else queue.push(value)
  }

  protected actor(sid: string): string {
    return this.sidToActor.get(sid) ?? sid
  }

  protected expectFrame(actor: string, direction: Direction, pattern: Record<string, unknown>): void {
    const type = String(pattern.type)
    const topic = typeof pattern.topic === 'string' && pattern.topic !== '$absent' ? pattern.topic : ''
    const key = `${actor}|${direction}|${type}|${topic}`
    const queue = this.frames.get(key) ?? []
    this.dropDuplicates(key, queue)
    if (type === 'ack' && typeof pattern.seq === 'number') {
      // Acks are cumulative: lower ones before the expected one are skipped.
      while (queue.length > 1 && ((queue[0] as Frame).seq ?? 0) < pattern.seq) queue.shift()
    }
    const frame = queue.shift()
    if (frame === undefined)
      throw new Error(`no ${direction} ${type} frame for ${actor}; seen: ${this.pending(actor)}`)
    const problem = match(pattern, frame, this.captures)
    if (problem !== undefined) throw new Error(`${problem}\n  frame: ${JSON.stringify(frame)}`)
    if (type === 'welcome' && typeof frame.sid === 'string') this.sidToActor.set(frame.sid, actor)
    // A new session's direct stream starts again at 1.
    if (type === 'welcome' && frame.resumed === false) this.matchedSeq.delete(`${actor}|s2c|msg|`)
    if (typeof frame.seq === 'number')
      this.matchedSeq.set(key, Math.max(frame.seq, this.matchedSeq.get(key) ?? 0))
  }

  /** A restarted server with a memory store numbers every stream from 1 again. */
  protected forgetStreams(): void {
    this.matchedSeq.clear()
  }

  /** A server may resend an entry at the replay boundary (LL-REPLAY-2); a client drops it, so may we. */
  private dropDuplicates(key: string, queue: Frame[]): void {
    if (!key.includes('|s2c|msg|') && !key.includes('|s2c|presence|')) return
    const matched = this.matchedSeq.get(key) ?? 0
    while (queue.length > 0 && ((queue[0] as Frame).seq ?? 0) <= matched) queue.shift()
  }

  protected expectEvent(key: string, pattern: Record<string, unknown>): void {
    const queue = this.events.get(key) ?? []
    const raw = queue.shift()
    if (raw === undefined) throw new Error(`no ${key} event`)
    // Session ids become actors only once a welcome was seen, so map them now.
    const event = { ...raw }
    for (const field of ['client', 'member']) {
      if (typeof event[field] === 'string') event[field] = this.actor(event[field] as string)
    }
    const problem = match(pattern, event, this.captures)
    if (problem !== undefined) throw new Error(`${problem}\n  event: ${JSON.stringify(event)}`)
  }

  protected expectQuiet(actor: string, types: readonly string[]): void {
    for (const [key, queue] of this.frames) {
      const [client, , type] = key.split('|')
      if (client === actor && types.includes(type ?? '') && queue.length > 0) {
        throw new Error(`not quiet: ${JSON.stringify(queue)}`)
      }
    }
  }

  protected fault(actor: string, fault: 'reset' | 'client_loses' | 'blackhole'): void {
    const transport = this.network.client(actor)
    if (fault === 'reset') transport.reset()
    else if (fault === 'client_loses') transport.clientLoses()
    else transport.blackhole()
  }

  /** The frame a scripted side sends for a step: captures substituted, `$absent` dropped, defaults filled. */
  protected outgoing(pattern: Record<string, unknown>): Frame {
    const frame = this.substitute(pattern) as Frame
    const { heartbeatMs, heartbeatTimeoutMs, graceMs } = this.settings
    const defaults: Record<string, Record<string, unknown>> = {
      welcome: {
        version: 1,
        ackedSeq: 0,
        topics: [],
        heartbeatMs,
        heartbeatTimeoutMs,
        graceMs,
        limits: { maxFrameBytes: 1_048_576, maxTopics: this.trace.server?.maxTopics ?? 100 },
      },
      joined: { members: [] },
      bye: { reason: '' },
    }
    return { ...defaults[frame.type], ...frame }
  }

  private substitute(value: unknown): unknown {
    if (isCapture(value)) {
      const name = value.slice(1)
      if (!this.captures.has(name)) this.captures.set(name, `${name}-${++this.invented}`)
      return this.captures.get(name)
    }
    if (Array.isArray(value)) return value.map((item) => this.substitute(item))
    if (typeof value === 'object' && value !== null) {
      const result: Record<string, unknown> = {}
      for (const [key, item] of Object.entries(value))
        if (item !== '$absent') result[key] = this.substitute(item)
      return result
    }
    return value
  }

  protected pending(actor: string): string {
    const lines: string[] = []
    for (const [key, queue] of this.frames) {
      if (key.startsWith(`${actor}|`) && queue.length > 0) lines.push(`${key}: ${JSON.stringify(queue)}`)
    }
    return lines.length === 0 ? 'nothing' : `\n    ${lines.join('\n    ')}`
  }

  protected async advance(duration: number | string): Promise<void> {
    const { heartbeatMs, heartbeatTimeoutMs, graceMs } = this.settings
    const ms =
      typeof duration === 'number'
        ? duration
        : duration === 'heartbeat'
          ? heartbeatMs
          : duration === 'dead_link'
            ? heartbeatMs + heartbeatTimeoutMs + MARGIN_MS
            : graceMs + MARGIN_MS
    await settle()
    const target = this.clock.now() + ms
    // Step from timer to timer, letting deliveries run between them, as real time would.
    for (
      let next = this.clock.nextDueAt();
      next !== undefined && next <= target;
      next = this.clock.nextDueAt()
    ) {
      this.clock.advance(Math.max(0, next - this.clock.now()))
      await settle()
    }
    this.clock.advance(Math.max(0, target - this.clock.now()))
    await settle()
  }

  private checkNothingLeft(): void {
    for (const [key, queue] of this.frames) {
      this.dropDuplicates(key, queue)
      const type = key.split('|')[2] ?? ''
      if (STRICT.has(type) && queue.length > 0) {
        throw new TraceFailure(`${this.trace.name}: unconsumed ${key}: ${JSON.stringify(queue)}`)
      }
    }
    for (const [key, queue] of this.events) {
      if (key.endsWith('|message') && queue.length > 0) {
        throw new TraceFailure(`${this.trace.name}: unconsumed ${key} events: ${JSON.stringify(queue)}`)
      }
    }
  }
}
