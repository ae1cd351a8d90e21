/**
 * Runs scenarios: each side in turn within a round (interleaved, so load changes on a shared machine
 * hit every side alike), a discarded warm-up round first, then the median of the rounds with their
 * spread, and the ratio of Lifeline to each baseline computed round by round.
 */
import os from 'node:os'
import { describeMachine, machineLine } from './machine.js'
import { Peer, type PeerOptions } from './peer.js'
import { type Summary, summarize } from './stats.js'
import type { BenchOptions, ChartSpec, Metric, RunContext, Scenario, Series, Target } from './types.js'

export interface RatioResult {
  readonly against: string | undefined
  readonly summary: Summary
  readonly target: Target
  /** Undefined when there is nothing to compare (a side failed or reported no value). */
  readonly meets: boolean | undefined
}

export interface MetricResult {
  readonly metric: Metric
  /** One per side, in the scenario's order. */
  readonly values: ReadonlyArray<{ readonly side: string; readonly summary: Summary }>
  readonly ratios: readonly RatioResult[]
}

/** Plain data (JSON), so results of separate runs can be kept and rendered together. */
export interface ScenarioResult {
  readonly id: string
  readonly title: string
  readonly description: string
  readonly chart: ChartSpec | undefined
  /** The machine and its load average when this scenario ran. */
  readonly machine: string
  readonly metrics: readonly MetricResult[]
  readonly series: readonly Series[]
  readonly error: string | undefined
  readonly seconds: number
}

export type Progress = (line: string) => void

export async function runScenario(
  scenario: Scenario,
  options: BenchOptions,
  progress: Progress,
): Promise<ScenarioResult> {
  const started = performance.now()
  const loadBefore = os.loadavg()
  const machine = () => {
    const described = { ...describeMachine(), loadBefore }
    described.loadAfter = os.loadavg()
    return machineLine(described)
  }
  // Quick (CI): each side once, to show it still runs; budget scenarios set their own rounds.
  const rounds = options.quick ? Math.min(scenario.rounds ?? 1, 2) : (scenario.rounds ?? 5)
  const warmup = !options.quick && (scenario.warmup ?? true)
  // samples[side][metric] = one value per measured round
  const samples = scenario.sides.map(() => new Map<string, number[]>())
  const series = new Map<string, Series>()
  let error: string | undefined
  outer: for (let round = warmup ? -1 : 0; round < rounds; round++) {
    for (const [index, side] of scenario.sides.entries()) {
      const label = `${round < 0 ? 'warm-up' : `round ${round + 1}/${rounds}`} · ${side.name}`
      progress(label)
      const peers: Peer[] = []
      const context: RunContext = {
        options,
        peer: async (name = 'clients', peerOptions?: PeerOptions) => {
          const peer = await Peer.start(name, peerOptions)
          peers.push(peer)
          return peer
        },
        progress: (detail) => progress(`${label} · ${detail}`),
        series: (one) => {
          if (round >= 0) series.set(one.name, one)
        },
      }
      try {
        const result = await side.run(context)
        if (round >= 0) {
          for (const [key, value] of Object.entries(result)) {
            const list = samples[index]?.get(key) ?? []
            list.push(value)
            samples[index]?.set(key, list)
          }
        }
      } catch (caught) {
        error = `${side.name}: ${caught instanceof Error ? (caught.stack ?? caught.message) : String(caught)}`
        break outer
      } finally {
        await Promise.all(peers.map((peer) => peer.stop()))
      }
    }
  }
  const metrics = scenario.metrics.map((metric) => metricResult(scenario, metric, samples))
  return {
    id: scenario.id,
    title: scenario.title,
    description: scenario.description,
    chart: scenario.chart,
    machine: machine(),
    metrics,
    series: [...series.values()],
    error,
    seconds: (performance.now() - started) / 1000,
  }
}

function metricResult(
  scenario: Scenario,
  metric: Metric,
  samples: ReadonlyArray<Map<string, number[]>>,
): MetricResult {
  const values = scenario.sides.map((side, i) => ({
    side: side.name,
    summary: summarize(samples[i]?.get(metric.key) ?? []),
  }))
  const own = samples[0]?.get(metric.key) ?? []
  const ratios = (metric.targets ?? []).map((target): RatioResult => {
    let list: number[]
    if (target.against === undefined) list = own
    else {
      const index = scenario.sides.findIndex((side) => side.name === target.against)
      if (index < 0) throw new Error(`${scenario.id}: target against unknown side ${target.against}`)
      const base = samples[index]?.get(metric.key) ?? []
      list = own.slice(0, base.length).map((value, round) => value / (base[round] as number))
    }
    const summary = summarize(list)
    const meets =
      summary.n === 0
        ? undefined
        : (target.min === undefined || summary.median >= target.min) &&
          (target.max === undefined || summary.median <= target.max)
    return { against: target.against, summary, target, meets }
  })
  return { metric, values, ratios }
}
