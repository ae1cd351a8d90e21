/**
 * LL-NATS-3, LL-NATS-9 against a real nats-server configured as docs/nats.md says: each user has
 * its own prefix `lifeline.u.<user>` and may publish only its opens and frames and subscribe only to
 * its own server subjects. One user can neither read nor write another's connections.
 */
import { createClient, inertEnvironment, ServerClosedError } from '@lifeline/core'
import { type NatsServer, sleep, startNatsServer, waitFor } from '@lifeline/testkit'
import { type Msg, PermissionViolationError } from '@nats-io/nats-core'
import { connect } from '@nats-io/transport-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { natsTransport } from '../src/node.js'
import { node, onCleanup, open } from './helpers.js'

/** The permissions block of docs/nats.md, for users alice and bob and one server user. */
function authorization(users: readonly string[]): string {
  const clients = users.map(
    (user) => `    { user: ${user}, password: ${user}-pw, permissions: {
        publish: { allow: ["lifeline.u.${user}.o.*", "lifeline.u.${user}.c.*"] }
        subscribe: { allow: ["lifeline.u.${user}.s.*"] }
      } }`,
  )
  return `authorization {
  users = [
    { user: lifeline-server, password: server-pw, permissions: {
        publish: { allow: ["lifeline.u.*.s.*"] }
        subscribe: { allow: ["lifeline.u.*.o.*", "lifeline.u.*.c.*"] }
      } }
${clients.join('\n')}
  ]
}`
}

let nats: NatsServer
beforeAll(async () => {
  nats = await startNatsServer({ jetstream: false, config: authorization(['alice', 'bob']) })
})
afterAll(() => nats.stop())

const as = (user: string) => ({ servers: nats.url, connection: { user, pass: `${user}-pw` } })

/** A Lifeline server that admits a user only on that user's own prefix. */
async function deployment() {
  return node({ servers: nats.url, user: 'lifeline-server', pass: 'server-pw' }, 'lifeline.u.*', {
    authenticate: (auth, context) => {
      if (typeof auth !== 'string' || context.connection.channel !== `lifeline.u.${auth}`)
        throw new Error('NATS user and Lifeline user differ')
      return { subject: auth }
    },
  })
}

describe('LL-NATS-3, LL-NATS-9: NATS permissions keep users apart', () => {
  it('each user runs a session on its own prefix; the server sees which', async () => {
    const { server, processed } = await deployment()
    const alice = await open(natsTransport(as('alice'), { prefix: 'lifeline.u.alice' }), {
      auth: () => 'alice',
    })
    const bob = await open(natsTransport(as('bob'), { prefix: 'lifeline.u.bob' }), { auth: () => 'bob' })
    await alice.client.send('from alice')
    await bob.client.send('from bob')
    expect(processed.sort()).toEqual(['from alice', 'from bob'])
    expect(server.stats.sessions).toBe(2)
  })

  it("a user cannot subscribe to another's connections, even by wildcard, and receives none of them", async () => {
    const { server } = await deployment()
    const bob = await open(natsTransport(as('bob'), { prefix: 'lifeline.u.bob' }), { auth: () => 'bob' })
    await bob.client.join('room')
    const snoop = await connect({ servers: nats.url, user: 'alice', pass: 'alice-pw' })
    onCleanup(() => snoop.close())
    const stolen: Msg[] = []
    const attempts = ['lifeline.u.bob.s.*', 'lifeline.u.*.s.*', 'lifeline.>', '>', 'lifeline.u.bob.c.*']
    const subs = attempts.map((subject) =>
      snoop.subscribe(subject, {
        callback: (error, msg) => {
          if (error === null) stolen.push(msg)
        },
      }),
    )
    const outcomes = await Promise.all(subs.map((sub) => sub.closed))
    for (const outcome of outcomes) expect(outcome).toBeInstanceOf(PermissionViolationError)
    await server.publish('room', 'secret')
    await bob.client.send('also secret')
    await waitFor(() => bob.received.includes('secret'), { what: 'bob to get his message' })
    await sleep(100)
    expect(stolen).toEqual([])
  })

  it("a user cannot write into another's connection; that session is untouched", async () => {
    const { processed } = await deployment()
    const bob = await open(natsTransport(as('bob'), { prefix: 'lifeline.u.bob' }), { auth: () => 'bob' })
    await bob.client.send(1)
    const rogue = await connect({ servers: nats.url, user: 'alice', pass: 'alice-pw' })
    onCleanup(() => rogue.close())
    const errors: Error[] = []
    void (async () => {
      for await (const status of rogue.status()) if (status.type === 'error') errors.push(status.error)
    })()
    // alice does not know bob's connection id, but even a wildcard-free guess is refused outright.
    rogue.publish(
      'lifeline.u.bob.c.AAAAAAAAAAAAAAAAAAAAAA',
      JSON.stringify({ type: 'send', seq: 2, id: 'x', data: 'forged' }),
    )
    rogue.publish('lifeline.u.bob.o.AAAAAAAAAAAAAAAAAAAAAA', '')
    await waitFor(() => errors.length >= 2, { what: 'the permission errors' })
    expect(errors.every((error) => error instanceof PermissionViolationError)).toBe(true)
    await bob.client.send(3)
    expect(processed).toEqual([1, 3])
  })

  it("a client using another user's prefix is refused by NATS: FORBIDDEN, no retry loop, no session", async () => {
    const { server } = await deployment()
    const client = createClient({
      transport: natsTransport(as('alice'), { prefix: 'lifeline.u.bob' }),
      environment: inertEnvironment,
      retryDelay: () => 20,
      auth: () => 'alice',
    })
    onCleanup(() => client.close())
    client.connect()
    await waitFor(() => client.status.type === 'closed', { what: 'the refusal' })
    expect(client.status).toMatchObject({ type: 'closed' })
    const error = (client.status as { error?: unknown }).error
    expect(error).toBeInstanceOf(ServerClosedError)
    expect((error as ServerClosedError).code).toBe(4004)
    expect(server.stats.sessions).toBe(0)
  })

  it('the Lifeline server refuses a NATS user that claims another Lifeline identity', async () => {
    const { server } = await deployment()
    const client = createClient({
      transport: natsTransport(as('alice'), { prefix: 'lifeline.u.alice' }),
      environment: inertEnvironment,
      retryDelay: () => 20,
      auth: () => 'bob',
    })
    onCleanup(() => client.close())
    client.connect()
    await waitFor(() => client.status.type === 'closed', { what: 'the refusal' })
    expect(server.stats.sessions).toBe(0)
  })
})
