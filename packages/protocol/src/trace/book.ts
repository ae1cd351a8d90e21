/**
 * The bookkeeping of a trace run that every harness shares (spec/vectors/README.md): frame and event
 * queues, pattern matching with captures, boundary duplicates, the frames a scripted side sends, named
 * durations, and the checks at the end. No I/O and no clock: harnesses feed it what they see.
 */
import type { Trace } from '../vectors.js'
import { type Captures, isCapture, match } from './match.js'

export type TraceFrame = Record<string, unknown> & { type: string; topic?: string; seq?: number }
export type TraceDirection = 'c2s' | 's2c'

/** Frame types a trace must consume: one left over (a duplicate, say) fails it. */
const STRICT = new Set(['msg', 'presence', 'welcome', 'joined', 'join_error', 'unjoined', 'error', 'bye'])
/** Timings of a server that a trace's `server` settings do not set. */
export const TRACE_DEFAULTS = { heartbeatMs: 25_000, heartbeatTimeoutMs: 10_000, graceMs: 120_000 }
/** What a named duration adds past its deadline, so the deadline has surely passed. */
export const MARGIN_MS = 100

/** The result of looking for an expected frame or event: found and matching, not there yet, or wrong. */
export type Expectation =
  | { readonly status: 'ok' }
  | { readonly status: 'wait' }
  | { readonly status: 'fail'; readonly problem: string }

const OK: Expectation = { status: 'ok' }
const WAIT: Expectation = { status: 'wait' }
const fail = (problem: string): Expectation => ({ status: 'fail', problem })

export class TraceBook {
  readonly captures: Captures = new Map()
  /** Session ids seen in welcome frames or reported by clients, to their actors. */
  readonly sidToActor = new Map<string, string>()
  private readonly frames = new Map<string, TraceFrame[]>()
  private readonly events = new Map<string, Record<string, unknown>[]>()
  /** Highest seq matched per stream queue, to tell a boundary duplicate (LL-REPLAY-2) from a new entry. */
  private readonly matchedSeq = new Map<string, number>()
  private invented = 0
  readonly settings: { heartbeatMs: number; heartbeatTimeoutMs: number; graceMs: number }

  /**
   * @param settings The timings the server under test really runs with, when a harness knows them
   * better than the trace's `server` settings over TRACE_DEFAULTS (a real server configured through
   * its control channel).
   */
  constructor(
    readonly trace: Trace,
    settings: Partial<typeof TRACE_DEFAULTS> = {},
  ) {
    this.settings = { ...TRACE_DEFAULTS, ...trace.server, ...settings }
  }

  /** Ties a session id to an actor; the latest binding of an actor wins in sidOf. */
  bind(sid: string, actor: string): void {
    this.sidToActor.delete(sid)
    this.sidToActor.set(sid, actor)
  }

  /** Records frames that arrived, one transport message (a frame or a batch) at a time. */
  recordPayload(actor: string, direction: TraceDirection, payload: unknown): void {
    const value = typeof payload === 'string' ? (JSON.parse(payload) as unknown) : payload
    for (const frame of Array.isArray(value) ? value : [value]) {
      const f = frame as TraceFrame
      this.push(this.frames, `${actor}|${direction}|${f.type}|${f.topic ?? ''}`, f)
    }
  }

  /** Records an app event; `key` is `<actor>|<event>` or `server|<event>`. */
  recordEvent(key: string, event: Record<string, unknown>): void {
    this.push(this.events, key, event)
  }

  actor(sid: string): string {
    return this.sidToActor.get(sid) ?? sid
  }

  /** The latest session id of an actor, if any. */
  sidOf(actor: string): string | undefined {
    let latest: string | undefined
    for (const [sid, owner] of this.sidToActor) if (owner === actor) latest = sid
    return latest
  }

