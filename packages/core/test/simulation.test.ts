import { afterAll, describe, it } from 'vitest'
import { type SimulationCounts, simulate } from './simulation/simulate.js'

/**
 * SIM_SEED=n replays one seed with its schedule printed. SIM_SEEDS=n changes how many run (CI: 2,000)
 * and SIM_FROM=n where they start, so a long run explores seeds CI never tries:
 * `SIM_SEEDS=100000 SIM_FROM=1000000 pnpm --filter @lifeline/core simulate`.
 */
const single = process.env.SIM_SEED === undefined ? undefined : Number(process.env.SIM_SEED)
const total = Number(process.env.SIM_SEEDS ?? 2000)
const first = Number(process.env.SIM_FROM ?? 0)
const batches = Math.max(10, Math.ceil(total / 1000))

const sum: SimulationCounts = {
  steps: 0,
  reloads: 0,
  restarts: 0,
  lostWelcomes: 0,
  beyondEnd: 0,
  replaced: 0,
  signals: 0,
  sends: 0,
  deliveries: 0,
}
let seeds = 0
const started = performance.now()

describe('deterministic simulation: exactly once or a signal naming the stream, with reloads, restarts and lost welcomes', () => {
  if (single !== undefined) {
    it(`seed ${single}`, async () => {
      const lines: string[] = []
      try {
        await simulate(single, (line) => lines.push(line))
      } finally {
        process.stdout.write(`${lines.join('\n')}\n`)
      }
    }, 60_000)
    return
  }
  for (let batch = 0; batch < batches; batch++) {
    const from = first + Math.floor((total * batch) / batches)
    const to = first + Math.floor((total * (batch + 1)) / batches)
    it(`seeds ${from}..${to - 1}`, async () => {
      for (let seed = from; seed < to; seed++) {
        const counts = await simulate(seed)
        for (const key of Object.keys(sum) as Array<keyof SimulationCounts>) sum[key] += counts[key]
        seeds++
      }
    }, 600_000)
  }
  afterAll(() => {
    const seconds = ((performance.now() - started) / 1000).toFixed(1)
    const detail = Object.entries(sum)
      .map(([key, value]) => `${key} ${value}`)
      .join(', ')
    console.info(`simulation: ${seeds} seeds in ${seconds} s (${detail})`)
  })
})
