/** Logs a LifelineServer's session lifecycle, one structured line per event. */
import type { LifelineServer } from '@lifeline/core/server'
import type { Logger } from './logger.js'

/** One structured line per session lifecycle event; never a memento or credentials. */
export function logEvents(lifeline: LifelineServer, logger: Logger): () => void {
  const stops = [
    lifeline.on('session', (e) =>
      logger.info(e.resumed ? 'session resumed' : 'session opened', {
        sid: e.sid,
        subject: e.subject,
        resumed: e.resumed,
        recovered: e.recovered,
        ...(e.reason === undefined ? {} : { reason: e.reason }),
        attempt: e.attempt,
        transport: e.transport,
      }),
    ),
    lifeline.on('away', (e) => logger.info('session away', { sid: e.sid, code: e.code })),
    lifeline.on('end', (e) => logger.info('session ended', { sid: e.sid, reason: e.reason })),
    lifeline.on('replay', (e) => logger.debug('replay', { sid: e.sid, entries: e.entries })),
    lifeline.on('refused', (e) =>
      logger.warn('connection refused', { code: e.code, reason: e.reason, transport: e.transport }),
    ),
  ]
  return () => {
    for (const stop of stops) stop()
  }
}
