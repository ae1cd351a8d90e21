/** Shared helpers for the NATS tests: cleanup, a Lifeline server on NATS, clients that record. */
import {
  type ClientOptions,
  type ClientTransport,
  createClient,
  inertEnvironment,
  type LifelineClient,
} from '@lifeline/core'
import { createServer, type LifelineServer, type ServerOptions } from '@lifeline/core/server'
import { waitFor } from '@lifeline/testkit'
import type { ConnectionOptions, NatsConnection } from '@nats-io/nats-core'
import { afterEach } from 'vitest'
import { type NatsServerTransport, natsServerTransport } from '../src/server.js'

const cleanups: (() => unknown)[] = []

/** Runs `cleanup` after the current test, last registered first. */
export function onCleanup(cleanup: () => unknown): void {
  cleanups.push(cleanup)
}

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

export const HEARTBEAT_MS = 200
export const HEARTBEAT_TIMEOUT_MS = 300

/** A unique prefix per test, so concurrent deployments on one nats-server never meet. */
export function uniquePrefix(): string {
  return `lifeline.t${Math.random().toString(36).slice(2, 10)}`
}

export interface Node {
  readonly server: LifelineServer
  readonly transport: NatsServerTransport
  readonly processed: unknown[]
}

/** A Lifeline server on a NATS connection (given, or made from options), stopped after the test. */
export async function node(
  connection: NatsConnection | ConnectionOptions,
  prefix: string,
  options: ServerOptions = {},
): Promise<Node> {
  const processed: unknown[] = []
  const server = createServer({
    heartbeatMs: HEARTBEAT_MS,
    heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
    graceMs: 5000,
    // LL-NATS-4: frames plus the binding's headers must fit in the NATS server's max_payload (1 MiB).
    maxFrameBytes: 512 * 1024,
    onMessage: (message) => void processed.push(message.data),
    ...options,
  })
  const transport = natsServerTransport({ connection, prefix })
  await server.attach(transport)
  onCleanup(() => server.shutdown())
  return { server, transport, processed }
}

export interface TestClient {
  readonly client: LifelineClient
  readonly received: unknown[]
}

export async function open(
  transport: ClientTransport,
  options: Partial<ClientOptions> = {},
): Promise<TestClient> {
  const client = createClient({
    transport,
    environment: inertEnvironment,
    retryDelay: () => 50,
    connectTimeoutMs: 2000,
    ...options,
  })
  const test: TestClient = { client, received: [] }
  client.on('message', (message) => test.received.push(message.data))
  onCleanup(() => client.close())
  client.connect()
  await waitFor(() => client.status.type === 'open', { what: 'the client to open' })
  return test
}

/** Each value of 1..n exactly once, in order. */
export function exactlyOnce(values: readonly unknown[], n: number): boolean {
  return values.length === n && values.every((value, i) => value === i + 1)
}
