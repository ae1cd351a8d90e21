/** The binding's wire format, observed on a real nats-server by a NATS connection that sees everything. */
import { type NatsServer, startNatsServer, waitFor } from '@lifeline/testkit'
import { connect } from '@nats-io/transport-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CODE_HEADER, CONTROL_HEADER, REASON_HEADER, SEQ_HEADER } from '../src/binding.js'
import { natsTransport } from '../src/node.js'
import { natsServerTransport } from '../src/server.js'
import { node, onCleanup, open, uniquePrefix } from './helpers.js'

let nats: NatsServer
beforeAll(async () => {
  nats = await startNatsServer({ jetstream: false, maxPayload: 64 * 1024 })
})
afterAll(() => nats.stop())

interface Seen {
  readonly subject: string
  readonly reply: string | undefined
  readonly control: string
  readonly seq: string
  readonly code: string
  readonly reason: string
  readonly text: string
}

async function watch(prefix: string): Promise<Seen[]> {
  const seen: Seen[] = []
  const spy = await connect({ servers: nats.url })
  onCleanup(() => spy.close())
  spy.subscribe(`${prefix}.>`, {
    callback: (_error, msg) => {
      seen.push({
        subject: msg.subject,
        reply: msg.reply,
        control: msg.headers?.get(CONTROL_HEADER) ?? '',
        seq: msg.headers?.get(SEQ_HEADER) ?? '',
        code: msg.headers?.get(CODE_HEADER) ?? '',
        reason: msg.headers?.get(REASON_HEADER) ?? '',
        text: msg.string(),
      })
    },
  })
  await spy.flush()
  return seen
}

describe('the NATS binding on the wire', () => {
  it('LL-NATS-1, LL-NATS-2, LL-NATS-5, LL-NATS-6: a random C per connection (a new one after a drop), open first, hello first, numbered frames', async () => {
    const prefix = uniquePrefix()
    const seen = await watch(prefix)
    const { server } = await node({ servers: nats.url }, prefix, { maxFrameBytes: 32 * 1024 })
    const alice = await open(natsTransport({ servers: nats.url }, { prefix }))
    await alice.client.send('one')
    await server.publish('room', 'x').catch(() => {})
    const opened = seen.filter((m) => m.control === 'open')
    expect(opened).toHaveLength(2)
    const id = opened[0]?.subject.split('.').pop() as string
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(opened[0]).toMatchObject({ subject: `${prefix}.o.${id}`, reply: `${prefix}.s.${id}`, text: '' })
    expect(opened[1]).toMatchObject({ subject: `${prefix}.s.${id}`, text: '' })
    const fromClient = seen.filter((m) => m.subject === `${prefix}.c.${id}`)
    expect(JSON.parse(fromClient[0]?.text ?? '{}')).toMatchObject({ type: 'hello' })
    expect(fromClient.map((m) => m.seq)).toEqual(fromClient.map((_, i) => String(i + 1)))
    const fromServer = seen.filter((m) => m.subject === `${prefix}.s.${id}` && m.control === '')
    expect(fromServer.map((m) => m.seq)).toEqual(fromServer.map((_, i) => String(i + 1)))
    expect(seen.indexOf(opened[1] as Seen)).toBeLessThan(seen.indexOf(fromClient[0] as Seen))
    // LL-NATS-2: a new connection, after a drop, gets a new C.
    server.drop(alice.client.sid as string)
    await waitFor(() => seen.filter((m) => m.control === 'open').length === 4, { what: 'the second open' })
    const second = seen
      .filter((m) => m.control === 'open')[2]
      ?.subject.split('.')
      .pop()
    expect(second).not.toBe(id)
  })

  it('LL-NATS-2: frames ready at once travel as one NATS message holding a batch, handled in array order', async () => {
    const prefix = uniquePrefix()
    const seen = await watch(prefix)
    const { server, processed } = await node({ servers: nats.url }, prefix, { maxFrameBytes: 32 * 1024 })
    // Dials again only after the publishes below, so they come in the resume's replay.
    const alice = await open(natsTransport({ servers: nats.url }, { prefix }), { retryDelay: () => 500 })
    const id = seen
      .find((m) => m.control === 'open')
      ?.subject.split('.')
      .pop() as string
    // Written in one tick: the client batches them (LL-WS-2 applies to NATS messages too).
    const sends = [
      alice.client.join('room'),
      alice.client.send(1),
      alice.client.send(2),
      alice.client.send(3),
    ]
    await Promise.all(sends)
    expect(processed).toEqual([1, 2, 3])
    const batches = seen
      .filter((m) => m.subject === `${prefix}.c.${id}` && m.text.startsWith('['))
      .map((m) => (JSON.parse(m.text) as { type: string; data?: unknown }[]).map((f) => f.data ?? f.type))
    expect(batches).toContainEqual([1, 2, 3])
    // And the server's batches reach the client whole and in order: a replay after a drop.
    await server.publish('room', 'a')
    await server.publish('room', 'b')
    server.drop(alice.client.sid as string)
    await server.publish('room', 'c')
    await server.publish('room', 'd')
    await waitFor(() => alice.received.length === 4, { what: 'four room messages' })
    expect(alice.received).toEqual(['a', 'b', 'c', 'd'])
    const fromServer = seen
      .filter((m) => m.subject.startsWith(`${prefix}.s.`) && m.text.startsWith('['))
      .map((m) => (JSON.parse(m.text) as { type: string; data?: unknown }[]).map((f) => f.data ?? f.type))
    const resumed = fromServer.find((batch) => batch[0] === 'welcome') ?? []
    expect(resumed.filter((data) => data === 'c' || data === 'd')).toEqual(['c', 'd']) // the replay, after welcome
  })

  it('LL-NATS-7: a close names its code and reason; the client reports it', async () => {
    const prefix = uniquePrefix()
    const seen = await watch(prefix)
    const { server } = await node({ servers: nats.url }, prefix, { maxFrameBytes: 32 * 1024 })
    const alice = await open(natsTransport({ servers: nats.url }, { prefix }), { retryDelay: () => 60_000 })
    await server.kick(alice.client.sid as string, 'enough')
    await waitFor(() => alice.client.status.type === 'closed', { what: 'the kick' })
    const close = seen.find((m) => m.control === 'close')
    expect(close).toMatchObject({ code: '4005', text: '' })
    expect(close?.subject).toMatch(new RegExp(`^${prefix.replace('.', '\\.')}\\.s\\.`))
  })

  it('LL-NATS-4: the server transport refuses a maxPayload above max_payload, and defaults below it', async () => {
    const prefix = uniquePrefix()
    const tooBig = natsServerTransport({ connection: { servers: nats.url }, prefix, maxPayload: 64 * 1024 })
    await expect(tooBig.listen(() => ({ message() {}, close() {}, protocolError() {} }))).rejects.toThrow(
      /LL-NATS-4/,
    )
    await tooBig.close()
    const fits = natsServerTransport({ connection: { servers: nats.url }, prefix })
    await fits.listen(() => ({ message() {}, close() {}, protocolError() {} }))
    onCleanup(() => fits.close())
    expect(fits.maxPayload).toBeLessThanOrEqual(64 * 1024 - 256)
    // A Lifeline server whose maxFrameBytes (1 MiB by default) the NATS server cannot carry does not start.
    const { createServer } = await import('@lifeline/core/server')
    const lifeline = createServer({ heartbeatMs: 1000 })
    onCleanup(() => lifeline.shutdown())
    await expect(
      lifeline.attach(natsServerTransport({ connection: { servers: nats.url }, prefix })),
    ).rejects.toThrow(/max_payload/)
  })
})
