/**
 * The JetStream store on a 3-node NATS cluster with replicated streams (R3): one nats-server
 * SIGKILLed, the store keeps appending, reading and holding sessions; and a single nats-server
 * restarted keeps everything on file storage.
 */
import type { SessionRecord } from '@lifeline/core/server'
import { startNatsCluster, startNatsServer, waitFor } from '@lifeline/testkit'
import { connect } from '@nats-io/transport-node'
import { describe, expect, it } from 'vitest'
import { createJetStream } from '../src/jetstream.js'
import { onCleanup } from './helpers.js'

const record = (sid: string): SessionRecord => ({
  sid,
  node: 'n1',
  term: 1,
  version: 1,
  subject: 'alice',
  meta: undefined,
  generation: 1,
  proven: 1,
  processedSeq: 1,
  receivedSeq: 1,
  directAcked: 0,
  topics: { room: { seq: 0, epoch: undefined } },
  appMemento: undefined,
  expiresAt: undefined,
})
const frame = (data: number) => (seq: number) => {
  const f = { type: 'msg' as const, seq, topic: 'room', data }
  return { frame: f, text: JSON.stringify(f) }
}

/** Retries an operation while the cluster elects new leaders (JetStream answers 503 or times out). */
async function eventually<T>(operation: () => Promise<T>, timeoutMs = 40_000): Promise<T> {
  const started = performance.now()
  for (;;) {
    try {
      return await operation()
    } catch (error) {
      if (performance.now() - started > timeoutMs) throw error
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
}

describe('JetStream store on a NATS cluster', () => {
  it('replicated (R3): one nats-server killed, appends, reads and sessions go on', {
    timeout: 120_000,
  }, async () => {
    const cluster = await startNatsCluster(3)
    onCleanup(() => cluster.stop())
    const nc = await connect({ servers: cluster.urls, maxReconnectAttempts: -1, reconnectTimeWait: 100 })
    onCleanup(() => nc.close())
    const { store } = await createJetStream(nc, { replicas: 3, directStreamMaxBytes: 8 * 1024 * 1024 })
    // A new R3 stream elects its leader first: the first requests may time out (the store retries appends).
    await eventually(() => store.putSession(record('s_r3')))
    for (let i = 1; i <= 10; i++) await store.append('t:room', frame(i))
    // Kill the node this client is connected to when that is not the only way: any one will do.
    await cluster.server(0).kill()
    for (let i = 11; i <= 20; i++) await eventually(() => store.append('t:room', frame(i)))
    const read = await eventually(() => store.read('t:room', 0, 100))
    expect(read.entries.map((e) => (JSON.parse(e.text) as { data: number }).data)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    )
    expect(read.entries.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
    expect(await eventually(() => store.getSession('s_r3'))).toEqual(record('s_r3'))
    await cluster.server(0).restart()
    await cluster.waitHealthy()
    expect((await eventually(() => store.append('t:room', frame(21)))).seq).toBe(21)
  })

  it('file storage: a nats-server restarted keeps sessions, logs and their seqs', {
    timeout: 90_000,
  }, async () => {
    const nats = await startNatsServer()
    onCleanup(() => nats.stop())
    const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 50 })
    onCleanup(() => nc.close())
    const { store } = await createJetStream(nc, { directStreamMaxBytes: 8 * 1024 * 1024 })
    await store.putSession(record('s_file'))
    for (let i = 1; i <= 5; i++) await store.append('t:room', frame(i))
    await nats.kill()
    await nats.restart()
    await waitFor(() => !nc.isClosed() && nc.info !== undefined, { what: 'the reconnect' })
    expect(await eventually(() => store.getSession('s_file'))).toEqual(record('s_file'))
    expect((await eventually(() => store.head('t:room'))).lastSeq).toBe(5)
    expect((await eventually(() => store.append('t:room', frame(6)))).seq).toBe(6)
  })
})