  /** Takes the head of the frame's queue and matches it; `wait` when nothing arrived yet. */
  expectFrame(actor: string, direction: TraceDirection, pattern: Record<string, unknown>): Expectation {
    const type = String(pattern.type)
    const topic = typeof pattern.topic === 'string' && pattern.topic !== '$absent' ? pattern.topic : ''
    const key = `${actor}|${direction}|${type}|${topic}`
    const queue = this.frames.get(key) ?? []
    this.dropDuplicates(key, queue)
    if (type === 'ack' && typeof pattern.seq === 'number') {
      // Acks are cumulative: lower ones before the expected one are skipped.
      while (queue.length > 0 && ((queue[0] as TraceFrame).seq ?? 0) < pattern.seq) queue.shift()
    }
    const frame = queue[0]
    if (frame === undefined) return WAIT
    queue.shift()
    const problem = match(pattern, frame, this.captures)
    if (problem !== undefined) return fail(`${problem}\n  frame: ${JSON.stringify(frame)}`)
    if (type === 'welcome' && typeof frame.sid === 'string') this.bind(frame.sid, actor)
    // A new session's direct stream starts again at 1.
    if (type === 'welcome' && frame.resumed === false) this.matchedSeq.delete(`${actor}|s2c|msg|`)
    if (typeof frame.seq === 'number')
      this.matchedSeq.set(key, Math.max(frame.seq, this.matchedSeq.get(key) ?? 0))
    return OK
  }

  /** Takes the head of the event's queue and matches it, mapping session ids to actors first. */
  expectEvent(key: string, pattern: Record<string, unknown>): Expectation {
    const raw = this.events.get(key)?.[0]
    if (raw === undefined) return WAIT
    this.events.get(key)?.shift()
    const event = { ...raw }
    for (const field of ['client', 'member', 'sid']) {
      if (typeof event[field] === 'string') event[field] = this.actor(event[field] as string)
    }
    if (event.member === undefined && event.sid !== undefined) event.member = event.sid
    if (event.client === undefined && event.sid !== undefined) event.client = event.sid
    const problem = match(pattern, event, this.captures)
    return problem === undefined ? OK : fail(`${problem}\n  event: ${JSON.stringify(raw)}`)
  }

  /** A problem when an unconsumed frame of these types is queued for the actor. */
  quiet(actor: string, types: readonly string[]): string | undefined {
    for (const [key, queue] of this.frames) {
      const [client, , type] = key.split('|')
      this.dropDuplicates(key, queue)
      if (client === actor && types.includes(type ?? '') && queue.length > 0)
        return `not quiet: ${JSON.stringify(queue)}`
    }
    return undefined
  }

  /** A restarted server with a memory store numbers every stream from 1 again. */
  forgetStreams(): void {
    this.matchedSeq.clear()
  }

  /** The frame a scripted side sends for a step: captures substituted, `$absent` dropped, defaults filled. */
  outgoing(pattern: Record<string, unknown>): TraceFrame {
    const frame = this.substitute(pattern) as TraceFrame
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

  /** Milliseconds for an `advance` step. */
  duration(duration: number | string): number {
    const { heartbeatMs, heartbeatTimeoutMs, graceMs } = this.settings
    if (typeof duration === 'number') return duration
    if (duration === 'heartbeat') return heartbeatMs
    if (duration === 'dead_link') return heartbeatMs + heartbeatTimeoutMs + MARGIN_MS
    return graceMs + MARGIN_MS
  }

  /** What is still queued for an actor, for failure messages. */
  pending(actor: string): string {
    const lines: string[] = []
    for (const [key, queue] of this.frames) {
      if (key.startsWith(`${actor}|`) && queue.length > 0) lines.push(`${key}: ${JSON.stringify(queue)}`)
    }
    return lines.length === 0 ? 'nothing' : `\n    ${lines.join('\n    ')}`
  }

  /** The end-of-trace check: a problem when a strict frame or a message event is left over. */
  leftovers(): string | undefined {
    for (const [key, queue] of this.frames) {
      this.dropDuplicates(key, queue)
      const type = key.split('|')[2] ?? ''
      if (STRICT.has(type) && queue.length > 0) return `unconsumed ${key}: ${JSON.stringify(queue)}`
    }
    for (const [key, queue] of this.events) {
      if (key.endsWith('|message') && queue.length > 0)
        return `unconsumed ${key} events: ${JSON.stringify(queue)}`
    }
    return undefined
  }

  private push<T>(map: Map<string, T[]>, key: string, value: T): void {
    const queue = map.get(key)
    if (queue === undefined) map.set(key, [value])
    else queue.push(value)
  }

  /** A server may resend an entry at the replay boundary (LL-REPLAY-2); a client drops it, so may we. */
  private dropDuplicates(key: string, queue: TraceFrame[]): void {
    if (!key.includes('|s2c|msg|') && !key.includes('|s2c|presence|')) return
    const matched = this.matchedSeq.get(key) ?? 0
    while (queue.length > 0 && ((queue[0] as TraceFrame).seq ?? 0) <= matched) queue.shift()
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
}
