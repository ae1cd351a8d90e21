/**
 * The chaos suite over Socket.IO for as long as asked, with a progress line; Socket.IO with connection
 * state recovery alongside under the same faults.
 *
 *   pnpm --filter @lifeline/socket.io chaos:soak -- --minutes 30 [--mode websocket|polling] [--clients 3] [--seed N] [--no-socket-io]
 *
 * Exits 1 when Lifeline lost, duplicated or reordered a message, or a resume did not recover.
 */
import { parseArgs } from 'node:util'
import { formatChaosReport, runChaos } from '@lifeline/testkit'
import { type ChaosMode, socketIoUnderChaos } from '../test/chaos-transport.js'

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    mode: { type: 'string', default: 'websocket' },
    clients: { type: 'string', default: '3' },
    seed: { type: 'string' },
    'no-socket-io': { type: 'boolean', default: false },
  },
})
if (values.mode !== 'websocket' && values.mode !== 'polling') throw new Error('--mode: websocket or polling')
const mode: ChaosMode = values.mode

const report = await runChaos(`socket.io (${mode})`, {
  durationMs: Number(values.minutes) * 60_000,
  clients: Number(values.clients),
  compareWithSocketIo: !values['no-socket-io'],
  ...(values.seed === undefined ? {} : { seed: Number(values.seed) }),
  start: () => socketIoUnderChaos(mode),
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
const clean = (t: typeof lifeline.c2s) => t.lost === 0 && t.duplicated === 0 && t.outOfOrder === 0
const ok =
  clean(lifeline.c2s) &&
  clean(lifeline.s2c) &&
  lifeline.unrecovered.length === 0 &&
  lifeline.problems.length === 0
process.exit(ok ? 0 : 1)
