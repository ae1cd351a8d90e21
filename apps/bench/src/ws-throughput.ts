/**
 * Steady-state server-to-client throughput over WebSocket: Lifeline with the full protocol (sequence
 * numbers, cumulative acks, replay log, mementos, batching) against raw `ws` carrying the same payloads
 * (each one JSON-encoded by the sender and parsed by the receiver, as an app would), in the same
 * process and run, interleaved, median of several rounds. Target (brief): >= 0.9x raw ws.
 * Run: pnpm --filter @lifeline/bench bench:ws
 */
import { createClient, inertEnvironment } from '@lifeline/core'
import { createServer } from '@lifeline/core/server'
import { wsTransport } from '@lifeline/ws/node'
import { wsServerTransport } from '@lifeline/ws/server'
import { WebSocket, WebSocketServer } from 'ws'
import { compare, report } from './measure.js'

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 100_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const payloads = Array.from({ length: 1000 }, (_, i) => ({
  from: `user${i % 50}`,
  text: `message ${i}: the quick brown fox jumps over the lazy dog`,
  at: 1_763_000_000_000 + i,
}))

async function rawWs(): Promise<number> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false })
  await new Promise<void>((resolve) => wss.once('listening', resolve))
  const port = (wss.address() as { port: number }).port
  const serverSide = new Promise<WebSocket>((resolve) => wss.once('connection', resolve))
  const client = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false })
  let received = 0
  let done: () => void = () => {}
  const finished = new Promise<void>((resolve) => (done = resolve))
  client.on('message', (data) => {
    JSON.parse(data.toString())
    if (++received === MESSAGES) done()
  })
  await new Promise<void>((resolve) => client.once('open', () => resolve()))
  const socket = await serverSide
  const started = performance.now()
  for (let i = 0; i < MESSAGES; i++) socket.send(JSON.stringify(payloads[i % payloads.length]))
  await finished
  const rate = MESSAGES / ((performance.now() - started) / 1000)
  client.close()
  await new Promise<void>((resolve) => wss.close(() => resolve()))
  return rate
}

async function lifeline(): Promise<number> {
  const transport = wsServerTransport({ port: 0 })
  // A burst of this size is far beyond a real app's; lift the slow-consumer cut-off so the burst is measured.
  const server = createServer({
    secret: 'bench-secret-bench-secret-bench-secret',
    maxBufferedBytes: 512 * 1024 * 1024,
  })
  await server.attach(transport)
  const client = createClient({
    transport: wsTransport(`ws://127.0.0.1:${transport.port}/lifeline`),
    environment: inertEnvironment,
  })
  let received = 0
  let done: () => void = () => {}
  const finished = new Promise<void>((resolve) => (done = resolve))
  client.on('message', () => {
    if (++received === MESSAGES) done()
  })
  const opened = new Promise<void>((resolve) => client.on('status', (s) => s.type === 'open' && resolve()))
  client.connect()
  await opened
  const sid = client.sid as string
  const started = performance.now()
  for (let i = 0; i < MESSAGES; i++) void server.send(sid, payloads[i % payloads.length])
  await finished
  const rate = MESSAGES / ((performance.now() - started) / 1000)
  client.close()
  await server.shutdown()
  return rate
}

const result = await compare(
  `server->client over ws, full protocol, ${MESSAGES} messages`,
  { name: 'raw ws', run: rawWs },
  lifeline,
  { rounds: ROUNDS, target: 0.9 },
)
console.log(report(result))
