/** The de-duplication window's admit cost as the window grows: it must stay flat (LL-SEND-3: O(1)). */
import { systemClock } from '@lifeline/core'
import { DedupWindow } from '@lifeline/core/server'
import type { BenchOptions, Scenario, Side } from '../framework/types.js'
import { COMPLEXITY_BUDGET } from './complexity.js'

function window(maxIds: number, admits: number): Side {
  return {
    name: `window of ${maxIds.toLocaleString('en-US')} ids`,
    run: async () => {
      const dedup = new DedupWindow(systemClock, { maxIds })
      // Full first, so every admit also evicts, as in a long-lived session.
      for (let i = 0; i < maxIds; i++) dedup.admit(`warm.${i}`)
      const ids = Array.from({ length: admits }, (_, i) => `c8f2a9e1b4d7.${i}`)
      const started = performance.now()
      for (const id of ids) dedup.admit(id)
      return { us: ((performance.now() - started) * 1000) / admits }
    },
  }
}

export function dedupScenarios(options: BenchOptions): Scenario[] {
  const admits = options.quick ? 100_000 : 1_000_000
  const small = window(1_000, admits)
  return [
    {
      id: 'core.dedup',
      title: 'de-duplication admit cost, window 1k → 16k ids',
      description: `${admits.toLocaleString('en-US')} new ids admitted into a full window (each admit also evicts the oldest), for windows of 16,384 and 1,000 ids; time per admit.`,
      sides: [window(16_384, admits), small],
      metrics: [
        {
          key: 'us',
          title: 'time per admit',
          unit: 'µs',
          better: 'lower',
          targets: [{ against: small.name, max: COMPLEXITY_BUDGET, note: 'flat: O(1)', budget: true }],
        },
      ],
    },
  ]
}
