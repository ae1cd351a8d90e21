/**
 * What every trace harness shares (spec/vectors/README.md): frame and event queues, pattern matching
 * with captures, named durations on simulated time, the frames a scripted side sends, and the checks
 * at the end of a trace.
 */
import {
  type Trace,
  TraceBook,
  type TraceDirection,
  type TraceFrame,
  type TraceStep,
} from '@lifeline/protocol/vectors'
import { FakeNetwork, SimulatedClock } from '../../src/testing.js'

export type Frame = TraceFrame
export type Direction = TraceDirection

export class TraceFailure extends Error {
  override name = 'TraceFailure'
}

export async function settle(): Promise<void> {
  for (let i = 0; i < 6; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}

/** A harness on simulated time over the fake network; the bookkeeping is the spec's TraceBook. */
export abstract class TraceHarness {
  readonly clock = new SimulatedClock()
  readonly network = new FakeNetwork(this.clock)
  readonly book: TraceBook

  constructor(
    protected readonly trace: Trace,
    /** The directions whose frames this harness checks (the others it sends itself). */
    checked: readonly Direction[],
  ) {
    this.book = new TraceBook(trace)
    this.network.tap = (client, direction, payload) => {
      if (checked.includes(direction)) this.book.recordPayload(client, direction, payload)
    }
  }

  get settings(): TraceBook['settings'] {
    return this.book.settings
  }

  get sidToActor(): Map<string, string> {
    return this.book.sidToActor
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
        else if (sameTick) this.clientAct(step as Extract<TraceStep, { do: unknown; client: string }>)
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
    const left = this.book.leftovers()
    if (left !== undefined) throw new TraceFailure(`${this.trace.name}: ${left}`)
    await this.stop()
  }

  protected event(key: string, value: Record<string, unknown>): void {
    this.book.recordEvent(key, value)
  }

  protected expectFrame(actor: string, direction: Direction, pattern: Record<string, unknown>): void {
    const result = this.book.expectFrame(actor, direction, pattern)
    if (result.status === 'wait') {
      throw new Error(
        `no ${direction} ${String(pattern.type)} frame for ${actor}; seen: ${this.book.pending(actor)}`,
      )
    }
    if (result.status === 'fail') throw new Error(result.problem)
  }

  protected expectEvent(key: string, pattern: Record<string, unknown>): void {
    const result = this.book.expectEvent(key, pattern)
    if (result.status === 'wait') throw new Error(`no ${key} event`)
    if (result.status === 'fail') throw new Error(result.problem)
  }

  protected expectQuiet(actor: string, types: readonly string[]): void {
    const problem = this.book.quiet(actor, types)
    if (problem !== undefined) throw new Error(problem)
  }

  protected fault(actor: string, fault: 'reset' | 'client_loses' | 'blackhole'): void {
    const transport = this.network.client(actor)
    if (fault === 'reset') transport.reset()
    else if (fault === 'client_loses') transport.clientLoses()
    else transport.blackhole()
  }

  protected outgoing(pattern: Record<string, unknown>): Frame {
    return this.book.outgoing(pattern)
  }

  protected forgetStreams(): void {
    this.book.forgetStreams()
  }

  protected async advance(duration: number | string): Promise<void> {
    const ms = this.book.duration(duration)
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
}
