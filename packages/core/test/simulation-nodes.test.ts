import { describe, it } from 'vitest'
import { simulateNodes } from './simulation/multi-node.js'

/** SIM_NODES_SEED=n replays one seed with its schedule printed; SIM_NODES_SEEDS=n changes how many run. */
const single = process.env.SIM_NODES_SEED === undefined ? undefined : Number(process.env.SIM_NODES_SEED)
const total = Number(process.env.SIM_NODES_SEEDS ?? 2000)
const batches = 4

describe('deterministic simulation, two nodes on one store: exactly once or an explicit signal, in order, nothing left', () => {
  if (single !== undefined) {
    it(`seed ${single}`, async () => {
      const lines: string[] = []
      try {
        await simulateNodes(single, (line) => lines.push(line))
      } finally {
        process.stdout.write(`${lines.join('\n')}\n`)
      }
    }, 60_000)
  } else {
    for (let batch = 0; batch < batches; batch++) {
      const from = Math.floor((total * batch) / batches)
      const to = Math.floor((total * (batch + 1)) / batches)
      it(`seeds ${from}..${to - 1}`, async () => {
        for (let seed = from; seed < to; seed++) await simulateNodes(seed)
      }, 600_000)
    }
  }
})
