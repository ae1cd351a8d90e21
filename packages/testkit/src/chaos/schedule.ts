/** Draws faults from a seed and applies each to every proxy at once, so experiments meet the same faults. */
import { seededRandom } from '@lifeline/core/testing'
import type { FaultProxy } from '../fault-proxy.js'
import { FAULT_KINDS, type FaultKind } from './types.js'

export interface FaultScheduleOptions {
  readonly seed: number
  readonly gapMs: readonly [number, number]
  readonly kinds: readonly FaultKind[]
  /** A black hole lasts long enough for the heartbeat to notice it. */
  readonly deadAfterMs: number
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export class FaultSchedule {
  readonly counts: Record<FaultKind, number> = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<
    FaultKind,
    number
  >
  last: FaultKind | undefined
  private readonly random: () => number
  private stopped = false
  private bag: FaultKind[] = []

  constructor(
    private readonly proxies: readonly FaultProxy[],
    private readonly options: FaultScheduleOptions,
  ) {
    this.random = seededRandom(options.seed)
  }

  get total(): number {
    return Object.values(this.counts).reduce((sum, n) => sum + n, 0)
  }

  /** Injects faults until `stop`, then leaves every proxy passing, at full speed. */
  async run(): Promise<void> {
    while (!this.stopped) {
      const [min, max] = this.options.gapMs
      await this.wait(min + (max - min) * this.random())
      if (this.stopped) break
      const kind = this.draw()
      this.counts[kind]++
      this.last = kind
      await this.inject(kind)
    }
    this.heal()
  }

  stop(): void {
    this.stopped = true
  }

  /**
   * Kinds come in shuffled rounds, each kind once per round: a short run (30 s, 7 faults or so) still
   * meets every kind, where independent draws left a run without any fault that breaks a link about
   * once in a hundred.
   */
  private draw(): FaultKind {
    if (this.bag.length === 0) {
      this.bag = [...this.options.kinds]
      for (let i = this.bag.length - 1; i > 0; i--) {
        const j = Math.floor(this.random() * (i + 1))
        const swap = this.bag[i] as FaultKind
        this.bag[i] = this.bag[j] as FaultKind
        this.bag[j] = swap
      }
    }
    return this.bag.pop() ?? 'reset'
  }

  private async inject(kind: FaultKind): Promise<void> {
    const each = (apply: (proxy: FaultProxy) => void) => {
      for (const proxy of this.proxies) apply(proxy)
    }
    const span = 1000 + 2000 * this.random()
    switch (kind) {
      case 'reset':
        return each((proxy) => proxy.reset())
      case 'drop':
        return each((proxy) => proxy.drop())
      case 'blackhole':
        each((proxy) => proxy.blackhole())
        await this.wait(this.options.deadAfterMs + 1000 * this.random())
        return each((proxy) => proxy.pass())
      case 'slice':
        each((proxy) => proxy.sliceAll(true))
        await this.wait(span)
        return each((proxy) => proxy.sliceAll(false))
      case 'latency': {
        const ms = 50 + Math.floor(350 * this.random())
        each((proxy) => proxy.latency(ms))
        await this.wait(span)
        return each((proxy) => proxy.latency(0))
      }
      case 'bandwidth': {
        const rate = 8_000 + Math.floor(56_000 * this.random())
        each((proxy) => proxy.bandwidth(rate))
        await this.wait(span)
        return each((proxy) => proxy.bandwidth(0))
      }
    }
  }

  /** Sleeps, waking early when stopped. */
  private async wait(ms: number): Promise<void> {
    const until = performance.now() + ms
    while (!this.stopped && performance.now() < until) await sleep(Math.min(100, until - performance.now()))
  }

  private heal(): void {
    for (const proxy of this.proxies) {
      proxy.pass()
      proxy.latency(0)
      proxy.bandwidth(0)
      proxy.sliceAll(false)
    }
  }
}
