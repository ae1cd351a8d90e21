/**
 * The whole stack over real Socket.IO, on both of its transports: LifelineServer and LifelineClient,
 * the Socket.IO transports, and a fault-injecting TCP proxy between them. Every wait is a poll with a
 * deadline; fixed sleeps only assert that nothing happens.
 */
import { ServerClosedError } from '@lifeline/core'
import { sleep, waitFor } from '@lifeline/testkit'
import { describe, expect, it } from 'vitest'
import { dataOf, MODES, open, resumedAgain, sidOf, stack } from './helpers.js'

describe.each(MODES)('socket.io integration over %s', (mode) => {
  it('LL-SIO-3: resumes with replay after a reset: everything exactly once, in order, sends included', async () => {
    const processed: unknown[] = []
    const { server, proxy, url, away } = await stack({ onMessage: (m) => void processed.push(m.data) })
    const alice = await open(url, mode)
    await alice.client.join('room')
    await alice.client.send('before')
    await server.publish('room', 1)
    await waitFor(() => dataOf(alice, 'room').length === 1, { what: 'the first message' })
    const sid = sidOf(alice.client)

    proxy.refuse(true)
    proxy.reset()
    await waitFor(() => away.some((event) => event.sid === sid) && alice.client.status.type !== 'open', {
      what: 'both sides to see the drop',
    })
    await server.publish('room', 2)
    await server.send(sid, 'direct while away')
    const sending = alice.client.send('while away')
    proxy.refuse(false)

    await waitFor(() => resumedAgain(alice.client), { what: 'the resume' })
    expect(alice.client.status).toMatchObject({ type: 'open', sid, resumed: true, recovered: true })
    await sending
    proxy.sliceNext() // the next write is split mid-packet: framing must survive it
    await server.publish('room', 3)
    await waitFor(() => dataOf(alice, 'room').length === 3, { what: 'the replay and a live message' })
    expect(dataOf(alice, 'room')).toEqual([1, 2, 3])
    expect(dataOf(alice, undefined)).toEqual(['direct while away'])
    expect(processed).toEqual(['before', 'while away'])
  })

  it('LL-SIO-3: a black-holed link is detected by heartbeat on both sides, then the client resumes', async () => {
    const { server, proxy, url, away } = await stack({ graceMs: 5000 })
    const alice = await open(url, mode, { connectTimeoutMs: 500 })
    await alice.client.join('room')
    const sid = sidOf(alice.client)
    proxy.blackhole()
    await waitFor(() => away.some((event) => event.sid === sid) && alice.client.status.type !== 'open', {
      what: 'both sides to declare the link dead',
      timeoutMs: 2000,
    })
    expect(away.find((event) => event.sid === sid)?.code).toBe(4201) // HEARTBEAT_TIMEOUT
    await server.publish('room', 'while away')
    proxy.pass()
    await waitFor(() => resumedAgain(alice.client), { what: 'the resume', timeoutMs: 4000 })
    expect(alice.client.status).toMatchObject({ type: 'open', sid, resumed: true, recovered: true })
    await waitFor(() => dataOf(alice, 'room').length === 1, { what: 'the replayed message' })
    expect(dataOf(alice, 'room')).toEqual(['while away'])
  })

  it('LL-SIO-3: a kick closes the client for good, with the code of the bye: no reconnect', async () => {
    const { server, io, url } = await stack()
    let connections = 0
    io.of('/lifeline').on('connection', () => connections++)
    const alice = await open(url, mode)
    expect(connections).toBe(1)
    expect(await server.kick(sidOf(alice.client), 'banned')).toBe(true)
    await waitFor(() => alice.client.status.type === 'closed', { what: 'the client to close' })
    const status = alice.client.status
    const error = status.type === 'closed' ? status.error : undefined
    expect(error).toBeInstanceOf(ServerClosedError)
    expect(error).toMatchObject({ code: 4005, reason: 'banned' })
    await sleep(300) // nothing may happen: no new connection (long-polling dials TCP per request)
    expect(connections).toBe(1)
  })

  it('LL-SIO-9: a client that closes ends its session at once: its bye is never lost to the disconnect', async () => {
    const { server, directUrl } = await stack({ graceMs: 60_000 })
    const ended: string[] = []
    server.on('end', (event) => void ended.push(event.reason))
    for (let i = 0; i < 10; i++) {
      const alice = await open(directUrl, mode)
      alice.client.close()
    }
    // Any wait well below the 60 s grace tells a bye from an expiry; long-polling on a loaded machine
    // (CI saw load 25) needs more than the default 5 s for the last round trips.
    await waitFor(() => server.stats.sessions === 0, { what: 'every session to end', timeoutMs: 15_000 })
    expect(ended).toEqual(Array(10).fill('bye'))
  }, 60_000)
})
