/**
 * @lifeline/nats: the NATS client transport for browsers, over the NATS server's websocket listener.
 * Node clients use `@lifeline/nats/node`; the server transport is `@lifeline/nats/server`, the
 * JetStream session store and bus for several nodes `@lifeline/nats/jetstream`.
 */
import type { ClientTransport } from '@lifeline/core'
import { type NatsConnection, type WsConnectionOptions, wsconnect } from '@nats-io/nats-core'
import { clientTransport, type NatsTransportOptions } from './client.js'

export type { NatsTransportOptions } from './client.js'

export interface NatsWsTransportOptions extends NatsTransportOptions {
  /**
   * The NATS websocket URL(s), e.g. `wss://nats.example.com:8443`. Each Lifeline connection opens its
   * own NATS connection with NATS's reconnect off: Lifeline's backoff decides when to dial again.
   */
  servers?: string | string[]
  /** More NATS connection options (auth, name, timeouts); `reconnect` is always off. */
  connection?: Omit<WsConnectionOptions, 'servers' | 'reconnect'>
}

/**
 * A client transport over NATS websocket, for browsers (LL-NATS-1..9).
 *
 * ```ts
 * createClient({ transport: natsTransport({ servers: 'wss://nats.example.com:8443' }) })
 * ```
 * Or share a NATS connection the app already has: `natsTransport(nc)`.
 */
export function natsTransport(
  source: NatsWsTransportOptions | NatsConnection,
  options: NatsTransportOptions = {},
): ClientTransport {
  if (isConnection(source)) return clientTransport({ type: 'shared', connection: source }, options)
  const { servers, connection, ...rest } = source
  return clientTransport(
    {
      type: 'owned',
      connect: () =>
        wsconnect({ ...connection, ...(servers === undefined ? {} : { servers }), reconnect: false }),
    },
    { ...rest, ...options },
  )
}

export function isConnection(value: object): value is NatsConnection {
  return typeof (value as Partial<NatsConnection>).publish === 'function'
}
