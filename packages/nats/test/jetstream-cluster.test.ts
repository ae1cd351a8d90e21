/**
 * The JetStream store on a 3-node NATS cluster with replicated streams (R3): one nats-server
 * SIGKILLed, the store keeps appending, reading and holding sessions, and Lifeline nodes on it keep
 * their clients' sessions resuming; and a single nats-server restarted keeps everything on file
 * storage.
 */
import type { SessionRecord } from '@lifeline/core/server'
import { sleep, startNatsCluster, startNatsServer, waitFor } from '@lifeline/testkit'
import { connect } from '@nats-io/transport-node'
import { describe, expect, it } from 'vitest'
import type { JetStreamStore } from '../src/jetstream/store.js'
import { createJetStream } from '../src/jetstream.js'
import { natsTransport } from '../src/node.js'
import { exactlyOnce, type Node, node, onCleanup, open, uniquePrefix } from './helpers.js'

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

  it('LL-NODE-3, LL-NATS-8: R3, two Lifeline nodes on different nats-servers; the one under node A SIGKILLed mid-stream: every session resumes, recovered, counts exact', {
    timeout: 120_000,
  }, async () => {
    const cluster = await startNatsCluster(3)
    onCleanup(() => cluster.stop())
    const prefix = uniquePrefix()
    const name = `R${Math.random().toString(36).slice(2, 8)}`
    let shared: JetStreamStore | undefined
    /** Node `id` on nats-server `first` (then the others, when it dies). */
    const clusterNode = async (id: string, first: number) => {
      const urls = [first, ...[0, 1, 2].filter((i) => i !== first)].map((i) => cluster.server(i).url)
      const nc = await connect({
        servers: urls,
        noRandomize: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 100,
      })
      onCleanup(() => nc.close())
      const { store, bus } = await createJetStream(nc, { name, replicas: 3, directStreamMaxBytes: 8 << 20 })
      // A new R3 stream elects its leader first: wait until the store answers.
      await eventually(() => store.head('t:room'))
      shared ??= store
      const self: { node?: Node } = {}
      self.node = await node(nc, prefix, {
        store,
        bus,
        node: id,
        secret: 'cluster-test-secret-of-32-bytes!',
        // A resume during the cluster's leader elections takes seconds (claims and reads wait for new
        // stream leaders): the grace must outlast them, else sessions expire (explicitly) meanwhile.
        graceMs: 30_000,
        // What processing does goes to the store keyed by the message id (LL-NODE-8): a message processed
        // again elsewhere (its node lost NATS before recording it) is written once.
        onMessage: async (message, session) => {
          await self.node?.server.publish('log', message.data, {
            id: `${session.subject}\u0000${message.id}`,
          })
        },
      })
      return self.node
    }
    // Clients dial the nats-server that stays up: two while A is the only node, two once B is there too.
    const dial = () => open(natsTransport({ servers: cluster.server(2).url }, { prefix }))
    const a = await clusterNode('A', 0)
    const onA = await Promise.all([dial(), dial()])
    const b = await clusterNode('B', 1)
    const clients = [...onA, ...(await Promise.all([dial(), dial()]))]
    for (const test of clients) await test.client.join('room')
    const sids = clients.map((test) => test.client.sid)
    const signals: unknown[] = []
    const failures: string[] = []
    let resumes = 0
    for (const test of clients) {
      test.client.on('unrecovered', (event) => signals.push(event))
      test.client.on('gap', (event) => signals.push(event))
      test.client.on('status', (status) => {
        if (status.type === 'open' && status.resumed) resumes++
      })
    }
    const n = 100
    for (let i = 1; i <= n; i++) {
      for (const [k, test] of clients.entries()) void test.client.send(k * 1000 + i)
      ;(i % 2 === 0 ? a : b).server.publish('room', i).catch((error: Error) => failures.push(error.message))
      if (i === n / 2) await cluster.server(0).kill()
      if (i % 10 === 0) await sleep(5)
    }
    // The counts in the message are those at the timeout (a stalled feed or send shows here).
    await waitFor(() => clients.every((test) => test.received.length >= n && test.client.pending === 0), {
      timeoutMs: 30_000,
    }).catch((error: Error) => {
      const counts = `received ${clients.map((t) => t.received.length)}, pending ${clients.map((t) => t.client.pending)}`
      throw new Error(`${error.message}: every message both ways (${counts})`)
    })
    // A hello a node took late (its client had given up on it) may still move a session once more: the
    // client resumes it (same sid, checked below), and nothing it holds may change meanwhile.
    await waitFor(() => clients.every((test) => test.client.status.type === 'open'), {
      what: 'every client open',
      timeoutMs: 15_000,
    })
    await sleep(200)
    // What the nodes processed: the log topic in JetStream.
    const log = await eventually(() => (shared as JetStreamStore).read('t:log', 0, 10_000))
    const processed = log.entries.map((entry) => (entry.frame as { data: number }).data)
    for (const [k, test] of clients.entries()) {
      // Both nodes publish at once: the topic's order is its stream's, the same for every client.
      expect(test.received, `client ${k}`).toEqual(clients[0]?.received)
      const sorted = [...test.received].sort((x, y) => (x as number) - (y as number))
      expect(exactlyOnce(sorted, n), `client ${k} received ${test.received.join(',')}`).toBe(true)
      const mine = processed.flatMap((v) =>
        typeof v === 'number' && v > k * 1000 && v <= k * 1000 + n ? [v - k * 1000] : [],
      )
      expect(exactlyOnce(mine, n), `client ${k} processed ${mine.join(',')}`).toBe(true)
      expect(test.client.status).toMatchObject({ type: 'open' })
      expect(test.client.sid).toBe(sids[k])
    }
    expect(processed.length).toBe(clients.length * n)
    // Node A lost its nats-server: the connections it served ended (LL-NATS-8) and resumed, all recovered.
    expect(resumes).toBeGreaterThan(0)
    expect(signals).toEqual([])
    expect(failures).toEqual([])
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
