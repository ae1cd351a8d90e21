/**
 * @lifeline/testkit/contract: the chaos suite as a vitest contract every transport runs (crossws
 * style). From a transport's test file:
 *
 * ```ts
 * chaosContract('ws', { start: async () => ({ server, target: { port }, client: (port) => ..., stop }) })
 * ```
 */
import { describe, expect, it } from 'vitest'
import { formatChaosReport } from './chaos/report.js'
import { runChaos } from './chaos/run.js'
import type { ChaosOptions, ChaosReport } from './chaos/types.js'

export function chaosContract(transport: string, options: ChaosOptions): void {
  const durationMs = options.durationMs ?? 60_000
  const settleMs = options.settleTimeoutMs ?? 30_000
  describe(`chaos: Lifeline over ${transport} under random network faults`, () => {
    it('LL-RESUME-2, LL-RESUME-3, LL-REPLAY-1, LL-SEND-2, LL-SEND-3: 0 lost, 0 duplicated, order kept and every resume recovered, both ways', {
      timeout: durationMs + 2 * settleMs + 60_000,
    }, async () => {
      const report: ChaosReport = await runChaos(transport, options)
      const table = formatChaosReport(report)
      console.log(table)
      const { lifeline } = report
      expect(report.faultCount, table).toBeGreaterThan(0)
      expect(lifeline.c2s.sent, table).toBeGreaterThan(0)
      expect(lifeline.s2c.sent, table).toBeGreaterThan(0)
      expect(lifeline.problems, table).toEqual([])
      expect(lifeline.unrecovered, table).toEqual([])
      expect(lifeline.resumes, table).toBeGreaterThan(0)
      expect({ c2s: lifeline.c2s, s2c: lifeline.s2c }, table).toEqual({
        c2s: { sent: lifeline.c2s.sent, delivered: lifeline.c2s.sent, lost: 0, duplicated: 0, outOfOrder: 0 },
        s2c: { sent: lifeline.s2c.sent, delivered: lifeline.s2c.sent, lost: 0, duplicated: 0, outOfOrder: 0 },
      })
    })
  })
}

export type { ChaosOptions, ChaosReport, ChaosTransportUnderTest, FaultKind } from './chaos/types.js'
