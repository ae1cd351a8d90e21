/**
 * @lifeline/nats/jetstream: a session store and bus on NATS JetStream, so several Lifeline server
 * nodes share sessions and topics. What it promises, its durability settings and what needs a newer
 * nats-server: docs/nats.md.
 *
 * ```ts
 * const nc = await connect({ servers: 'nats://127.0.0.1:4222' })
 * const { store, bus } = await createJetStream(nc, { replicas: 3 })
 * const server = createServer({ store, bus, secret })
 * ```
 */
import type { ConnectionOptions, NatsConnection } from '@nats-io/nats-core'
import { connect } from '@nats-io/transport-node'
import { JetStreamBus, type JetStreamBusOptions } from './jetstream/bus.js'
import { JetStreamStore, type JetStreamStoreOptions } from './jetstream/store.js'

export { JetStreamBus, type JetStreamBusOptions } from './jetstream/bus.js'
export type { Claim, ClaimResult } from './jetstream/claims.js'
export { type Bounds, JetStreamStore, type JetStreamStoreOptions } from './jetstream/store.js'

export interface JetStream {
  readonly store: JetStreamStore
  readonly bus: JetStreamBus
  /** Closes the NATS connection when `createJetStream` made it (the server closes store and bus). */
  close(): Promise<void>
}

/**
 * The store and bus on one NATS connection (given, or made from options), with the bucket and
 * shared streams created (idempotent: every node may call it).
 */
export async function createJetStream(
  connection: NatsConnection | ConnectionOptions,
  options: JetStreamStoreOptions & JetStreamBusOptions = {},
): Promise<JetStream> {
  const owned = typeof (connection as Partial<NatsConnection>).publish !== 'function'
  const nc = owned ? await connect(connection as ConnectionOptions) : (connection as NatsConnection)
  const store = new JetStreamStore(nc, options)
  await store.init()
  const bus = new JetStreamBus(store, options)
  return {
    store,
    bus,
    close: async () => {
      if (owned && !nc.isClosed()) await nc.close()
    },
  }
}
