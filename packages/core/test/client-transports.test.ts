/**
 * Several transports for one client (LL-RESUME-10): a policy picks one per attempt, and the session,
 * its memento and its streams carry over, on simulated time.
 */
import { describe, expect, it } from 'vitest'
import type { ClientTransport, TransportChoice } from '../src/index.js'
import { fallbackPolicy } from '../src/index.js'
import type { FakeClientTransport } from '../src/testing.js'
import { world } from './helpers.js'

/** A transport under another name, that can be switched to refuse every dial (a proxy blocking it). */
function named(
  name: string,
  inner: FakeClientTransport,
): ClientTransport & { refuse: boolean; dials: number } {
  const transport = {
    encoding: inner.encoding,
    name,
    refuse: false,
    dials: 0,
    connect: (handlers: Parameters<ClientTransport['connect']>[0]) => {
      transport.dials++
      if (!transport.refuse) return inner.connect(handlers)
      queueMicrotask(() => handlers.close({ code: 1006, reason: 'upgrade refused', clean: false }))
      return { send: () => {}, close: () => {} }
    },
  }
  return transport
}

const choice = (failures: number, lastOpen: number | undefined, n = 2): TransportChoice => ({
  transports: Array.from({ length: n }, () => ({}) as ClientTransport),
  failures,
  failuresOf: Array.from({ length: n }, () => 0),
  lastOpen,
  previous: undefined,
})

describe('several transports, one session', () => {
  it('fallbackPolicy: the one that last worked, the next after two failures in a row, wrapping around', () => {
    const policy = fallbackPolicy()
    expect([0, 1, 2, 3, 4, 5].map((failures) => policy(choice(failures, undefined)))).toEqual([
      0, 0, 1, 1, 0, 0,
    ])
    expect([0, 1, 2].map((failures) => policy(choice(failures, 1)))).toEqual([1, 1, 0])
    expect(fallbackPolicy({ failuresBeforeFallback: 1 })(choice(1, 0, 3))).toBe(1)
  })

  it('LL-RESUME-10: falls back after refused dials and resumes the same session; the status names the transport', async () => {
    const w = await world({ graceMs: 60_000 })
    const ws = named('ws', w.network.client('c1'))
    const polling = named('socket.io', w.network.client('c1'))
    const client = w.client('c1', { transport: [ws, polling], retryDelay: () => 100 })
    const received: unknown[] = []
    client.on('message', (message) => void received.push(message.data))
    client.connect()
    await w.advance(0)
    expect(client.status).toMatchObject({ type: 'open', transport: 'ws', resumed: false })
    const sid = client.sid
    await client.join('room')

    ws.refuse = true
    w.network.client('c1').reset()
    await w.server.publish('room', 'while away')
    for (let i = 0; i < 5 && client.status.type !== 'open'; i++) await w.advance(100)
    await w.advance(0)
    expect(client.status).toMatchObject({
      type: 'open',
      transport: 'socket.io',
      sid,
      resumed: true,
      recovered: true,
    })
    expect(ws.dials).toBe(3) // the first, then two refused
    expect(received).toEqual(['while away'])
  })

  it('a policy that answers out of range is reported, and the first transport is used', async () => {
    const w = await world()
    const errors: Error[] = []
    const client = w.client('c1', {
      transport: [named('a', w.network.client('c1')), named('b', w.network.client('c1'))],
      transportPolicy: () => 7,
    })
    client.on('error', (error) => void errors.push(error))
    client.connect()
    await w.advance(0)
    expect(client.status).toMatchObject({ type: 'open', transport: 'a' })
    expect(errors[0]?.message).toMatch(/picked 7/)
  })
})
