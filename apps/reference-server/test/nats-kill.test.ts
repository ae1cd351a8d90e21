/**
 * Two reference-server processes on one nats-server (`--nats`): a client over NATS on node A, A killed
 * with SIGKILL mid-stream, the client resumes its session on node B from the JetStream store
 * (LL-NODE-3, LL-NODE-6): recovered, and counted from the room's log in JetStream (what the servers
 * processed) and from what the client delivered, no message lost or duplicated in either direction.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createClient, inertEnvironment } from '@lifeline/core'
import { createJetStream } from '@lifeline/nats/jetstream'
import { natsTransport } from '@lifeline/nats/node'
import { type NatsServer, sleep, startNatsServer, waitFor } from '@lifeline/testkit'
import { connect } from '@nats-io/transport-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SECRET } from './helpers.js'

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url))

let nats: NatsServer
const children: ChildProcess[] = []
beforeAll(async () => {
  nats = await startNatsServer()
})
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL')
  await nats.stop()
})

/** A reference-server node as its own process; resolves once it listens. */
async function nodeProcess(): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      MAIN,
      '--port',
      '0',
      '--nats',
      nats.url,
      '--heartbeat-ms',
      '300',
      '--heartbeat-timeout-ms',
      '300',
      '--log-level',
      'info',
    ],
    { env: { ...process.env, LIFELINE_SECRET: SECRET, PORT: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  children.push(child)
  let out = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString()
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    out += chunk.toString()
  })
  await waitFor(() => /"msg":"listening"/.test(out), { what: `a node to listen:\n${out}`, timeoutMs: 30_000 })
  return child
}

describe('a node SIGKILLed mid-stream (two reference servers on NATS)', () => {
  it('LL-NODE-3, LL-NODE-8: the client resumes on the other node, recovered: every send processed once, every message delivered once', {
    timeout: 90_000,
  }, async () => {
    const a = await nodeProcess()
    const client = createClient({
      transport: natsTransport({ servers: nats.url }),
      auth: { name: 'kim' },
      environment: inertEnvironment,
      retryDelay: () => 100,
    })
    const room = 'room:lobby'
    const delivered: string[] = []
    const unrecovered: unknown[] = []
    client.on('message', (message) => {
      if (message.topic === room) delivered.push((message.data as { text: string }).text)
    })
    client.on('unrecovered', (event) => unrecovered.push(event))
    client.connect()
    await client.join(room)
    const b = await nodeProcess() // started after the client opened: the client is on A
    const n = 60
    const sends: Promise<unknown>[] = []
    for (let i = 1; i <= n; i++) {
      sends.push(client.send({ text: `m ${i}` }, { topic: room }))
      if (i === n / 2 - 10) await waitFor(() => delivered.length >= 10, { what: 'traffic before the kill' })
      // The last ten before the kill leave in one burst: some are processed by A but not yet acked.
      if (i === n / 2) a.kill('SIGKILL')
      else if (i < n / 2 - 10 || i > n / 2) await sleep(5)
    }
    await Promise.all(sends)
    expect(client.status).toMatchObject({ type: 'open', resumed: true })
    expect(client.recovered).toBe(true)

    // What the servers processed: the room's log in JetStream, read by a third party.
    const nc = await connect({ servers: nats.url })
    const { store } = await createJetStream(nc)
    const log = await store.read(`t:${room}`, 0, 10_000)
    const processed = log.entries.flatMap((e) =>
      e.frame.type === 'msg' ? [(e.frame.data as { text: string }).text] : [],
    )
    await nc.close()
    const all = Array.from({ length: n }, (_, i) => `m ${i + 1}`)
    expect(processed).toEqual(all)
    await waitFor(() => delivered.length >= n || unrecovered.length > 0, { what: 'the rest of the messages' })
    await sleep(300)
    expect(new Set(delivered).size).toBe(delivered.length)
    const missing = all.filter((text) => !delivered.includes(text))
    console.info(
      `SIGKILL test: ${n} sent, ${processed.length} processed (log), ${delivered.length} delivered, ${missing.length} missing, resumed=${client.status.type === 'open' && client.status.resumed}, unrecovered signals=${unrecovered.length}`,
    )
    expect(unrecovered).toEqual([])
    expect(delivered).toEqual(all)
    client.close()
    b.kill('SIGTERM')
  })
})
