/**
 * One node of a cluster on NATS (`--nats nats://…`): one NATS connection carries the JetStream
 * session store and bus (so the nodes share sessions and topics) and the NATS transport (Lifeline
 * over NATS for NATS clients, in one queue group with the other nodes).
 */
import type { Bus, SessionStore } from '@lifeline/core/server'
import { createJetStream } from '@lifeline/nats/jetstream'
import { type NatsServerTransport, natsServerTransport } from '@lifeline/nats/server'
import { connect } from '@nats-io/transport-node'
import type { NatsConfig } from './config.js'
import type { Logger } from './logger.js'

/** Room the NATS binding's headers need under max_payload (LL-NATS-4). */
const HEADER_ROOM = 256

export interface NatsNode {
  readonly store: SessionStore
  readonly bus: Bus
  readonly transport: NatsServerTransport
  /** The largest frame every transport of this node can carry: NATS's max_payload less headers, at most 1 MiB. */
  readonly maxFrameBytes: number
  close(): Promise<void>
}

export async function connectNats(config: NatsConfig, logger: Logger): Promise<NatsNode> {
  const nc = await natsConnection(config)
  watch(nc, logger)
  const { store, bus } = await createJetStream(nc, {
    replicas: config.replicas,
    onError: (error) => logger.error('JetStream bus', { error: error.message }),
  })
  const maxPayload = nc.info?.max_payload ?? 1024 * 1024
  return {
    store,
    bus,
    transport: natsServerTransport({ connection: nc, prefix: config.prefix }),
    maxFrameBytes: Math.min(1024 * 1024, maxPayload - HEADER_ROOM),
    close: async () => {
      if (!nc.isClosed()) await nc.close()
    },
  }
}

/** Conformance mode: Lifeline over NATS only; each test server keeps its memory store. */
export async function natsTransportOnly(
  config: NatsConfig,
  logger: Logger,
): Promise<{ transport: NatsServerTransport; close(): Promise<void> }> {
  const nc = await natsConnection(config)
  watch(nc, logger)
  return {
    transport: natsServerTransport({ connection: nc, prefix: config.prefix }),
    close: async () => {
      if (!nc.isClosed()) await nc.close()
    },
  }
}

function natsConnection(config: NatsConfig) {
  return connect({
    servers: [...config.servers],
    name: 'lifeline-reference-server',
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
  })
}

type NatsConnection = Awaited<ReturnType<typeof connect>>

function watch(nc: NatsConnection, logger: Logger): void {
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect' || status.type === 'reconnect')
        logger.warn(`NATS ${status.type}`, { server: status.server })
    }
  })().catch(() => {})
}
