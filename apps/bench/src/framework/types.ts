/**
 * What a benchmark module declares. A module exports a `BenchModule`; registering it is one line in
 * `../modules.ts`. The runner does the rest: interleaved rounds, medians with spread, ratios against
 * the baselines of the same run, progress, the console table and docs/benchmarks.md.
 */
import type { Peer } from './peer.js'

export interface BenchOptions {
  /** The short variant for CI: small sizes, few rounds. It checks that every scenario still runs. */
  readonly quick: boolean
}

/** A figure a scenario reports, one line of the table. */
export interface Metric {
  /** Key in the objects a side's `run` returns. */
  readonly key: string
  readonly title: string
  /** Shown after the value, e.g. `msg/s`, `µs/msg`, `ms`, `KB`. */
  readonly unit: string
  readonly better: 'higher' | 'lower'
  /** Ratios of the first side (Lifeline) to a baseline, or bounds on its own value. */
  readonly targets?: readonly Target[]
  /** Decimals shown; default: 0 above 100, else 2. */
  readonly digits?: number
}

/**
 * A target: `against` names a side, and the ratio first side / that side (medians of per-round ratios)
 * must be at least `min` or at most `max`. Without `against`, the first side's own median is bounded.
 */
export interface Target {
  readonly against?: string
  readonly min?: number
  readonly max?: number
  /** Shown in the table, e.g. "flat". */
  readonly note?: string
  /** A budget: missing it fails the run (and CI). Only for ratios that noise cannot flip. */
  readonly budget?: boolean
}

/** One thing measured, the same way, for Lifeline and each baseline. */
export interface Side {
  readonly name: string
  /** One measurement: every metric this side can report (others are left blank). */
  run(context: RunContext): Promise<Readonly<Record<string, number>>>
}

export interface Scenario {
  /** Stable id, e.g. `ws.s2c-burst`; `--only` matches it. */
  readonly id: string
  readonly title: string
  /** What is measured and how, one or two sentences for docs/benchmarks.md. */
  readonly description: string
  /** Lifeline first, then the baselines. Rounds run them in turn, in this order. */
  readonly sides: readonly Side[]
  readonly metrics: readonly Metric[]
  /** Rounds after the warm-up; default 5 (quick: 2). */
  readonly rounds?: number
  /** Run one round of each side first and discard it (JIT, pools). Default true. */
  readonly warmup?: boolean
  /** Series for a chart: a side may return them through `context.series`. */
  readonly chart?: ChartSpec
}

export interface ChartSpec {
  readonly kind: 'bars' | 'lines'
  readonly title: string
  readonly xLabel?: string
  readonly yLabel: string
}

export interface Series {
  readonly name: string
  readonly points: ReadonlyArray<readonly [number, number]>
}

export interface RunContext {
  readonly options: BenchOptions
  /** A child process running client code, started on first use and stopped after the side's run. */
  peer(name?: string): Promise<Peer>
  /** Progress detail shown on the status line. */
  progress(detail: string): void
  /** Keeps a series for the scenario's chart (the last round's wins). */
  series(series: Series): void
}

export interface BenchModule {
  readonly name: string
  scenarios(options: BenchOptions): readonly Scenario[]
}
