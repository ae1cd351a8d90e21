/**
 * @lifeline/nats/node: the NATS client transport for Node, over TCP (@nats-io/transport-node). Same
 * API as the browser entry.
 */
import type { ConnectionOptions } from '@nats-io/nats-core'
import { connect } from '@nats-io/transport-node'
import { type OwnedConnectionOptions, transportFactory } from './client.js'

export type { NatsTransportOptions } from './client.js'

/** `servers`: the NATS server URL(s), e.g. `nats://127.0.0.1:4222` (all of a cluster's, to fail over). */
export type NodeNatsTransportOptions = OwnedConnectionOptions<ConnectionOptions>

/**
 * A client transport over NATS for Node (LL-NATS-1..9).
 *
 * ```ts
 * createClient({ transport: natsTransport({ servers: 'nats://127.0.0.1:4222' }) })
 * ```
 * Or share a NATS connection the app already has (NATS reconnects it; each drop ends the Lifeline
 * connection on it, LL-NATS-8): `natsTransport(nc)`.
 */
export const natsTransport = transportFactory<ConnectionOptions>(connect)
