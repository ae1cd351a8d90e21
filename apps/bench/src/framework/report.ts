/** The results as a console table and as docs/benchmarks.md. */
import type { MetricResult, RatioResult, ScenarioResult } from './runner.js'
import { type Summary, short } from './stats.js'

export function value(summary: Summary, unit: string, digits?: number): string {
  if (summary.n === 0) return '—'
  const spread = summary.n > 1 ? ` (${short(summary.min, digits)}–${short(summary.max, digits)})` : ''
  return `${short(summary.median, digits)} ${unit}${spread}`
}

export function targetText(ratio: RatioResult, unit = ''): string {
  const { target } = ratio
  const bound = [
    target.min === undefined ? '' : `≥ ${target.min}`,
    target.max === undefined ? '' : `≤ ${target.max}`,
  ]
    .filter(Boolean)
    .join(' and ')
  const what = ratio.against === undefined ? `${bound} ${unit}`.trim() : `${bound}× ${ratio.against}`
  return target.note === undefined ? what : `${what} (${target.note})`
}

export function ratioText(ratio: RatioResult, unit: string): string {
  if (ratio.summary.n === 0) return '—'
  if (ratio.against === undefined) return value(ratio.summary, unit)
  const { median, min, max, n } = ratio.summary
  const spread = n > 1 ? ` (${min.toFixed(2)}–${max.toFixed(2)})` : ''
  return `${median.toFixed(2)}×${spread} vs ${ratio.against}`
}

export const verdict = (ratio: RatioResult) =>
  ratio.meets === undefined ? '?' : ratio.meets ? 'meets' : 'MISSES'

/** One block per scenario: each metric with every side's median (spread), then ratios and targets. */
export function consoleReport(results: readonly ScenarioResult[]): string {
  const lines: string[] = []
  for (const result of results) {
    lines.push(`\n${result.title}  [${result.id}, ${result.seconds.toFixed(0)} s]`)
    if (result.error !== undefined) lines.push(`  BROKEN: ${result.error.split('\n')[0]}`)
    for (const metric of result.metrics) {
      lines.push(`  ${metric.metric.title}`)
      for (const { side, summary } of metric.values) {
        if (summary.n > 0)
          lines.push(`    ${side.padEnd(38)} ${value(summary, metric.metric.unit, metric.metric.digits)}`)
      }
      for (const ratio of metric.ratios) {
        lines.push(
          `    -> ${ratioText(ratio, metric.metric.unit)}; target ${targetText(ratio, metric.metric.unit)}: ${verdict(ratio)}`,
        )
      }
    }
  }
  return lines.join('\n')
}

/** A markdown table row per metric: Lifeline, the baselines, the ratios with their targets. */
export function markdownTable(results: readonly ScenarioResult[]): string {
  const rows = ['| what | Lifeline | baselines, same run | ratio | target | |', '|---|---|---|---|---|---|']
  for (const result of results) {
    if (result.error !== undefined) {
      rows.push(`| ${result.title} | broken: ${cell(result.error.split('\n')[0] ?? '')} | | | | |`)
      continue
    }
    for (const metric of result.metrics) rows.push(markdownRow(result, metric))
  }
  return rows.join('\n')
}

function markdownRow(result: ScenarioResult, metric: MetricResult): string {
  const { unit, digits } = metric.metric
  const [first, ...rest] = metric.values
  const own = first === undefined ? '—' : value(first.summary, unit, digits)
  const baselines = rest
    .filter(({ summary }) => summary.n > 0)
    .map(({ side, summary }) => `${side}: ${value(summary, unit, digits)}`)
    .join('<br>')
  const ratios = metric.ratios.filter((ratio) => ratio.against !== undefined)
  const ratio = ratios.map((r) => ratioText(r, unit)).join('<br>')
  const targets = metric.ratios.map((r) => targetText(r, unit)).join('<br>')
  const verdicts = metric.ratios.map(verdict).join('<br>')
  const title =
    metric.metric.title === result.title ? metric.metric.title : `${result.title}: ${metric.metric.title}`
  return `| ${cell(title)} | ${cell(own)} | ${cell(baselines)} | ${cell(ratio)} | ${cell(targets)} | ${verdicts} |`
}

const cell = (text: string) => text.replace(/\|/g, '\\|')
