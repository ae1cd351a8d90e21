/**
 * `pnpm bench`: every registered scenario, interleaved rounds, a table on stdout, docs/benchmarks.md.
 *
 *   --quick          the short variant CI runs: small sizes, 2 rounds, docs left alone
 *   --only a,b       scenarios whose id starts with one of these
 *   --rounds n       rounds per scenario (default 5, quick 2; some scenarios set their own)
 *   --no-docs        print only
 *
 * Exit status 1 when a scenario broke or a budget (a target marked `budget`) was missed.
 */
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { mergeResults, writeDocs } from './framework/docs.js'
import { describeMachine, machineLine } from './framework/machine.js'
import { consoleReport } from './framework/report.js'
import { runScenario, type ScenarioResult } from './framework/runner.js'
import type { BenchOptions, Scenario } from './framework/types.js'
import { modules } from './modules.js'

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    rounds: { type: 'string' },
    'no-docs': { type: 'boolean', default: false },
  },
})
const options: BenchOptions = { quick: values.quick === true }
const rounds = values.rounds === undefined ? undefined : Number(values.rounds)
const only = values.only?.split(',').filter(Boolean)

const all: Scenario[] = modules.flatMap((module) => [...module.scenarios(options)])
const chosen = all
  .filter((s) => only === undefined || only.some((prefix) => s.id.startsWith(prefix)))
  .map((s) => (rounds === undefined ? s : { ...s, rounds }))
if (chosen.length === 0) {
  console.error(`no scenario matches ${values.only}; ids: ${all.map((s) => s.id).join(', ')}`)
  process.exit(2)
}

const tty = process.stderr.isTTY === true
const status = (line: string) => {
  if (tty) process.stderr.write(`\r\x1b[K${line.slice(0, (process.stderr.columns ?? 120) - 1)}`)
  else process.stderr.write(`${line}\n`)
}

console.log(`Lifeline benchmarks${options.quick ? ' (quick)' : ''} on ${machineLine(describeMachine())}`)
const results: ScenarioResult[] = []
const started = performance.now()
for (const [i, scenario] of chosen.entries()) {
  const prefix = `[${i + 1}/${chosen.length}] ${scenario.id}`
  const result = await runScenario(scenario, options, (detail) => status(`${prefix} · ${detail}`))
  if (tty) process.stderr.write('\r\x1b[K')
  results.push(result)
  console.log(consoleReport([result]))
}
const machine = describeMachine()
console.log(
  `\n${chosen.length} scenarios in ${((performance.now() - started) / 1000).toFixed(0)} s; load average now ${machine.loadBefore.map((n) => n.toFixed(2)).join(', ')}`,
)

if (!options.quick && values['no-docs'] !== true) {
  const root = fileURLToPath(new URL('../../../', import.meta.url))
  const merged = mergeResults(
    `${root}docs/bench/results.json`,
    results,
    all.map((s) => s.id),
  )
  writeDocs(root, merged)
  console.log(`wrote docs/benchmarks.md and docs/bench/ (${merged.length} scenarios)`)
}

const broken = results.filter((r) => r.error !== undefined)
const missed = results.flatMap((r) =>
  r.metrics.flatMap((m) =>
    m.ratios
      .filter((ratio) => ratio.target.budget === true && ratio.meets !== true)
      .map(() => `${r.id}: ${m.metric.title}`),
  ),
)
for (const r of broken) console.error(`BROKEN ${r.id}: ${r.error}`)
for (const m of missed) console.error(`BUDGET MISSED ${m}`)
process.exit(broken.length > 0 || missed.length > 0 ? 1 : 0)
