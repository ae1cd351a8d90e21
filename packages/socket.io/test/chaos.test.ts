import { chaosContract } from '@lifeline/testkit/contract'
import { socketIoUnderChaos } from './chaos-transport.js'

// The chaos contract over Socket.IO, once per Engine.IO transport: frames over one WebSocket, and
// over HTTP long-polling (faults hit polls and POSTs in flight). The websocket run has Socket.IO with
// connection state recovery alongside, under the same faults at the same moments. 30 s each in CI;
// the soak script (scripts/chaos-soak.ts) runs the same for as long as asked.
for (const mode of ['websocket', 'polling'] as const) {
  chaosContract(`socket.io (${mode})`, {
    durationMs: Number(process.env.CHAOS_MS ?? 30_000),
    compareWithSocketIo: mode === 'websocket',
    start: () => socketIoUnderChaos(mode),
  })
}
