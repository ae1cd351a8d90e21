/** The bound on a session's unprocessed sends and the backpressure that keeps it (LL-LIMIT-7). */
import type { Send } from '@lifeline/protocol'
import { CloseCode } from '@lifeline/protocol'
import type { ServerCore } from './core.js'
import type { ServerSession } from './session.js'

/** An object transport's send has no text: its size as JSON, counted only when it has to wait. */
export function estimateBytes(frame: Send): number {
  return 64 + (JSON.stringify(frame.data)?.length ?? 0)
}

/**
 * LL-LIMIT-7: past a quarter of either bound the connection stops reading, so the transport's flow
 * control holds the client back; below an eighth it reads again. A client whose sends still exceed
 * the bound (a transport that cannot pause, or a client ignoring it) is closed with 4105, and what it
 * queued is dropped unprocessed: it resends it, unacked, on its next connection.
 */
export function backpressure(core: ServerCore, session: ServerSession): void {
  const { maxPendingSends, maxPendingSendBytes } = core.options
  const count = session.backlog.length
  const bytes = session.backlogBytes
  const connection = session.connection
  if (count > maxPendingSends || bytes > maxPendingSendBytes) {
    session.dropBacklog()
    connection?.close({
      type: 'bye',
      code: CloseCode.BACKLOG_OVERFLOW,
      reason: 'too many unprocessed sends',
      reconnect: true,
    })
  } else if (count >= maxPendingSends / 4 || bytes >= maxPendingSendBytes / 4) connection?.pauseReading()
  else if (count <= maxPendingSends / 8 && bytes <= maxPendingSendBytes / 8) connection?.resumeReading()
}
