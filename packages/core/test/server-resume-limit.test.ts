import { CloseCode } from '@lifeline/protocol'
import { describe, expect, it } from 'vitest'
import { hello, type RawClient, rawClient, settle, world } from './helpers.js'

const authenticate = (value: unknown) => {
  const token = (value as { token?: string } | undefined)?.token
  if (token === undefined) throw new Error('no token')
  return { subject: token }
}
const auth = (token: string) => ({ auth: { token } })
const GARBAGE = 'm1.k1.AAAA.BBBB'

type World = Awaited<ReturnType<typeof world>>

function sameAddress(w: World, name: string): RawClient {
  return rawClient(w.network, `shared-address#${name}`)
}

async function hold(c: RawClient, frame: unknown): Promise<void> {
  await settle()
  c.send(frame)
  await settle()
}

async function validSession(w: World, name: string, subject: string) {
  const c = sameAddress(w, name)
  await hold(c, hello(auth(subject)))
  const welcome = c.last('welcome') as { sid: string; memento: string }
  w.network.client(`shared-address#${name}`).reset()
  await settle()
  return welcome
}

async function resume(w: World, name: string, subject: string, memento: string) {
  const c = sameAddress(w, name)
  await hold(c, hello({ ...auth(subject), resume: { memento, seq: 0 } }))
  return c
}

async function setup(options: Parameters<typeof world>[0] = {}) {
  const w = await world({
    authenticate,
    graceMs: 600_000,
    maxFailedResumesPerMinute: 5,
    ...options,
  })
  // One address for everyone: what the socket sees behind a NAT or a reverse proxy.
  const accept = w.network.accept.bind(w.network)
  w.network.accept = (link) => {
    const original = w.network.server
    if (original === undefined) return accept(link)
    w.network.server = (connection) =>
      original({ ...connection, info: { ...connection.info, remoteAddress: '203.0.113.7' } })
    try {
      return accept(link)
    } finally {
      w.network.server = original
    }
  }
  return w
}

describe('LL-RESUME-9: the failed-resume limit never refuses a valid memento', () => {
  it('LL-RESUME-9: garbage resumes from an address do not stop a neighbour at that address from resuming', async () => {
    const w = await setup()
    const alice = await validSession(w, 'alice', 'alice')
    for (let i = 0; i < 50; i++) await resume(w, `attacker-${i}`, 'alice', GARBAGE)
    const c = await resume(w, 'alice-again', 'alice', alice.memento)
    expect(c.last('bye')).toBeUndefined()
    expect(c.last('welcome')).toMatchObject({ sid: alice.sid, resumed: true, recovered: true })
  })

  it('LL-RESUME-9: in a storm of resumes from one address, where some mementos are bad, all 300 valid ones resume', async () => {
    const w = await setup()
    const sessions = []
    for (let i = 0; i < 300; i++) sessions.push(await validSession(w, `c${i}`, `user-${i}`))
    const refused: number[] = []
    w.server.on('refused', (event) => refused.push(event.code))
    let resumed = 0
    for (const [i, session] of sessions.entries()) {
      // Every third client of the storm also holds a memento the server cannot verify.
      if (i % 3 === 0) await resume(w, `stale-${i}`, `user-${i}`, GARBAGE)
      const c = await resume(w, `again-${i}`, `user-${i}`, session.memento)
      if (c.last('welcome')?.resumed === true) resumed++
    }
    expect(resumed).toBe(300)
    expect(refused.filter((code) => code !== CloseCode.RATE_LIMITED)).toEqual([])
  })

  it('LL-RESUME-9: the default key is the address and the subject: one subject failing does not block another', async () => {
    const w = await setup()
    for (let i = 0; i < 10; i++) await resume(w, `m${i}`, 'mallory', GARBAGE)
    const blocked = await resume(w, 'm-last', 'mallory', GARBAGE)
    expect(blocked.last('bye')?.code).toBe(CloseCode.RATE_LIMITED)
    // Alice, at the same address, with a memento the server no longer accepts: a fresh session.
    const alice = await resume(w, 'alice', 'alice', GARBAGE)
    expect(alice.last('welcome')).toMatchObject({ resumed: false, reason: 'invalid' })
  })

  it('LL-RESUME-9: the key is configurable: a trusted proxy header names the client', async () => {
    const w = await setup({
      resumeLimitKey: ({ connection }) => connection.headers?.['x-forwarded-for'] ?? connection.remoteAddress,
    })
    const withHeader = (forwarded: string) => {
      const original = w.network.server
      if (original === undefined) throw new Error('no server')
      w.network.server = (connection) =>
        original({ ...connection, info: { ...connection.info, headers: { 'x-forwarded-for': forwarded } } })
      return () => {
        w.network.server = original
      }
    }
    let restore = withHeader('198.51.100.1')
    for (let i = 0; i < 10; i++) await resume(w, `x${i}`, 'anyone', GARBAGE)
    const blocked = await resume(w, 'x-last', 'anyone', GARBAGE)
    restore()
    expect(blocked.last('bye')?.code).toBe(CloseCode.RATE_LIMITED)
    restore = withHeader('198.51.100.2')
    const other = await resume(w, 'y', 'anyone', GARBAGE)
    restore()
    expect(other.last('welcome')).toMatchObject({ resumed: false, reason: 'invalid' })
  })

  it('LL-RESUME-9: returning undefined from the key turns the limit off for that client', async () => {
    const w = await setup({ resumeLimitKey: () => undefined })
    for (let i = 0; i < 20; i++) {
      const c = await resume(w, `z${i}`, 'z', GARBAGE)
      expect(c.last('welcome')).toMatchObject({ reason: 'invalid' })
    }
  })
})
