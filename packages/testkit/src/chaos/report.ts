/** The run as a table: Lifeline and, when run, Socket.IO side by side. */
import type { ChaosReport, DirectionTally, ExperimentResult } from './types.js'

const percent = (part: number, whole: number) =>
  whole === 0 ? '0.00%' : `${((100 * part) / whole).toFixed(2)}%`

function rows(direction: string, tally: DirectionTally): string[][] {
  return [
    [`${direction} sent`, String(tally.sent)],
    ['  delivered', String(tally.delivered)],
    ['  lost', `${tally.lost} (${percent(tally.lost, tally.sent)})`],
    ['  duplicated', String(tally.duplicated)],
    ['  out of order', String(tally.outOfOrder)],
  ]
}

function column(result: ExperimentResult): string[][] {
  return [
    ...rows('client→server', result.c2s),
    ...rows('server→client', result.s2c),
    ['resumes (recovered)', `${result.resumes} (${result.recovered})`],
  ]
}

export function formatChaosReport(report: ChaosReport): string {
  const faults = Object.entries(report.faults)
    .map(([kind, count]) => `${kind} ${count}`)
    .join(', ')
  const header = `chaos over ${report.transport}: seed ${report.seed} (CHAOS_SEED), ${Math.round(report.durationMs / 1000)} s, ${report.faultCount} faults (${faults})`
  const results = [report.lifeline, ...(report.socketIo === undefined ? [] : [report.socketIo])]
  const columns = results.map(column)
  const labels = (columns[0] ?? []).map(([label]) => label ?? '')
  const width = Math.max(...labels.map((label) => label.length)) + 2
  const cell = Math.max(...results.map((r) => r.name.length)) + 3
  const lines = [header, `${''.padEnd(width)}${results.map((r) => r.name.padEnd(cell)).join('')}`]
  labels.forEach((label, i) => {
    lines.push(`${label.padEnd(width)}${columns.map((c) => (c[i]?.[1] ?? '').padEnd(cell)).join('')}`)
  })
  for (const result of results) {
    for (const problem of [...result.unrecovered, ...result.problems].slice(0, 10)) {
      lines.push(`${result.name}: ${problem}`)
    }
  }
  return lines.join('\n')
}
