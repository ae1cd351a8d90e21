import { describe, it } from 'vitest'
import { simulate } from './simulation/simulate.js'

/** SIM_SEED=n replays one seed with its schedule printed; SIM_SEEDS=n changes how many run. */
const single = process.env.SIM_SEED === undefined ? undefined : Number(process.env.SIM_SEED)
const total = Number(process.env.SIM_SEEDS ?? 10_000)
const batches = 10

describe('deterministic simulation: exactly once or an explicit signal, in order, bounded, nothing left', () => {
  if (single !== undefined) {
    it(`seed ${single}`, async () => {
      const lines: string[] = []
      try {
        await simulate(single, (line) => lines.push(line))
      } finally {
        process.stdout.write(`${lines.join('\n')}\n`)
      }
    }, 60_000)
  } else {
    for (let batch = 0; batch < batches; batch++) {
      const from = Math.floor((total * batch) / batches)
      const to = Math.floor((total * (batch + 1)) / batches)
      it(`seeds ${from}..${to - 1}`, async () => {
        for (let seed = from; seed < to; seed++) await simulate(seed)
      }, 600_000)
    }
  }
})
