import { type Static, Type } from '@sinclair/typebox'
import { frame } from './common.js'

/** `ping` (both directions): asks the peer to answer `pong` with the same id. */
export const Ping = frame(
  'Ping',
  Type.Object(
    {
      type: Type.Literal('ping'),
      id: Type.Optional(
        Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Echoed in the pong.' }),
      ),
    },
    { description: 'Both directions. Heartbeat probe; the receiver answers pong at once (LL-BEAT-2).' },
  ),
)

/** `pong` (both directions): the answer to a `ping`. */
export const Pong = frame(
  'Pong',
  Type.Object(
    {
      type: Type.Literal('pong'),
      id: Type.Optional(
        Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'The ping id.' }),
      ),
    },
    { description: 'Both directions. Answer to a ping.' },
  ),
)

export type Ping = Static<typeof Ping>
export type Pong = Static<typeof Pong>
