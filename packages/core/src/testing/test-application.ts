/** The test application every trace assumes (spec/vectors/README.md, "The test application"). */

import { PublicError } from '../errors.js'
import type { ServerOptions } from '../server/options.js'
import type { LifelineServer } from '../server/server.js'

/** The test application of spec/vectors/README.md, as LifelineServer hooks reporting app events. */
export function testApplication(
  server: () => LifelineServer,
  report: (event: string, sid: string, fields: Record<string, unknown>) => void,
): Pick<ServerOptions, 'authenticate' | 'onJoin' | 'onMessage' | 'onRecover'> {
  return {
    // {"token": subject}; a token starting with `bad` fails (4003); anything else is anonymous.
    authenticate: (auth) => {
      const token =
        typeof auth === 'object' && auth !== null ? (auth as { token?: unknown }).token : undefined
      if (typeof token !== 'string') return { subject: 'anonymous' }
      if (token.startsWith('bad')) throw new PublicError('bad token')
      return { subject: token }
    },
    onJoin: (topic) => !topic.startsWith('deny:'),
    onMessage: (message, session) => {
      const data = message.data as { reject?: unknown } | null
      if (typeof data === 'object' && data !== null && data.reject === true)
        throw new PublicError('rejected by the app')
      report('message', session.sid, { data: message.data })
      if (message.topic !== undefined) {
        server()
          .publish(message.topic, { from: session.subject, data: message.data })
          .catch(() => {})
      }
    },
    onRecover: ({ session, appMemento }) => {
      report('recover', session.sid, { appMemento })
    },
  }
}
