/**
 * The chaos suite for as long as asked, with a progress line: Lifeline over ws under random faults,
 * Socket.IO with connection state recovery alongside under the same faults.
 *
 *   pnpm --filter @lifeline/ws chaos:soak -- --minutes 30 [--clients 3] [--seed N] [--no-socket-io]
 *
 * Exits 1 when Lifeline lost, duplicated or reordered a message, or a resume did not recover.
 */
import { parseArgs } from 'node:util'
import { formatChaosReport, runChaos } from '@lifeline/testkit'
import { wsTransport } from '../src/node.js'
import { wsServerTransport } from '../src/server.js'

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    clients: { type: 'string', default: '3' },
    seed: { type: 'string' },
    'no-socket-io': { type: 'boolean', default: false },
  },
})

const durationMs = Number(values.minutes) * 60_000
const report = await runChaos('ws', {
  durationMs,
  clients: Number(values.clients),
  compareWithSocketIo: !values['no-socket-io'],
  ...(values.seed === undefined ? {} : { seed: Number(values.seed) }),
  start: async () => {
    const server = wsServerTransport({ port: 0 })
    return {
      server,
      get target() {
        return { port: server.port }
      },
      client: (proxyPort) => wsTransport(`ws://127.0.0.1:${proxyPort}/lifeline`),
      stop: () => server.close(),
    }
  },
  onProgress: (p) => {
    const s = (ms: number) => `${Math.round(ms / 1000)}s`
    const heap = Math.round(process.memoryUsage().heapUsed / 1024 / 1024)
    process.stderr.write(
      `\r${s(p.elapsedMs)}/${s(p.durationMs)}  faults ${p.faultCount} (last: ${p.lastFault ?? '-'})  ` +
        `messages ${p.delivered}/${p.sent}  resumes ${p.resumes}  heap ${heap} MB   `,
    )
  },
})
process.stderr.write('\n')
console.log(formatChaosReport(report))
const { lifeline } = report
const clean =
  lifeline.c2s.lost + lifeline.c2s.duplicated + lifeline.c2s.outOfOrder === 0 &&
  lifeline.s2c.lost + lifeline.s2c.duplicated + lifeline.s2c.outOfOrder === 0 &&
  lifeline.unrecovered.length === 0 &&
  lifeline.problems.length === 0
process.exit(clean ? 0 : 1)
