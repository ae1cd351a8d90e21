/**
 * The experiment over Lifeline: clients send to the server, the server sends to each client's session
 * and to a topic they all joined, continuously, through the fault proxy. Every message must arrive
 * exactly once and in order, both ways, and every resume must recover.
 */
import { createClient, fullJitter, inertEnvironment, type LifelineClient, silentLogger } from '@lifeline/core'
import { createServer, type LifelineServer } from '@lifeline/core/server'
import { FaultProxy } from '../fault-proxy.js'
import { waitFor } from '../wait.js'
import type { Experiment } from './experiment.js'
import { Sequence, tally } from './tally.js'
import type { ChaosOptions, ChaosTransportUnderTest, ExperimentResult } from './types.js'

const TOPIC = 'chaos'

interface Peer {
  readonly index: number
  readonly client: LifelineClient
  /** Client to server: numbered by the client, checked as the server app processes them. */
  sent: number
  readonly processed: Sequence
  /** Server to client: the session's direct stream and the shared topic. */
  directSent: number
  readonly direct: Sequence
  readonly topic: Sequence
  sid: string | undefined
}

export async function lifelineExperiment(
  name: string,
  options: ChaosOptions,
  required: Required<Pick<ChaosOptions, 'clients' | 'heartbeatMs' | 'heartbeatTimeoutMs' | 'graceMs'>>,
): Promise<Experiment> {
  const under: ChaosTransportUnderTest = await options.start()
  const problems: string[] = []
  const peers: Peer[] = []
  let topicSent = 0
  let resumes = 0
  let recovered = 0
  const unrecovered: string[] = []

  const server: LifelineServer = createServer({
    secret: 'chaos-suite-secret-of-at-least-32-bytes',
    logger: silentLogger,
    heartbeatMs: required.heartbeatMs,
    heartbeatTimeoutMs: required.heartbeatTimeoutMs,
    graceMs: required.graceMs,
    // Logs long enough for any outage the schedule makes: a resume within grace must recover.
    memory: {
      topicLog: { maxEntries: 1_000_000, maxBytes: 1 << 30 },
      directLog: { maxEntries: 1_000_000, maxBytes: 1 << 30 },
    },
    authenticate: (auth) => ({ subject: String((auth as { peer?: unknown } | undefined)?.peer) }),
    // Asynchronous, as apps are (the core README's pattern), with a stall now and then: sends queue
    // behind it, so a drop often comes between a send's arrival and its processing (LL-SEND-2).
    onMessage: async (message) => {
      const { c, n } = message.data as { c: number; n: number }
      await new Promise((resolve) => setTimeout(resolve, n % 64 === 0 ? 300 : 1))
      peers[c]?.processed.arrive(n)
    },
    ...options.serverOptions,
  })
  server.on('error', (error) => problems.push(`server error: ${error.message}`))
  await server.attach(under.server)
  // Read once the server listens: a transport on port 0 knows its port only then.
  const proxy = new FaultProxy({ ...under.target })
  const proxyPort = await proxy.start()

  for (let index = 0; index < required.clients; index++) {
    const client = createClient({
      transport: under.client(proxyPort),
      environment: inertEnvironment,
      logger: silentLogger,
      auth: { peer: index },
      retryDelay: fullJitter({ initialMs: 50, maxMs: 1000 }),
      connectTimeoutMs: 3000,
      outbox: { maxMessages: 1_000_000, maxBytes: 1 << 30 },
    })
    const peer: Peer = {
      index,
      client,
      sent: 0,
      processed: new Sequence(),
      directSent: 0,
      direct: new Sequence(),
      topic: new Sequence(),
      sid: undefined,
    }
    client.on('message', (message) => {
      const data = message.data as { d?: number; t?: number }
      if (message.topic === TOPIC && data.t !== undefined) peer.topic.arrive(data.t)
      else if (message.topic === undefined && data.d !== undefined) peer.direct.arrive(data.d)
    })
    client.on('session', (session) => {
      if (peer.sid === undefined) peer.sid = session.sid
      if (!session.resumeAsked) return
      resumes++
      if (session.resumed && session.recovered && session.sid === peer.sid) recovered++
      else unrecovered.push(`client ${index}: resumed ${session.resumed}, ${session.reason ?? 'no reason'}`)
    })
    client.on('settled', ({ error }) => {
      if (error !== undefined) problems.push(`client ${index}: send failed: ${error.message}`)
    })
    peers.push(peer)
  }

  const delivered = () =>
    peers.reduce((sum, p) => sum + p.processed.delivered + p.direct.delivered + p.topic.delivered, 0)
  const sent = () => peers.reduce((sum, p) => sum + p.sent + p.directSent + topicSent, 0)
  let sending = true

  return {
    name: `Lifeline over ${name}`,
    proxy,
    async open() {
      for (const peer of peers) peer.client.connect()
      await Promise.all(peers.map((peer) => peer.client.join(TOPIC)))
    },
    tick() {
      if (!sending) return
      for (const peer of peers) {
        void peer.client.send({ c: peer.index, n: ++peer.sent })
        if (peer.sid !== undefined) {
          const n = ++peer.directSent
          server.send(peer.sid, { d: n }).catch((error: Error) => {
            problems.push(`server send to client ${peer.index} failed: ${error.message}`)
          })
        }
      }
      const n = ++topicSent
      server
        .publish(TOPIC, { t: n })
        .catch((error: Error) => problems.push(`publish failed: ${error.message}`))
    },
    progress: () => ({ sent: sent(), delivered: delivered(), resumes }),
    async finish(timeoutMs) {
      sending = false
      const complete = () =>
        peers.every(
          (p) =>
            p.client.pending === 0 &&
            p.processed.delivered >= p.sent &&
            p.direct.delivered >= p.directSent &&
            p.topic.delivered >= topicSent,
        )
      await waitFor(complete, { timeoutMs, what: 'every message to arrive', intervalMs: 50 }).catch(
        (error: Error) => problems.push(error.message),
      )
      return result()
    },
    async close() {
      for (const peer of peers) peer.client.close()
      await proxy.close() // first: connections held in a black hole would hold the server's close
      await server.shutdown()
      await under.stop()
    },
  }

  function result(): ExperimentResult {
    return {
      name: `Lifeline over ${name}`,
      c2s: tally(peers.map((p) => ({ sent: p.sent, sequence: p.processed }))),
      s2c: tally(
        peers.flatMap((p) => [
          { sent: p.directSent, sequence: p.direct },
          { sent: topicSent, sequence: p.topic },
        ]),
      ),
      resumes,
      recovered,
      unrecovered,
      problems,
    }
  }
}
