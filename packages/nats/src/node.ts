/**
 * @lifeline/nats/node: the NATS client transport for Node, over TCP (@nats-io/transport-node). Same
 * API as the browser entry.
 */
import type { ClientTransport } from '@lifeline/core'
import type { ConnectionOptions, NatsConnection } from '@nats-io/nats-core'
import { connect } from '@nats-io/transport-node'
import { clientTransport, type NatsTransportOptions } from './client.js'
import { isConnection } from './index.js'

export type { NatsTransportOptions } from './client.js'

export interface NodeNatsTransportOptions extends NatsTransportOptions {
  /**
   * The NATS server URL(s), e.g. `nats://127.0.0.1:4222` (all of a cluster's, to fail over). Each
   * Lifeline connection opens its own NATS connection with NATS's reconnect off: Lifeline's backoff
   * decides when to dial again.
   */
  servers?: string | string[]
  /** More NATS connection options (auth, name, timeouts); `reconnect` is always off. */
  connection?: Omit<ConnectionOptions, 'servers' | 'reconnect'>
}

/**
 * A client transport over NATS for Node (LL-NATS-1..9).
 *
 * ```ts
 * createClient({ transport: natsTransport({ servers: 'nats://127.0.0.1:4222' }) })
 * ```
 * Or share a NATS connection the app already has (NATS reconnects it; each drop ends the Lifeline
 * connection on it, LL-NATS-8): `natsTransport(nc)`.
 */
export function natsTransport(
  source: NodeNatsTransportOptions | NatsConnection,
  options: NatsTransportOptions = {},
): ClientTransport {
  if (isConnection(source)) return clientTransport({ type: 'shared', connection: source }, options)
  const { servers, connection, ...rest } = source
  return clientTransport(
    {
      type: 'owned',
      connect: () =>
        connect({ ...connection, ...(servers === undefined ? {} : { servers }), reconnect: false }),
    },
    { ...rest, ...options },
  )
}
