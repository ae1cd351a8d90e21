/**
 * The NATS client sides, run in a peer process: a Lifeline client over NATS, or a plain NATS
 * subscriber parsing every message (one payload, or a JSON array of them), counting what arrives.
 */
import { createClient, inertEnvironment, type LifelineClient } from '@lifeline/core'
import { natsTransport } from '@lifeline/nats/node'
import type { NatsConnection } from '@nats-io/nats-core'
import { connect } from '@nats-io/transport-node'
import { countArrived, resetCount, waitForCount } from '../framework/counter.js'

const clients: LifelineClient[] = []
const connections: NatsConnection[] = []

/** One Lifeline client over NATS; resolves with its session id once open. */
export async function lifeline(args: { servers: string; prefix: string }): Promise<string> {
  const client = createClient({
    transport: natsTransport({ servers: args.servers }, { prefix: args.prefix }),
    environment: inertEnvironment,
  })
  clients.push(client)
  client.on('message', () => countArrived(1))
  const opened = new Promise<string>((resolve) => {
    const off = client.on('status', (status) => {
      if (status.type !== 'open') return
      off()
      resolve(client.sid as string)
    })
  })
  client.connect()
  return opened
}

/** A plain NATS subscriber that parses each message as the app would. */
export async function plain(args: { servers: string; subject: string }): Promise<void> {
  const nc = await connect({ servers: args.servers })
  connections.push(nc)
  nc.subscribe(args.subject, {
    callback: (_error, msg) => {
      const value = JSON.parse(msg.string()) as unknown
      countArrived(Array.isArray(value) ? value.length : 1)
    },
  })
  await nc.flush()
}

export function reset(): number {
  return resetCount()
}

export function expect(args: { total: number }): Promise<number> {
  return waitForCount(args.total)
}

export async function close(): Promise<void> {
  for (const client of clients.splice(0)) client.close()
  for (const nc of connections.splice(0)) await nc.close()
}
