/**
 * @lifeline/nats: the NATS client transport for browsers, over the NATS server's websocket listener.
 * Node clients use `@lifeline/nats/node`; the server transport is `@lifeline/nats/server`, the
 * JetStream session store and bus for several nodes `@lifeline/nats/jetstream`.
 */
import { type WsConnectionOptions, wsconnect } from '@nats-io/nats-core'
import { type OwnedConnectionOptions, transportFactory } from './client.js'

export { isConnection, type NatsTransportOptions } from './client.js'

/** `servers`: the NATS websocket URL(s), e.g. `wss://nats.example.com:8443`. */
export type NatsWsTransportOptions = OwnedConnectionOptions<WsConnectionOptions>

/**
 * A client transport over NATS websocket, for browsers (LL-NATS-1..9).
 *
 * ```ts
 * createClient({ transport: natsTransport({ servers: 'wss://nats.example.com:8443' }) })
 * ```
 * Or share a NATS connection the app already has: `natsTransport(nc)`.
 */
export const natsTransport = transportFactory<WsConnectionOptions>(wsconnect)
